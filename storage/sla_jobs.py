"""The SQL of the SLA jobs (bot/jobs.py runs them): breaches, reminders, auto-close, transfer expiry.

Each function claims a batch of due rows with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL: several job
runners in several processes share the work and never take the same row; SQLite ignores the clause and
serialises writers) and changes each row under its lock, so every breach and every reminder is recorded once.
Call each in its own short transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from storage import sla
from storage.tickets import (
    Status,
    Ticket,
    _set_status,
    expire_transfers,
    record_clock_events,
    send_to_citizen,
)

_NOT_FINISHED = Ticket.status.not_in((Status.resolved, Status.closed))
AUTO_CLOSE_ACTOR = "system"


def _claim(db_session: Session, condition: ColumnElement[bool], limit: int) -> list[Ticket]:
    return list(
        db_session.scalars(
            select(Ticket).where(condition).order_by(Ticket.id).limit(limit).with_for_update(skip_locked=True)
        )
    )


def fire_breaches(*, db_session: Session, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """Record a `sla_breached` event (staff notified) for each clock past its due time, once: the first
    response while nobody has answered, the resolution while neither resolved nor paused (waiting for the
    citizen). Returns (ticket ID, clock) pairs."""
    fired: list[tuple[str, str]] = []
    first_response = and_(
        Ticket.status == Status.new,
        Ticket.first_response_at.is_(None),
        Ticket.first_response_due_at < now,
        Ticket.first_response_breached_at.is_(None),
    )
    for ticket in _claim(db_session, first_response, limit):
        assert ticket.first_response_due_at is not None
        ticket.first_response_breached_at = now
        ticket.first_response_remind_at = None
        record_clock_events(
            db_session, ticket, [sla.breach_event("first_response", ticket.first_response_due_at)], now=now
        )
        fired.append((ticket.id, "first_response"))
    resolution = and_(
        _NOT_FINISHED,
        Ticket.resolved_at.is_(None),
        Ticket.sla_paused_at.is_(None),
        Ticket.resolution_due_at < now,
        Ticket.resolution_breached_at.is_(None),
    )
    for ticket in _claim(db_session, resolution, limit):
        assert ticket.resolution_due_at is not None
        ticket.resolution_breached_at = now
        ticket.resolution_remind_at = None
        record_clock_events(db_session, ticket, [sla.breach_event("resolution", ticket.resolution_due_at)], now=now)
        fired.append((ticket.id, "resolution"))
    db_session.flush()
    return fired


def send_reminders(*, db_session: Session, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """An `sla_reminder` event (staff notified: the officers are told a due time is near) for each pending
    reminder whose time has come, once (the reminder time is cleared). Nothing for a clock already done,
    paused or breached. Returns (ticket ID, clock) pairs."""
    sent: list[tuple[str, str]] = []
    first_response = and_(Ticket.first_response_remind_at.is_not(None), Ticket.first_response_remind_at <= now)
    for ticket in _claim(db_session, first_response, limit):
        ticket.first_response_remind_at = None
        if ticket.status is Status.new and ticket.first_response_breached_at is None:
            event = sla.reminder_event("first_response", ticket.first_response_due_at)
            record_clock_events(db_session, ticket, [event], now=now)
            sent.append((ticket.id, "first_response"))
    resolution = and_(Ticket.resolution_remind_at.is_not(None), Ticket.resolution_remind_at <= now)
    for ticket in _claim(db_session, resolution, limit):
        ticket.resolution_remind_at = None
        waiting = ticket.sla_paused_at is not None or ticket.status not in (
            Status.new,
            Status.acknowledged,
            Status.in_progress,
        )
        if not waiting and ticket.resolution_breached_at is None:
            record_clock_events(
                db_session, ticket, [sla.reminder_event("resolution", ticket.resolution_due_at)], now=now
            )
            sent.append((ticket.id, "resolution"))
    db_session.flush()
    return sent


def auto_close(*, db_session: Session, now: datetime, after: timedelta, limit: int = 200) -> list[str]:
    """Close the tickets resolved more than `after` ago (the person did not say "ยังไม่ได้รับการแก้ไข",
    which reopens a ticket to `in_progress`); the citizen is told like any status change."""
    closed: list[str] = []
    due = and_(Ticket.status == Status.resolved, Ticket.resolved_at <= now - after)
    for ticket in _claim(db_session, due, limit):
        event = _set_status(db_session, ticket, Status.closed, actor=AUTO_CLOSE_ACTOR, now=now)
        event.data = {**event.data, "auto_closed_after_days": after.days}
        send_to_citizen(db_session, ticket, event)
        closed.append(ticket.id)
    db_session.flush()
    return closed


def expire_overdue_transfers(*, db_session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Transfers not accepted in time become `expired`, with an event for the administrators (storage.tickets)."""
    return [transfer.id for transfer in expire_transfers(db_session=db_session, now=now, limit=limit)]
