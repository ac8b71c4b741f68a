"""What both queues share: the interface, the per-user partition, and retries around processing."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Process = Callable[[dict[str, Any]], Awaitable[None]]
GiveUp = Callable[[dict[str, Any], str], Awaitable[None]]

PROCESS_ATTEMPTS = 3
RETRY_DELAYS_SECONDS = (0.5, 2.0)


@dataclass(frozen=True)
class QueuedEvent:
    event_id: str
    user_key: str
    payload: dict[str, Any]


class EventQueue(Protocol):
    async def accept(self, events: list[QueuedEvent]) -> int:
        """Store the new events durably (dropping ones seen before); returns how many were new."""

    async def start_workers(self, process: Process, give_up: GiveUp) -> None: ...

    async def stop(self) -> None: ...

    async def depth(self) -> int: ...

    async def ready(self) -> bool: ...


def partition_of(user_key: str, partitions: int) -> int:
    """A stable partition for a user: all their events go through one sequential lane."""
    return zlib.crc32(user_key.encode("utf-8")) % partitions


async def process_with_retries(payload: dict[str, Any], process: Process, give_up: GiveUp) -> None:
    """Run the event; on repeated failure apologise to the user instead of retrying forever."""
    for attempt in range(PROCESS_ATTEMPTS):
        try:
            await process(payload)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("event processing failed", extra={"attempt": attempt + 1, "error": type(exc).__name__})
            if attempt < len(RETRY_DELAYS_SECONDS):
                await asyncio.sleep(RETRY_DELAYS_SECONDS[attempt])
            last_error = f"{type(exc).__name__}: {exc}"
    await give_up(payload, last_error)
