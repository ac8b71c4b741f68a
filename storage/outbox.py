"""The outbox: every message to a citizen is a row written with the effects that caused it.

Each delivery attempt is written into the row's `attempt_log` before the call to LINE is made (the
method, the reply token or retry key, the time) and completed with LINE's answer after it. An entry
without an answer is a call whose result nobody saw: a process died waiting for it. The sender reads
the log on a later attempt to decide what an answer means (see `bot/sender.py`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Enum, Integer, String, Text, delete, or_, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reply_token: Mapped[str | None] = mapped_column(String(255))
    reply_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Fixed at creation, so every retry of this push carries the same X-Line-Retry-Key.
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=16), default=OutboxStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_via: Mapped[str | None] = mapped_column(String(8))
    last_error: Mapped[str | None] = mapped_column(Text)
    source_event_id: Mapped[str | None] = mapped_column(String(64))
    # One entry per attempt, written before the call: see `new_attempt` and `answered`.
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


REPLY = "reply"
PUSH = "push"


def plan_method(row: OutboxMessage, now: datetime) -> str:
    """Reply while the row's reply token is within its deadline, push otherwise."""
    if row.reply_token and row.reply_deadline and now < row.reply_deadline:
        return REPLY
    return PUSH


def new_attempt(row: OutboxMessage, number: int, method: str, now: datetime) -> dict[str, Any]:
    """A log entry for an attempt about to be made: `status` None until LINE's answer is known."""
    key = row.reply_token if method == REPLY else row.retry_key
    return {"n": number, "via": method, "key": key, "at": now.isoformat(), "status": None, "reason": None}


def pending_attempt(row: OutboxMessage) -> dict[str, Any] | None:
    """The entry recorded for the current claim and not yet answered, if any."""
    if not row.attempt_log:
        return None
    last = row.attempt_log[-1]
    if last.get("n") == row.attempts and last.get("status") is None and not last.get("skipped"):
        return last
    return None


def answered(log: list[dict[str, Any]], number: int, status: int, reason: str) -> list[dict[str, Any]]:
    """The log with attempt `number` completed by LINE's answer (0: no HTTP answer came)."""
    return [
        {**entry, "status": status, "reason": reason[:300] or None}
        if entry.get("n") == number and not entry.get("skipped")
        else entry
        for entry in log
    ]


def enqueue(
    *,
    db_session: Session,
    line_user_id: str,
    messages: list[dict[str, Any]],
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
    source_event_id: str | None = None,
    claim_for: timedelta | None = None,
) -> OutboxMessage:
    """Add one outgoing LINE request (up to five messages) to the outbox of the current transaction.

    With `claim_for`, the row is born claimed by the caller, who sends it right after the commit
    (saving a transaction); if the caller dies, the lease runs out and the relay sends it.
    """
    now = utcnow()
    row = OutboxMessage(
        line_user_id=line_user_id,
        messages=messages,
        reply_token=reply_token,
        reply_deadline=reply_deadline,
        retry_key=str(uuid.uuid4()),
        status=OutboxStatus.sending if claim_for else OutboxStatus.pending,
        attempts=1 if claim_for else 0,
        next_attempt_at=now,
        lease_until=now + claim_for if claim_for else None,
        source_event_id=source_event_id,
        created_at=now,
    )
    # Born claimed: the caller sends right after the commit, so its first attempt is recorded here,
    # durably before the call, without a transaction of its own.
    row.attempt_log = [new_attempt(row, 1, plan_method(row, now), now)] if claim_for else []
    db_session.add(row)
    return row


def claim(*, db_session: Session, outbox_id: int, lease: timedelta) -> OutboxMessage | None:
    """Take a due row for sending, exclusively across processes (an expired lease may be taken over)."""
    now = utcnow()
    result = db_session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            or_(
                (OutboxMessage.status == OutboxStatus.pending) & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == OutboxStatus.sending) & (OutboxMessage.lease_until < now),
            ),
        )
        .values(status=OutboxStatus.sending, lease_until=now + lease, attempts=OutboxMessage.attempts + 1)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    row = db_session.get(OutboxMessage, outbox_id, populate_existing=True)
    assert row is not None
    # The attempt this claim is for, recorded in the claim's own transaction (before any call).
    row.attempt_log = [*row.attempt_log, new_attempt(row, row.attempts, plan_method(row, now), now)]
    return row


def record_attempts(*, db_session: Session, outbox_id: int, attempt_log: list[dict[str, Any]]) -> None:
    """Store the log, e.g. an attempt re-planned after its recorded plan stopped holding."""
    db_session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(attempt_log=attempt_log))


def due_ids(*, db_session: Session, limit: int = 100) -> list[int]:
    """Rows waiting to be sent now, or whose sender died holding them."""
    now = utcnow()
    return list(
        db_session.scalars(
            select(OutboxMessage.id)
            .where(
                or_(
                    (OutboxMessage.status == OutboxStatus.pending) & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == OutboxStatus.sending) & (OutboxMessage.lease_until < now),
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def _log_value(attempt_log: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {} if attempt_log is None else {"attempt_log": attempt_log}


def mark_sent(
    *,
    db_session: Session,
    outbox_id: int,
    via: str,
    note: str | None = None,
    attempt_log: list[dict[str, Any]] | None = None,
) -> None:
    """Delivered; `note` says why when it was concluded rather than confirmed by LINE."""
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(
            status=OutboxStatus.sent,
            sent_via=via,
            sent_at=utcnow(),
            lease_until=None,
            last_error=note[:2000] if note else None,
            **_log_value(attempt_log),
        )
    )


def schedule_retry(
    *,
    db_session: Session,
    outbox_id: int,
    delay: timedelta,
    error: str,
    drop_reply: bool,
    attempt_log: list[dict[str, Any]] | None = None,
) -> None:
    """Back to pending after `delay`; `drop_reply` switches the next attempt to push."""
    values: dict[str, Any] = {
        "status": OutboxStatus.pending,
        "next_attempt_at": utcnow() + delay,
        "lease_until": None,
        "last_error": error[:2000],
        **_log_value(attempt_log),
    }
    if drop_reply:
        values["reply_token"] = None
    db_session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))


def mark_failed(
    *, db_session: Session, outbox_id: int, error: str, attempt_log: list[dict[str, Any]] | None = None
) -> None:
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=OutboxStatus.failed, lease_until=None, last_error=error[:2000], **_log_value(attempt_log))
    )


def purge_finished_older_than(*, db_session: Session, age: timedelta) -> int:
    """Forget sent and failed rows past the retention window: what was said lives in the transcript (when the
    person consented), so a delivered request need not keep its content."""
    cutoff = utcnow() - age
    result = db_session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.in_((OutboxStatus.sent, OutboxStatus.failed)), OutboxMessage.created_at < cutoff
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
