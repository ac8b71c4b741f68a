"""Builds and runs the moving parts: database, LINE client, queue, processor, sender, maintenance."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot import metrics
from bot.jobs import JobRunner
from bot.line.client import LineClient
from bot.nlu import warm_up
from bot.processing import EventProcessor
from bot.queue.base import EventQueue
from bot.queue.embedded import EmbeddedQueue
from bot.queue.redis_streams import RedisStreamQueue
from bot.sender import Sender
from bot.settings import Settings
from knowledge.loader import get_knowledge
from storage import dialogue, events, migrate, outbox, sla
from storage.db import Database

log = logging.getLogger(__name__)

LEDGER_RETENTION = timedelta(days=7)
MAINTENANCE_INTERVAL_SECONDS = 3600
DEPTH_INTERVAL_SECONDS = 5


class Runtime:
    def __init__(self, settings: Settings) -> None:
        settings.require_production_secrets()
        self.settings = settings
        self.knowledge = get_knowledge()  # validated here: bad content stops start-up
        # The SLA rules and working calendar for storage's service functions (due times, pause and resume).
        # Installed by start() for this process, removed by stop().
        self.sla_policy = sla.build_policy(self.knowledge.sla, self.knowledge.holidays)
        migrate.upgrade(settings.database_url)
        self.db = Database(settings.database_url)
        self.queue: EventQueue
        if settings.redis_url:
            self.queue = RedisStreamQueue(
                redis_url=settings.redis_url,
                partitions=settings.queue_partitions,
                dedup_ttl_seconds=settings.dedup_ttl_seconds,
            )
        else:
            self.queue = EmbeddedQueue(db=self.db, lanes=settings.worker_concurrency)
        self.line: LineClient | None = None
        self.sender: Sender | None = None
        self.processor: EventProcessor | None = None
        self.jobs: JobRunner | None = None
        self._background: list[asyncio.Task[None]] = []

    async def start(self, *, workers: bool) -> None:
        """Create the async LINE client (inside the running loop) and, when asked, start working."""
        sla.install(self.sla_policy)
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=max(8, self.settings.worker_concurrency * 2)))
        self.line = LineClient(
            access_token=self.settings.access_token,
            api_base_url=self.settings.line_api_base_url,
            data_api_base_url=self.settings.line_data_api_base_url,
            timeout=self.settings.outbound_timeout_seconds,
        )
        self.sender = Sender(db=self.db, line=self.line, max_attempts=self.settings.outbound_max_attempts)
        self.processor = EventProcessor(
            db=self.db,
            line=self.line,
            knowledge=self.knowledge,
            settings=self.settings,
            deliver=self.sender.deliver,
        )
        self._background.append(asyncio.create_task(self._watch_depth()))
        if workers:
            try:
                # Build the language model before the first message, not during it.
                await asyncio.to_thread(warm_up)
                self.sender.start()
                await self.queue.start_workers(self.processor.process, self.processor.give_up)
            except BaseException:
                await self.stop()  # close the LINE client's sessions and the database on a failed start
                raise
            self._background.append(asyncio.create_task(self._maintain()))
            self.jobs = JobRunner(
                db=self.db, policy=self.sla_policy, interval_seconds=self.settings.sla_job_interval_seconds
            )
            self._background.append(asyncio.create_task(self.jobs.run_forever()))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.queue.stop()
        if sla.installed() is self.sla_policy:
            sla.install(None)  # a stopped runtime leaves no policy behind (tests run several in one process)
        if self.sender is not None:
            await self.sender.stop()
        if self.line is not None:
            await self.line.close()
        self.db.dispose()

    async def ready(self) -> dict[str, bool]:
        database = await asyncio.to_thread(self._database_ready)
        checks = {"database": database}
        if self.settings.redis_url:
            checks["redis"] = await self.queue.ready()
        return checks

    def _database_ready(self) -> bool:
        try:
            with self.db.session() as db_session:
                events.was_processed(db_session=db_session, webhook_event_id="readyz")
            return True
        except Exception:
            log.warning("database not reachable", exc_info=True)
            return False

    async def _watch_depth(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                metrics.QUEUE_DEPTH.set(await self.queue.depth())
            await asyncio.sleep(DEPTH_INTERVAL_SECONDS)

    async def _maintain(self) -> None:
        while True:
            try:
                removed = await asyncio.to_thread(self._purge)
                log.info("purged old event records", extra={"removed": removed})
            except Exception:
                log.exception("maintenance failed")
            await asyncio.sleep(MAINTENANCE_INTERVAL_SECONDS)

    def _purge(self) -> int:
        with self.db.session() as db_session:
            removed = events.purge_older_than(db_session=db_session, age=LEDGER_RETENTION)
            removed += outbox.purge_finished_older_than(db_session=db_session, age=LEDGER_RETENTION)
            return removed + dialogue.forget_idle(db_session=db_session, age=LEDGER_RETENTION)
