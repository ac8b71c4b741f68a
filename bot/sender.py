"""Delivers outbox rows to LINE: reply while the token is fresh, else push with a stable retry key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from bot import metrics
from bot.line.client import CallResult, LineClient
from bot.logs import user_ref
from storage import outbox
from storage.base import utcnow
from storage.db import Database
from storage.outbox import OutboxMessage

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=60)
# A row written already claimed (sent right after its commit) is the relay's after this long.
FRESH_CLAIM = timedelta(seconds=20)
RELAY_INTERVAL_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 60.0


def backoff_delay(attempt: int, base: float) -> float:
    """Exponential backoff with jitter: half fixed, half random, capped."""
    ceiling: float = min(BACKOFF_CAP_SECONDS, base * float(2 ** max(0, attempt - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def is_retryable(status: int) -> bool:
    """Timeouts and connection errors (0), 429 and 5xx are worth another try."""
    return status == 0 or status == 429 or status >= 500


class Sender:
    """Sends each outbox row once as far as LINE is concerned; safe to run in several processes."""

    def __init__(self, *, db: Database, line: LineClient, max_attempts: int, backoff_base: float = 0.5) -> None:
        self.db = db
        self.line = line
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._wake = asyncio.Event()
        self._timers: set[asyncio.TimerHandle] = set()
        self._relay_task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def deliver(self, rows: list[OutboxMessage]) -> None:
        """Send rows this process claimed when it wrote them, in order (one turn of one user)."""
        for row in rows:
            await self.send(row)

    async def attempt(self, outbox_id: int) -> None:
        """Claim a due row and send it (retries and the relay)."""
        row = await asyncio.to_thread(self._claim, outbox_id)
        if row is None:
            return  # already sent, not yet due, or another process holds it
        await self.send(row)

    async def send(self, row: OutboxMessage) -> None:
        """One delivery attempt of a row this process holds the claim on."""
        use_reply = bool(row.reply_token and row.reply_deadline and utcnow() < row.reply_deadline)
        if use_reply:
            assert row.reply_token is not None
            result = await self.line.reply(row.reply_token, row.messages)
        else:
            result = await self.line.push(row.line_user_id, row.messages, row.retry_key)
        retry_in = await asyncio.to_thread(self._record, row, use_reply, result)
        if retry_in is not None:
            self._retry_later(row.id, retry_in)

    def _claim(self, outbox_id: int) -> OutboxMessage | None:
        with self.db.session() as db_session:
            return outbox.claim(db_session=db_session, outbox_id=outbox_id, lease=SEND_LEASE)

    def _record(self, row: OutboxMessage, used_reply: bool, result: CallResult) -> float | None:
        """Store LINE's answer; returns the delay before the next attempt, or None when done."""
        via = "reply" if used_reply else "push"
        with self.db.session() as db_session:
            if result.ok or (not used_reply and result.status == 409 and row.attempts > 1):
                # 409 on a retried push: LINE already accepted this retry key the first time.
                outbox.mark_sent(db_session=db_session, outbox_id=row.id, via=via)
                metrics.OUTBOX_RESULTS.labels(result=f"sent_{via}").inc()
                return None
            error = f"{via} HTTP {result.status}: {result.reason}".strip()
            if used_reply and result.status == 400:
                # The reply token was spent or expired: the same messages go by push, at once.
                outbox.schedule_retry(
                    db_session=db_session, outbox_id=row.id, delay=timedelta(0), error=error, drop_reply=True
                )
                metrics.OUTBOX_RESULTS.labels(result="reply_fallback_push").inc()
                return 0.0
            if is_retryable(result.status) and row.attempts < self.max_attempts:
                delay = backoff_delay(row.attempts, self.backoff_base)
                outbox.schedule_retry(
                    db_session=db_session,
                    outbox_id=row.id,
                    delay=timedelta(seconds=delay),
                    error=error,
                    drop_reply=False,
                )
                metrics.OUTBOX_RESULTS.labels(result="retry").inc()
                return delay
            outbox.mark_failed(db_session=db_session, outbox_id=row.id, error=error)
            metrics.OUTBOX_RESULTS.labels(result="failed").inc()
            log.warning("message not delivered", extra={"user": user_ref(row.line_user_id), "error": error[:300]})
            return None

    def _retry_later(self, outbox_id: int, delay: float) -> None:
        """A timer in this process; the relay loop covers the row if the process dies first."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            task = loop.create_task(self.attempt(outbox_id))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    # --- relay: rows left pending by a crash, or whose retry timer lived in a dead process ---------

    def start(self) -> None:
        self._relay_task = asyncio.create_task(self._relay())

    async def stop(self) -> None:
        for handle in list(self._timers):
            handle.cancel()
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _relay(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RELAY_INTERVAL_SECONDS)
            self._wake.clear()
            try:
                due = await asyncio.to_thread(self._due)
                for outbox_id in due:
                    await self.attempt(outbox_id)
            except Exception:  # the relay must outlive a database hiccup
                log.exception("outbox relay pass failed")

    def _due(self) -> list[int]:
        with self.db.session() as db_session:
            return outbox.due_ids(db_session=db_session)
