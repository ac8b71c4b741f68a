"""Embedded queue: the webhook writes each event to the inbox table; in-process lanes work it off.

The inbox makes it durable (a restart replays unfinished events) and its unique key drops redeliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.queue.base import GiveUp, Process, QueuedEvent, partition_of, process_with_retries
from storage import events
from storage.db import Database

log = logging.getLogger(__name__)


class EmbeddedQueue:
    def __init__(self, *, db: Database, lanes: int) -> None:
        self.db = db
        self.lanes: list[asyncio.Queue[tuple[str, dict[str, Any]]]] = [asyncio.Queue() for _ in range(lanes)]
        self.tasks: list[asyncio.Task[None]] = []
        self.working = False

    async def accept(self, batch: list[QueuedEvent]) -> int:
        new = await asyncio.to_thread(self._store, batch)
        if self.working:
            for event in new:
                self._lane_for(event.user_key).put_nowait((event.event_id, event.payload))
        return len(new)

    def _store(self, batch: list[QueuedEvent]) -> list[QueuedEvent]:
        with self.db.session() as db_session:
            return [
                event
                for event in batch
                if events.accept_into_inbox(
                    db_session=db_session,
                    webhook_event_id=event.event_id,
                    user_key=event.user_key,
                    payload=event.payload,
                )
                is not None
            ]

    def _lane_for(self, user_key: str) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        return self.lanes[partition_of(user_key, len(self.lanes))]

    async def start_workers(self, process: Process, give_up: GiveUp) -> None:
        self.working = True
        for row in await asyncio.to_thread(self._pending):
            self._lane_for(row[1]).put_nowait((row[0], row[2]))
        self.tasks = [asyncio.create_task(self._work(lane, process, give_up)) for lane in self.lanes]

    def _pending(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self.db.session() as db_session:
            return [(r.webhook_event_id, r.user_key, r.payload) for r in events.pending_inbox(db_session=db_session)]

    async def _work(self, lane: asyncio.Queue[tuple[str, dict[str, Any]]], process: Process, give_up: GiveUp) -> None:
        while True:
            event_id, payload = await lane.get()
            try:
                await process_with_retries(payload, process, give_up)
                await asyncio.to_thread(self._done, event_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("embedded lane could not finish an event; it stays in the inbox for the next start")
            finally:
                lane.task_done()

    def _done(self, event_id: str) -> None:
        with self.db.session() as db_session:
            events.mark_inbox_done(db_session=db_session, webhook_event_id=event_id)

    async def drain(self) -> None:
        """Wait until every accepted event has been processed (tests and demo shutdown)."""
        for lane in self.lanes:
            await lane.join()

    async def stop(self) -> None:
        self.working = False
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks = []

    async def depth(self) -> int:
        return sum(lane.qsize() for lane in self.lanes)

    async def ready(self) -> bool:
        return True
