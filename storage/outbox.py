"""The outbox: every message to a citizen is a row written with the effects that caused it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Enum, Integer, String, Text, or_, select, update
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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


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
    return db_session.get(OutboxMessage, outbox_id, populate_existing=True)


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


def mark_sent(*, db_session: Session, outbox_id: int, via: str) -> None:
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=OutboxStatus.sent, sent_via=via, sent_at=utcnow(), lease_until=None, last_error=None)
    )


def schedule_retry(*, db_session: Session, outbox_id: int, delay: timedelta, error: str, drop_reply: bool) -> None:
    """Back to pending after `delay`; `drop_reply` switches the next attempt to push."""
    values: dict[str, Any] = {
        "status": OutboxStatus.pending,
        "next_attempt_at": utcnow() + delay,
        "lease_until": None,
        "last_error": error[:2000],
    }
    if drop_reply:
        values["reply_token"] = None
    db_session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))


def mark_failed(*, db_session: Session, outbox_id: int, error: str) -> None:
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=OutboxStatus.failed, lease_until=None, last_error=error[:2000])
    )
