"""Delivers outbox rows to LINE: reply while the token is fresh, else push with a stable retry key.

Exactly once, as far as it can be known. Every attempt is logged in the row before the call
(`storage.outbox`), so a later attempt knows whether an earlier call went out and was never answered
(its process died waiting). Push is safe to repeat: the row's X-Line-Retry-Key is the same on every
attempt and LINE answers 409 to a key it already accepted. A reply token is single-use, so a repeated
reply can never deliver twice either; what needs a decision is the 400 it gets:

LINE's Messaging API reference answers a reply with a token that cannot be used with HTTP 400 and the
body {"message": "Invalid reply token"} (error messages table: "An invalid reply token was used in the
reply message", https://developers.line.biz/en/reference/messaging-api/#error-messages, quoted in
line/line-bot-sdk-nodejs#196; the same body for a spent and for an expired token, e.g.
line/line-bot-sdk-python#188). Its "Send reply message" section gives no fixed lifetime: "the reply token
becomes invalid after a certain period of time, responses should be sent as soon as a message is
received" (https://developers.line.biz/en/reference/messaging-api/#send-reply-message, quoted in
cofacts/rumors-line-bot#154, which observed about 30 s; SDK guidance says one use only). So:

- an earlier reply attempt whose answer was lost + "Invalid reply token" while the token is still
  within our own reply window (the row's `reply_deadline`: the setting `reply_token_fresh_seconds`,
  50 s by default, after the event; the only window in which this service uses a token at all) means
  our earlier call spent it: the message is delivered;
- any other 400 on a reply (no earlier call of ours, its answer known, or the token past our window,
  where it could simply have expired) falls back to push. A lost answer is worse than a late one, and a
  doubled one is the next worst.

What is left: if LINE's real lifetime is shorter than our window AND the earlier call never actually
left (a crash between writing the log and the call, or a timeout before connecting), a 400 from expiry
would be read as "spent" and the message lost. Both halves are rare (the log is written in the claim,
or in the turn's commit, right before the call; a dead sender's row comes back ~20 s later, FRESH_CLAIM);
lowering `reply_token_fresh_seconds` narrows it further.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from datetime import timedelta
from typing import Any

from bot import metrics
from bot.line import render
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


INVALID_REPLY_TOKEN = re.compile(r"invalid reply token", re.IGNORECASE)
# aiohttp's names for a connection that was never made: the request cannot have reached LINE.
NEVER_CONNECTED = (
    "ClientConnectorError",
    "ClientConnectorDNSError",
    "ConnectionRefusedError",
    "ConnectionTimeoutError",
)


def answer_unknown(entry: dict[str, Any]) -> bool:
    """Did this logged call perhaps reach LINE without us learning the answer?

    No answer recorded (the process died waiting) or no HTTP answer (a timeout, a dropped connection);
    not when the connection was never made. An HTTP answer, even 5xx, is LINE telling us it did not take it.
    """
    status = entry.get("status")
    if status is None:
        return True
    reason = str(entry.get("reason") or "")
    return status == 0 and not reason.startswith(NEVER_CONNECTED)


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
        """One delivery attempt of a row this process holds the claim on, logged in the row before the call."""
        attempt = await self._logged_attempt(row)
        messages = render.line_messages(row.messages)  # neutral content; old rows hold LINE messages already
        if attempt["via"] == outbox.REPLY:
            result = await self.line.reply(str(attempt["key"]), messages)
        else:
            result = await self.line.push(row.line_user_id, messages, row.retry_key)
        retry_in = await asyncio.to_thread(self._record, row, attempt, result)
        if retry_in is not None:
            self._retry_later(row.id, retry_in)

    async def _logged_attempt(self, row: OutboxMessage) -> dict[str, Any]:
        """The attempt about to be made, durably in the row's log.

        The claim (or, for a row born claimed, the turn's commit) recorded it already; only when that plan
        no longer holds (the reply window closed in between) is a new entry written, the old one marked
        as never made (this process knows it made no call).
        """
        now = utcnow()
        method = outbox.plan_method(row, now)
        planned = outbox.pending_attempt(row)
        if planned is not None and planned["via"] == method:
            return planned
        log_entries = [
            {**entry, "skipped": True} if planned is not None and entry is planned else entry
            for entry in row.attempt_log
        ]
        attempt = outbox.new_attempt(row, row.attempts, method, now)
        log_entries.append(attempt)
        await asyncio.to_thread(self._write_log, row.id, log_entries)
        row.attempt_log = log_entries
        return attempt

    def _write_log(self, outbox_id: int, log_entries: list[dict[str, Any]]) -> None:
        with self.db.session() as db_session:
            outbox.record_attempts(db_session=db_session, outbox_id=outbox_id, attempt_log=log_entries)

    def _claim(self, outbox_id: int) -> OutboxMessage | None:
        with self.db.session() as db_session:
            return outbox.claim(db_session=db_session, outbox_id=outbox_id, lease=SEND_LEASE)

    def _record(self, row: OutboxMessage, attempt: dict[str, Any], result: CallResult) -> float | None:
        """Store LINE's answer; returns the delay before the next attempt, or None when done."""
        via = str(attempt["via"])
        number = int(attempt["n"])
        log_entries = outbox.answered(row.attempt_log, number, result.status, result.reason)
        earlier = [entry for entry in log_entries if int(entry.get("n", 0)) < number and not entry.get("skipped")]
        with self.db.session() as db_session:
            retried_push = any(entry["via"] == outbox.PUSH for entry in earlier) or row.attempts > 1
            if result.ok or (via == outbox.PUSH and result.status == 409 and retried_push):
                # 409 on a retried push: LINE already accepted this retry key the first time.
                outbox.mark_sent(db_session=db_session, outbox_id=row.id, via=via, attempt_log=log_entries)
                metrics.OUTBOX_RESULTS.labels(result=f"sent_{via}").inc()
                return None
            error = f"{via} HTTP {result.status}: {result.reason}".strip()
            if via == outbox.REPLY and result.status == 400:
                spender = self._earlier_call_spent_token(row, attempt, earlier, result)
                if spender is not None:
                    note = f"{error}; delivered by attempt {spender}, whose answer was lost"
                    outbox.mark_sent(
                        db_session=db_session, outbox_id=row.id, via=via, note=note, attempt_log=log_entries
                    )
                    metrics.OUTBOX_RESULTS.labels(result="sent_reply_presumed").inc()
                    log.info(
                        "reply token spent by an earlier unanswered attempt: delivered",
                        extra={"user": user_ref(row.line_user_id), "attempt": number, "spent_by": spender},
                    )
                    return None
                # Spent by someone else, expired, or we cannot tell: the same messages go by push, at once.
                outbox.schedule_retry(
                    db_session=db_session,
                    outbox_id=row.id,
                    delay=timedelta(0),
                    error=error,
                    drop_reply=True,
                    attempt_log=log_entries,
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
                    attempt_log=log_entries,
                )
                metrics.OUTBOX_RESULTS.labels(result="retry").inc()
                return delay
            outbox.mark_failed(db_session=db_session, outbox_id=row.id, error=error, attempt_log=log_entries)
            metrics.OUTBOX_RESULTS.labels(result="failed").inc()
            log.warning("message not delivered", extra={"user": user_ref(row.line_user_id), "error": error[:300]})
            return None

    @staticmethod
    def _earlier_call_spent_token(
        row: OutboxMessage, attempt: dict[str, Any], earlier: list[dict[str, Any]], result: CallResult
    ) -> int | None:
        """The earlier attempt that must have used this reply token, or None when that is not certain.

        Certain enough: LINE says the token is invalid (not some other 400), the token is still inside
        the window in which we trust it to be alive, and an earlier reply call of ours with this very
        token went out and its answer never came back (see the module's docstring).
        """
        if not INVALID_REPLY_TOKEN.search(result.reason):
            return None
        if row.reply_deadline is None or utcnow() >= row.reply_deadline:
            return None  # it could simply have expired: push
        for entry in earlier:
            if entry["via"] == outbox.REPLY and entry.get("key") == attempt["key"] and answer_unknown(entry):
                return int(entry["n"])
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
