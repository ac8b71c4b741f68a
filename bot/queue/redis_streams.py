"""Redis queue: partitioned Streams with a consumer group, and one lease-holding consumer per partition.

Why not arq or a plain consumer group: both deliver a user's second message to a second worker while the
first is still being handled. Partitioning by user and letting exactly one consumer (across processes)
hold a partition's lease keeps each user's events in order; the consumer group's pending list keeps an
event that a dead worker was holding, and the next lease holder claims and finishes it (at least once;
the processed-event ledger makes the effects happen once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import socket
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.queue.base import GiveUp, Process, QueuedEvent, partition_of, process_with_retries

log = logging.getLogger(__name__)

PREFIX = "helpdesk"
GROUP = "workers"
LEASE_MS = 10_000
MANAGE_INTERVAL_SECONDS = 1.0
HEARTBEAT_SECONDS = 5
READ_BLOCK_MS = 1000
READ_COUNT = 20

# Deduplicate and enqueue in one step: an event is either both marked seen and queued, or neither.
ACCEPT_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
  return 1
end
return 0
"""
RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def stream_key(partition: int) -> str:
    return f"{PREFIX}:events:{partition}"


def lease_key(partition: int) -> str:
    return f"{PREFIX}:lease:{partition}"


def dedup_key(event_id: str) -> str:
    return f"{PREFIX}:seen:{event_id}"


class RedisStreamQueue:
    def __init__(self, *, redis_url: str, partitions: int, dedup_ttl_seconds: int) -> None:
        self.redis: aioredis.Redis = aioredis.from_url(
            redis_url, decode_responses=True, max_connections=partitions + 32
        )
        self.partitions = partitions
        self.dedup_ttl_seconds = dedup_ttl_seconds
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._accept = self.redis.register_script(ACCEPT_SCRIPT)
        self._renew = self.redis.register_script(RENEW_SCRIPT)
        self._release = self.redis.register_script(RELEASE_SCRIPT)
        self._held: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._manager: asyncio.Task[None] | None = None
        self._stopping = False

    # --- producer side (webhook) ------------------------------------------------------------------

    async def accept(self, batch: list[QueuedEvent]) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in batch:
                stream = stream_key(partition_of(event.user_key, self.partitions))
                payload = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
                await self._accept(
                    keys=[dedup_key(event.event_id), stream], args=[self.dedup_ttl_seconds, payload], client=pipe
                )
            results = await pipe.execute()
        return sum(int(r) for r in results)

    async def depth(self) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition in range(self.partitions):
                pipe.xlen(stream_key(partition))
            lengths = await pipe.execute()
        return sum(int(n) for n in lengths)

    async def ready(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    # --- consumer side (workers) ------------------------------------------------------------------

    async def start_workers(self, process: Process, give_up: GiveUp) -> None:
        await self._ensure_groups()
        self._manager = asyncio.create_task(self._manage(process, give_up))

    async def _ensure_groups(self) -> None:
        for partition in range(self.partitions):
            with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
                await self.redis.xgroup_create(stream_key(partition), GROUP, id="0", mkstream=True)

    async def _live_workers(self) -> int:
        count = 0
        async for _ in self.redis.scan_iter(match=f"{PREFIX}:worker:*", count=200):
            count += 1
        return max(1, count)

    async def _manage(self, process: Process, give_up: GiveUp) -> None:
        """Heartbeat, renew leases, and hold a fair share of the partitions."""
        while not self._stopping:
            try:
                await self.redis.set(f"{PREFIX}:worker:{self.consumer}", "1", ex=HEARTBEAT_SECONDS)
                for partition in list(self._held):
                    renewed = await self._renew(keys=[lease_key(partition)], args=[self.consumer, LEASE_MS])
                    if not renewed or self._held[partition][0].done():
                        self._drop(partition)
                share = math.ceil(self.partitions / await self._live_workers())
                while len(self._held) > share:
                    await self._give_back(next(iter(self._held)))
                if len(self._held) < share:
                    free = [p for p in range(self.partitions) if p not in self._held]
                    random.shuffle(free)
                    for partition in free:
                        if len(self._held) >= share:
                            break
                        if await self.redis.set(lease_key(partition), self.consumer, nx=True, px=LEASE_MS):
                            leave = asyncio.Event()
                            task = asyncio.create_task(self._consume(partition, leave, process, give_up))
                            self._held[partition] = (task, leave)
            except (RedisError, OSError):
                log.exception("queue manager could not reach Redis; retrying")
            await asyncio.sleep(MANAGE_INTERVAL_SECONDS)

    def _drop(self, partition: int) -> None:
        """The lease is lost (we stalled past it): stop at once, another holder may be working."""
        held = self._held.pop(partition, None)
        if held is not None and not held[0].done():
            held[0].cancel()

    async def _give_back(self, partition: int) -> None:
        """Finish the event in hand, then release the partition for another worker."""
        task, leave = self._held.pop(partition)
        leave.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await self._release(keys=[lease_key(partition)], args=[self.consumer])

    async def _claim_abandoned(self, stream: str) -> None:
        """Take over what a previous holder of this partition delivered but never acknowledged."""
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                stream, GROUP, self.consumer, min_idle_time=0, start_id=start, count=100, justid=True
            )
            start = reply[0]
            if start in ("0-0", b"0-0"):
                return

    async def _consume(self, partition: int, leave: asyncio.Event, process: Process, give_up: GiveUp) -> None:
        stream = stream_key(partition)
        await self._claim_abandoned(stream)
        backlog = True  # first our pending entries (in stream order), then new ones
        while not leave.is_set():
            reply: Any = await self.redis.xreadgroup(
                GROUP,
                self.consumer,
                {stream: "0" if backlog else ">"},
                count=READ_COUNT,
                block=None if backlog else READ_BLOCK_MS,
            )
            entries: list[tuple[str, dict[str, Any]]] = reply[0][1] if reply else []
            if backlog and not entries:
                backlog = False
                continue
            for entry_id, fields in entries:
                if leave.is_set():
                    return  # unhandled entries stay pending for the next holder, in order
                await self._handle(stream, entry_id, fields, process, give_up)

    async def _handle(
        self, stream: str, entry_id: str, fields: dict[str, Any], process: Process, give_up: GiveUp
    ) -> None:
        raw = fields.get("e") if fields else None
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                log.error("unreadable queue entry dropped", extra={"entry": entry_id})
            else:
                await process_with_retries(payload, process, give_up)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(stream, GROUP, entry_id)
            pipe.xdel(stream, entry_id)
            await pipe.execute()

    async def stop(self) -> None:
        self._stopping = True
        if self._manager is not None:
            self._manager.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._manager
        for partition in list(self._held):
            with contextlib.suppress(RedisError, OSError):
                await self._give_back(partition)
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(f"{PREFIX}:worker:{self.consumer}")
        await self.redis.aclose()
