"""Inbound webhook events: the embedded-mode inbox (durable queue) and the processed-event ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow


class InboxEvent(Base):
    """An event accepted by the webhook and not yet processed (embedded mode's durable queue)."""

    __tablename__ = "inbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_key: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    done: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class ProcessedEvent(Base):
    """An event whose effects have committed; written in the same transaction as those effects."""

    __tablename__ = "processed_events"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


def _insert_ignoring_duplicates(db_session: Session, table: Any, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on either backend; True when a row was inserted."""
    dialect = db_session.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends reach here
        statement = insert(table).values(**values)
    result = db_session.execute(statement, execution_options={"preserve_rowcount": True})  # INSERT: else -1
    return bool(result.rowcount)  # type: ignore[attr-defined]


def accept_into_inbox(
    *, db_session: Session, webhook_event_id: str, user_key: str, payload: dict[str, Any]
) -> int | None:
    """Store a new event; None when this webhookEventId was already accepted (a redelivery)."""
    inserted = _insert_ignoring_duplicates(
        db_session,
        InboxEvent,
        {
            "webhook_event_id": webhook_event_id,
            "user_key": user_key,
            "payload": payload,
            "received_at": utcnow(),
            "done": False,
        },
    )
    if not inserted:
        return None
    return db_session.scalar(select(InboxEvent.id).where(InboxEvent.webhook_event_id == webhook_event_id))


def pending_inbox(*, db_session: Session, limit: int = 10_000) -> list[InboxEvent]:
    """Accepted but unprocessed events, oldest first (replayed after a restart)."""
    return list(
        db_session.scalars(select(InboxEvent).where(InboxEvent.done.is_(False)).order_by(InboxEvent.id).limit(limit))
    )


def mark_inbox_done(*, db_session: Session, webhook_event_id: str) -> None:
    """The turn has committed: keep the ID (deduplication) and drop the raw webhook body (PDPA)."""
    db_session.execute(
        update(InboxEvent).where(InboxEvent.webhook_event_id == webhook_event_id).values(done=True, payload={})
    )


def was_processed(*, db_session: Session, webhook_event_id: str) -> bool:
    return db_session.get(ProcessedEvent, webhook_event_id) is not None


def record_processed(*, db_session: Session, webhook_event_id: str, event_type: str) -> bool:
    """Claim the event for this transaction; False when another transaction already processed it."""
    return _insert_ignoring_duplicates(
        db_session,
        ProcessedEvent,
        {"webhook_event_id": webhook_event_id, "event_type": event_type[:40], "processed_at": utcnow()},
    )


def purge_older_than(*, db_session: Session, age: timedelta) -> int:
    """Forget processed events and finished inbox rows past the dedup window."""
    cutoff = utcnow() - age
    removed = db_session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < cutoff)).rowcount  # type: ignore[attr-defined]
    removed += db_session.execute(
        delete(InboxEvent).where(InboxEvent.done.is_(True), InboxEvent.received_at < cutoff)
    ).rowcount  # type: ignore[attr-defined]
    return int(removed)
