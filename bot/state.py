"""Where a user's conversation stands (handlers.base.DialogueState): Redis with a TTL in production, so it
survives a web-process restart; in-process in embedded mode. A conversation left alone longer than the TTL
starts over."""

from __future__ import annotations

import json
import time
from typing import Protocol

import redis.asyncio as aioredis

from handlers.base import DialogueState

FLOW_TTL_SECONDS = 30 * 60
MEMORY_LIMIT = 100_000


class StateStore(Protocol):
    async def load(self, line_user_id: str) -> DialogueState: ...

    async def save(self, line_user_id: str, state: DialogueState) -> None: ...

    async def close(self) -> None: ...


class MemoryStateStore:
    """Embedded mode: a dictionary with expiry times (lost on restart, as embedded mode accepts)."""

    def __init__(self, ttl_seconds: int = FLOW_TTL_SECONDS) -> None:
        self.ttl = ttl_seconds
        self._states: dict[str, tuple[float, DialogueState]] = {}

    async def load(self, line_user_id: str) -> DialogueState:
        held = self._states.get(line_user_id)
        if held is None or held[0] < time.monotonic():
            self._states.pop(line_user_id, None)
            return DialogueState()
        return held[1]

    async def save(self, line_user_id: str, state: DialogueState) -> None:
        if state == DialogueState():
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

    async def load(self, line_user_id: str) -> DialogueState:
        raw = await self.redis.get(self.key(line_user_id))
        return DialogueState.from_json(json.loads(raw)) if raw else DialogueState()

    async def save(self, line_user_id: str, state: DialogueState) -> None:
        if state == DialogueState():
            await self.redis.delete(self.key(line_user_id))
            return
        value = json.dumps(state.to_json(), ensure_ascii=False)
        await self.redis.set(self.key(line_user_id), value, ex=self.ttl)

    async def close(self) -> None:
        await self.redis.aclose()
