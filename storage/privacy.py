"""PDPA data rights: what is stored about a person (s.30 access) and erasing it on request (s.33).

`summary` gives the facts the data_rights handler shows ("ข้อมูลของฉัน"); `erase` deletes the person's
conversation, attachments (bytes and rows), dialogue state, the raw payloads of their finished inbox events,
their sent outbox rows and their profile name, and keeps only what proves the request was honoured: the consent
history (with a `withdrawn` entry for every purpose) and an erasure record (a date and counts, no content).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import dialogue
from storage.attachments import Attachment
from storage.base import Base, UtcDateTime, utcnow
from storage.conversations import ConversationMessage, Direction
from storage.events import InboxEvent
from storage.outbox import OutboxMessage, OutboxStatus
from storage.tickets import count_citizen_tickets, erase_citizen
from storage.users import ConsentPurpose, ConsentRecord, ConsentState, get_by_line_id, set_consent


class ErasureRecord(Base):
    """Proof that a person's data was erased at their request: when, and how much; never what."""

    __tablename__ = "erasure_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id", ondelete="CASCADE"), index=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    attachments: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class ConsentStatus:
    """One purpose's current consent and when it was last decided (None: never asked or answered)."""

    purpose: str  # storage.users.ConsentPurpose value
    state: str  # storage.users.ConsentState value
    notice_version: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class StoredData:
    """What is stored about one person, for "ข้อมูลของฉัน" (handlers get it as `Turn.stored`)."""

    consents: tuple[ConsentStatus, ...] = ()
    messages: int = 0  # messages and button taps the person sent that are kept (follow events are not counted)
    messages_since: datetime | None = None  # the oldest kept conversation message (either direction)
    attachments: int = 0
    attachments_since: datetime | None = None
    profile_name: bool = False  # the LINE display name is stored
    erased_at: datetime | None = None  # the last erasure the person asked for
    # Tickets the person opened (complaints, help requests, case reports, …); None: not counted here.
    tickets: int | None = None

    def consent(self, purpose: str) -> ConsentStatus:
        for status in self.consents:
            if status.purpose == purpose:
                return status
        return ConsentStatus(purpose, ConsentState.unknown.value)


@dataclass(frozen=True)
class Erased:
    messages: int
    attachments: int
    inbox_payloads: int
    outbox_rows: int
    tickets: int = 0


def summary(*, db_session: Session, line_user_id: str) -> StoredData:
    """Counts, dates and consents stored for this LINE user (a few indexed queries)."""
    user = get_by_line_id(db_session=db_session, line_user_id=line_user_id)
    if user is None:
        return StoredData(consents=tuple(ConsentStatus(p.value, ConsentState.unknown.value) for p in ConsentPurpose))
    latest: dict[str, ConsentRecord] = {}
    for record in db_session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user.id).order_by(ConsentRecord.id.desc())
    ):
        latest.setdefault(ConsentPurpose(record.purpose).value, record)
    current = {ConsentPurpose.general: user.consent_state, ConsentPurpose.sensitive: user.sensitive_consent_state}
    consents = tuple(
        ConsentStatus(
            purpose.value,
            ConsentState(current[purpose]).value,
            latest[purpose.value].notice_version if purpose.value in latest else None,
            latest[purpose.value].recorded_at if purpose.value in latest else None,
        )
        for purpose in ConsentPurpose
    )
    inbound = db_session.execute(
        select(func.count(ConversationMessage.id)).where(
            ConversationMessage.line_user_id == line_user_id,
            ConversationMessage.direction == Direction.inbound,
            ConversationMessage.kind != "follow",
        )
    ).scalar_one()
    oldest_message = db_session.execute(
        select(func.min(ConversationMessage.created_at)).where(ConversationMessage.line_user_id == line_user_id)
    ).scalar_one()
    attachment_count, oldest_attachment = db_session.execute(
        select(func.count(Attachment.id), func.min(Attachment.created_at)).where(
            Attachment.line_user_id == line_user_id
        )
    ).one()
    erased_at = db_session.execute(
        select(func.max(ErasureRecord.erased_at)).where(ErasureRecord.user_id == user.id)
    ).scalar_one()
    return StoredData(
        consents=consents,
        messages=int(inbound),
        messages_since=_aware(oldest_message),
        attachments=int(attachment_count),
        attachments_since=_aware(oldest_attachment),
        profile_name=user.display_name is not None,
        erased_at=_aware(erased_at),
        tickets=count_citizen_tickets(db_session=db_session, line_user_id=line_user_id),
    )


def erase(*, db_session: Session, line_user_id: str, notice_version: str) -> Erased:
    """Erase what is stored about this person, in the caller's transaction; keep the proof of it.

    Kept: the user row (LINE ID, follow state: needed to honour the decision and never to push to someone
    who blocked us), the consent history plus a `withdrawn` entry per purpose, an erasure record, the
    processed-event ledger (IDs only, for exactly-once) and outbox rows not yet sent (deleted once sent,
    with the ledger). The dialogue state row is deleted too.
    """
    # Tickets stay for statistics without the person's identity, contact or words (before the attachments go).
    tickets = erase_citizen(db_session=db_session, line_user_id=line_user_id)
    messages = _rowcount(
        db_session.execute(delete(ConversationMessage).where(ConversationMessage.line_user_id == line_user_id))
    )
    attachments = _rowcount(db_session.execute(delete(Attachment).where(Attachment.line_user_id == line_user_id)))
    # Events still waiting in the embedded inbox are later messages of this person: processed normally.
    payloads = _rowcount(
        db_session.execute(
            update(InboxEvent).where(InboxEvent.user_key == line_user_id, InboxEvent.done.is_(True)).values(payload={})
        )
    )
    outbox_rows = _rowcount(
        db_session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.line_user_id == line_user_id,
                OutboxMessage.status.in_((OutboxStatus.sent, OutboxStatus.failed)),
            )
        )
    )
    dialogue.forget(db_session=db_session, line_user_id=line_user_id)
    user = get_by_line_id(db_session=db_session, line_user_id=line_user_id)
    if user is not None:
        user.display_name = None
        user.language = None
        for purpose in ConsentPurpose:
            set_consent(
                db_session=db_session,
                user=user,
                state=ConsentState.withdrawn,
                notice_version=notice_version,
                purpose=purpose,
            )
        db_session.add(ErasureRecord(user_id=user.id, erased_at=utcnow(), messages=messages, attachments=attachments))
    return Erased(messages, attachments, payloads, outbox_rows, tickets)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite (naive strings or datetimes): make them UTC-aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
