"""The outbox: every message to a person is a row written with the effects that caused it.

`send` is the one way to write one (the bot's replies, officers' messages, jobs' notices, alerts to an
officer's linked LINE account): the rows, at most five messages each, and the transcript, in the caller's
transaction. Content is neutral (`storage.content`); the sender renders it for LINE when it sends.

Each delivery attempt is written into the row's `attempt_log` before the call to LINE is made (the
method, the reply token or retry key, the time) and completed with LINE's answer after it. An entry
without an answer is a call whose result nobody saw: a process died waiting for it. The sender reads
the log on a later attempt to decide what an answer means (see `bot/sender.py`).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Enum, Integer, String, Text, delete, or_, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import content as neutral
from storage.base import Base, UtcDateTime, utcnow
from storage.conversations import Direction, add_message
from storage.users import LineUser, get_by_line_id, keeps_content


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    # Neutral content (storage.content); rows written before it hold LINE message objects, sent as they are.
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


def send(
    db_session: Session,
    *,
    to: str,
    replies: Sequence[neutral.Content],
    source_event_id: str | None = None,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
    ticket_id: str | None = None,
    transcript: bool = True,
    claim_for: timedelta | None = None,
) -> list[OutboxMessage]:
    """Say `replies` (neutral content) to the LINE user `to`: outbox rows and the transcript, in this transaction.

    LINE takes at most five messages per request: the first request may use `reply_token` (until
    `reply_deadline`), the others push. The transcript (conversation_messages, outbound) records what each
    message says, with `ticket_id` in its payload, unless `transcript` is False (an officer's alert) or the
    person declined or withdrew consent to keep what they say. With `claim_for`, the rows are born claimed
    by the caller, who sends them right after the commit (the bot's turn); otherwise the relay sends them.
    """
    items = neutral.normalise(replies)
    if not items:
        return []
    for item in items:
        if not neutral.is_neutral(item):
            raise ValueError(f"outbox.send takes neutral content (storage.content), not {item.get('type')!r}")
    rows: list[OutboxMessage] = []
    for index, batch in enumerate(neutral.batches(items)):
        token = reply_token if index == 0 and reply_deadline is not None else None
        rows.append(
            enqueue(
                db_session=db_session,
                line_user_id=to,
                messages=batch,
                reply_token=token,
                reply_deadline=reply_deadline if token else None,
                source_event_id=source_event_id,
                claim_for=claim_for,
            )
        )
    if transcript and _keeps_transcript(db_session, to):
        payload = {"ticket_id": ticket_id} if ticket_id else None
        for item in items:
            add_message(
                db_session=db_session,
                line_user_id=to,
                direction=Direction.outbound,
                kind=neutral.transcript_kind(item),
                text=neutral.plain_text(item),
                payload=payload,
                webhook_event_id=source_event_id,
            )
    return rows


def send_to_staff(
    db_session: Session,
    *,
    line_user_ids: Iterable[str],
    replies: Sequence[neutral.Content],
    ticket_id: str | None = None,
    source_event_id: str | None = None,
) -> list[OutboxMessage]:
    """Alerts pushed to officers' linked LINE accounts (each once, no transcript: they are not citizens)."""
    rows: list[OutboxMessage] = []
    for line_user_id in dict.fromkeys(line_user_ids):
        rows += send(
            db_session,
            to=line_user_id,
            replies=replies,
            source_event_id=source_event_id,
            ticket_id=ticket_id,
            transcript=False,
        )
    return rows


def _keeps_transcript(db_session: Session, line_user_id: str) -> bool:
    """False when the person declined or withdrew consent to keep what is said (no row: a group, kept)."""
    user = next(
        (
            obj
            for obj in db_session.identity_map.values()
            if isinstance(obj, LineUser) and obj.line_user_id == line_user_id
        ),
        None,
    ) or get_by_line_id(db_session=db_session, line_user_id=line_user_id)
    return user is None or keeps_content(user)


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
