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
RENEW_INTERVAL_SECONDS = 1.0
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
SCRIPTS = {"accept": ACCEPT_SCRIPT, "renew": RENEW_SCRIPT, "release": RELEASE_SCRIPT}


def stream_key(partition: int) -> str:
    return f"{PREFIX}:events:{partition}"


def lease_key(partition: int) -> str:
    return f"{PREFIX}:lease:{partition}"


def dedup_key(event_id: str) -> str:
    return f"{PREFIX}:seen:{event_id}"


class _Held:
    """A partition this process holds the lease of, and the task consuming it."""

    def __init__(self) -> None:
        self.leave = asyncio.Event()
        self.reading = False  # blocked in XREADGROUP: safe to cancel (nothing in hand)
        self.task: asyncio.Task[None] | None = None


class RedisStreamQueue:
    def __init__(self, *, redis_url: str, partitions: int, dedup_ttl_seconds: int) -> None:
        self.redis: aioredis.Redis = aioredis.from_url(
            redis_url, decode_responses=True, max_connections=partitions + 32
        )
        self.partitions = partitions
        self.dedup_ttl_seconds = dedup_ttl_seconds
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._shas: dict[str, str] = {}
        self._held: dict[int, _Held] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        # Webhook requests arriving together share one Redis round trip.
        self._waiting: list[tuple[list[QueuedEvent], asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def _evalsha_pipeline(self, calls: list[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Run scripts by SHA in one pipeline, loading them first when Redis does not know them yet."""
        for attempt in (1, 2):
            for script in {name for name, _, _ in calls} - set(self._shas):
                self._shas[script] = await self.redis.script_load(SCRIPTS[script])
            pipe = self.redis.pipeline(transaction=False)
            for script, keys, args in calls:
                pipe.evalsha(self._shas[script], len(keys), *keys, *args)
            try:
                return list(await pipe.execute())
            except ResponseError as exc:
                if "NOSCRIPT" not in str(exc) or attempt == 2:
                    raise
                self._shas.clear()  # Redis restarted or flushed its scripts
        raise AssertionError("unreachable")

    # --- producer side (webhook) ------------------------------------------------------------------

    async def accept(self, batch: list[QueuedEvent]) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._waiting:
            waiting, self._waiting = self._waiting, []
            calls = [
                (
                    "accept",
                    [dedup_key(event.event_id), stream_key(partition_of(event.user_key, self.partitions))],
                    [self.dedup_ttl_seconds, json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))],
                )
                for batch, _ in waiting
                for event in batch
            ]
            try:
                results = await self._evalsha_pipeline(calls)
            except Exception as exc:
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                continue
            position = 0
            for batch, future in waiting:
                accepted = sum(int(r) for r in results[position : position + len(batch)])
                position += len(batch)
                if not future.done():
                    future.set_result(accepted)

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
        """Start working; Redis may still be unreachable (the loops retry, /readyz says so meanwhile)."""
        self._loops = [
            asyncio.create_task(self._keep_leases()),
            asyncio.create_task(self._balance(process, give_up)),
        ]

    async def _ensure_group(self, stream: str) -> None:
        """The consumer group exists (again, after Redis lost its data) before the stream is read."""
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)

    async def _heartbeat(self) -> None:
        await self.redis.set(f"{PREFIX}:worker:{self.consumer}", "1", ex=HEARTBEAT_SECONDS)

    async def _live_workers(self) -> int:
        count = 0
        async for _ in self.redis.scan_iter(match=f"{PREFIX}:worker:*", count=200):
            count += 1
        return max(1, count)

    async def _keep_leases(self) -> None:
        """Heartbeat and lease renewal, on their own so that rebalancing can never delay them."""
        while not self._stopping:
            try:
                await self._heartbeat()
                held = list(self._held)
                if held:
                    renewed = await self._evalsha_pipeline(
                        [("renew", [lease_key(p)], [self.consumer, LEASE_MS]) for p in held]
                    )
                    for partition, ok in zip(held, renewed, strict=True):
                        if not ok:
                            self._drop(partition)
            except (RedisError, OSError):
                log.exception("could not renew queue leases; retrying")
            await asyncio.sleep(RENEW_INTERVAL_SECONDS)

    async def _balance(self, process: Process, give_up: GiveUp) -> None:
        """Hold a fair share of the partitions: give back extras, take free ones."""
        while not self._stopping:
            try:
                for partition in [p for p, h in self._held.items() if h.task is not None and h.task.done()]:
                    await self._give_back(partition)  # a consumer that died: let the lease go
                share = math.ceil(self.partitions / await self._live_workers())
                extras = list(self._held)[share:]
                if extras:
                    await asyncio.gather(*(self._give_back(p) for p in extras))
                if len(self._held) < share:
                    free = [p for p in range(self.partitions) if p not in self._held]
                    random.shuffle(free)
                    for partition in free:
                        if len(self._held) >= share:
                            break
                        if await self.redis.set(lease_key(partition), self.consumer, nx=True, px=LEASE_MS):
                            held = _Held()
                            self._held[partition] = held
                            held.task = asyncio.create_task(self._consume(partition, held, process, give_up))
            except (RedisError, OSError):
                log.exception("queue balancing could not reach Redis; retrying")
            await asyncio.sleep(MANAGE_INTERVAL_SECONDS)

    def _drop(self, partition: int) -> None:
        """The lease is lost (this process stalled past it): stop at once, another holder may be working."""
        held = self._held.pop(partition, None)
        if held is not None and held.task is not None and not held.task.done():
            held.task.cancel()

    async def _give_back(self, partition: int) -> None:
        """Finish the event in hand (a blocking read is simply cancelled), then release the lease."""
        held = self._held.pop(partition, None)
        if held is None:
            return
        held.leave.set()
        if held.task is not None:
            if held.reading:
                held.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await held.task
        with contextlib.suppress(RedisError, OSError):
            await self._evalsha_pipeline([("release", [lease_key(partition)], [self.consumer])])

    async def _claim_abandoned(self, stream: str) -> None:
        """Take over what a previous holder of this partition delivered but never acknowledged."""
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                stream, GROUP, self.consumer, min_idle_time=0, start_id=start, count=100
            )
            start = reply[0]
            if start in ("0-0", b"0-0"):
                return

    async def _consume(self, partition: int, held: _Held, process: Process, give_up: GiveUp) -> None:
        try:
            await self._consume_stream(stream_key(partition), held, process, give_up)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The balance loop gives the partition back and takes it up again; say why it stopped.
            log.exception("queue consumer stopped", extra={"partition": partition})
            raise

    async def _consume_stream(self, stream: str, held: _Held, process: Process, give_up: GiveUp) -> None:
        await self._ensure_group(stream)
        await self._claim_abandoned(stream)
        backlog = True  # first our pending entries (in stream order), then new ones
        while not held.leave.is_set():
            held.reading = not backlog
            try:
                reply: Any = await self.redis.xreadgroup(
                    GROUP,
                    self.consumer,
                    {stream: "0" if backlog else ">"},
                    count=READ_COUNT,
                    block=None if backlog else READ_BLOCK_MS,
                )
            finally:
                held.reading = False
            entries: list[tuple[str, dict[str, Any]]] = reply[0][1] if reply else []
            if backlog and not entries:
                backlog = False
                continue
            for entry_id, fields in entries:
                if held.leave.is_set():
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
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(self._give_back(p) for p in list(self._held)), return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(f"{PREFIX}:worker:{self.consumer}")
        await self.redis.aclose()
