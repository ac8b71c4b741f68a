"""Where a user is in a multi-turn flow (the screener's slots): Redis with a TTL in production, so it
survives a web-process restart; in-process in embedded mode. A flow left alone longer than the TTL
starts over."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis

FLOW_TTL_SECONDS = 30 * 60
MEMORY_LIMIT = 100_000


@dataclass(frozen=True)
class FlowState:
    flow: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)


class StateStore(Protocol):
    async def load(self, line_user_id: str) -> FlowState: ...

    async def save(self, line_user_id: str, state: FlowState) -> None: ...

    async def close(self) -> None: ...


class MemoryStateStore:
    """Embedded mode: a dictionary with expiry times (lost on restart, as embedded mode accepts)."""

    def __init__(self, ttl_seconds: int = FLOW_TTL_SECONDS) -> None:
        self.ttl = ttl_seconds
        self._states: dict[str, tuple[float, FlowState]] = {}

    async def load(self, line_user_id: str) -> FlowState:
        held = self._states.get(line_user_id)
        if held is None or held[0] < time.monotonic():
            self._states.pop(line_user_id, None)
            return FlowState()
        return held[1]

    async def save(self, line_user_id: str, state: FlowState) -> None:
        if state.flow is None:
            self._states.pop(line_user_id, None)
            return
        if len(self._states) >= MEMORY_LIMIT:
            now = time.monotonic()
            self._states = {k: v for k, v in self._states.items() if v[0] >= now}
        self._states[line_user_id] = (time.monotonic() + self.ttl, state)

    async def close(self) -> None:
        self._states.clear()


class RedisStateStore:
    """Production: one JSON value per user under `helpdesk:state:<user>`, expiring after the TTL."""

    def __init__(self, redis_url: str, ttl_seconds: int = FLOW_TTL_SECONDS) -> None:
        self.redis: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
        self.ttl = ttl_seconds

    @staticmethod
    def key(line_user_id: str) -> str:
        return f"helpdesk:state:{line_user_id}"

    async def load(self, line_user_id: str) -> FlowState:
        raw = await self.redis.get(self.key(line_user_id))
        if not raw:
            return FlowState()
        data = json.loads(raw)
        return FlowState(data.get("flow"), dict(data.get("slots") or {}))

    async def save(self, line_user_id: str, state: FlowState) -> None:
        if state.flow is None:
            await self.redis.delete(self.key(line_user_id))
            return
        value = json.dumps({"flow": state.flow, "slots": state.slots}, ensure_ascii=False)
        await self.redis.set(self.key(line_user_id), value, ex=self.ttl)

    async def close(self) -> None:
        await self.redis.aclose()
