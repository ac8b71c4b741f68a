"""Tickets: the model, its event log, ID allocation and the service functions every caller uses.

Design: docs/tickets.md. Every function is keyword-only with the session first; every officer read takes a
`Scope` and filters in SQL, so a ticket of another province does not exist for the caller (None / not found).
The ticket row is the projection of its append-only event log: every change writes a `TicketEvent` too.

Offices are seeded by the migration that creates them (a frozen copy of geothai's 77 provinces: a migration's
result must not change when a package is upgraded; `tests/test_tickets.py` checks the seed against geothai).
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Enum,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    and_,
    case,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from storage import content as neutral
from storage import officers, outbox, sla
from storage.base import Base, UtcDateTime, utcnow

BANGKOK = timezone(timedelta(hours=7))


class Kind(enum.StrEnum):
    complaint = "complaint"
    help_request = "help_request"
    case_report = "case_report"
    emergency = "emergency"
    handoff = "handoff"


class Status(enum.StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    waiting_citizen = "waiting_citizen"
    resolved = "resolved"
    closed = "closed"


class Urgency(enum.StrEnum):
    normal = "normal"
    urgent = "urgent"


class Visibility(enum.StrEnum):
    public = "public"
    internal = "internal"


class TransferStatus(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    expired = "expired"


class ReferralStatus(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    done_successful = "done_successful"
    done_unsuccessful = "done_unsuccessful"
    revoked = "revoked"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.new: frozenset({Status.acknowledged, Status.in_progress, Status.closed}),
    Status.acknowledged: frozenset({Status.in_progress, Status.waiting_citizen, Status.resolved, Status.closed}),
    Status.in_progress: frozenset({Status.waiting_citizen, Status.resolved, Status.closed}),
    Status.waiting_citizen: frozenset({Status.in_progress, Status.resolved, Status.closed}),
    Status.resolved: frozenset({Status.closed, Status.in_progress}),
    Status.closed: frozenset(),
}
OPEN_STATUSES = (Status.new, Status.acknowledged, Status.in_progress, Status.waiting_citizen)

REFERRAL_TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.requested: frozenset({ReferralStatus.accepted, ReferralStatus.rejected, ReferralStatus.revoked}),
    ReferralStatus.accepted: frozenset(
        {ReferralStatus.done_successful, ReferralStatus.done_unsuccessful, ReferralStatus.revoked}
    ),
    ReferralStatus.rejected: frozenset(),
    ReferralStatus.done_successful: frozenset(),
    ReferralStatus.done_unsuccessful: frozenset(),
    ReferralStatus.revoked: frozenset(),
}

# Status names as a citizen reads them (TicketView.last_public_update); the console may show its own.
STATUS_TH: dict[str, str] = {
    "new": "ได้รับเรื่องแล้ว รอเจ้าหน้าที่",
    "acknowledged": "เจ้าหน้าที่รับเรื่องแล้ว",
    "in_progress": "กำลังดำเนินการ",
    "waiting_citizen": "รอข้อมูลเพิ่มเติมจากคุณ",
    "resolved": "ดำเนินการเสร็จแล้ว",
    "closed": "ปิดเรื่องแล้ว",
}

ERASED_SUMMARY = "[ลบข้อมูลส่วนบุคคลตามคำขอของเจ้าของข้อมูล]"
DEFAULT_TRANSFER_WINDOW = timedelta(days=1)


def _enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    return Enum(cls, native_enum=False, length=length)


# --- errors ---------------------------------------------------------------------------------------------


class TicketError(Exception):
    """Something asked of a ticket that cannot be done (the API answers 409 unless a subclass says otherwise)."""


class TicketNotFound(TicketError, LookupError):
    """No such ticket (or transfer, referral) for this caller: outside the scope it does not exist (404)."""


class NotAllowed(TicketError, PermissionError):
    """The caller sees the ticket but may not do this (403): a collaborator writing, the requester accepting."""


class TransitionNotAllowed(TicketError):
    """The status machine does not allow this change (409)."""

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"status {current} cannot change to {wanted}")
        self.current = current
        self.wanted = wanted


class ReferralBasisRequired(TicketError, ValueError):
    """A referral needs the person's consent or a recorded legal basis (422)."""


# --- models ---------------------------------------------------------------------------------------------


class Office(Base):
    """A provincial office (พมจ.), keyed by geothai's 2-digit province code."""

    __tablename__ = "offices"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(100), unique=True)


class TicketSequence(Base):
    """The last number given out per Buddhist-era year; its row is locked while a number is allocated."""

    __tablename__ = "ticket_sequences"

    year_be: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[Kind] = mapped_column(_enum(Kind), index=True)
    status: Mapped[Status] = mapped_column(_enum(Status), index=True)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency, 8))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("offices.province_code"), index=True)
    line_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    phone_encrypted: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    # The officer holding it (storage/officers.py's officers.id; no foreign key so the two rooms migrate apart).
    assignee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sla_paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # SLA jobs (storage/sla_jobs.py): a pending reminder's time (NULL once sent) and when a breach was recorded.
    first_response_remind_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    resolution_remind_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    handoff_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    office: Mapped[Office | None] = relationship(lazy="selectin")

    @property
    def province_name(self) -> str | None:
        """The official Thai name (the API's "province"); None for the central queue."""
        return self.office.name_th if self.office is not None else None

    @property
    def due_at(self) -> datetime | None:
        """The next deadline (the API's "due_at"): the first response until there is one, then the resolution."""
        if self.status in (Status.resolved, Status.closed):
            return None
        if self.first_response_at is None and self.first_response_due_at is not None:
            return self.first_response_due_at
        return self.resolution_due_at


class TicketEvent(Base):
    """One entry of a ticket's history (append-only)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))  # citizen, bot, system, officer:<username>
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, 8))
    notify_citizen: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True)


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_province: Mapped[str | None] = mapped_column(ForeignKey("offices.province_code"))
    to_province: Mapped[str] = mapped_column(ForeignKey("offices.province_code"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TransferStatus] = mapped_column(_enum(TransferStatus), index=True)
    requested_by: Mapped[int | None] = mapped_column(Integer)  # officers.id
    answered_by: Mapped[int | None] = mapped_column(Integer)
    answer_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    agency: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ReferralStatus] = mapped_column(_enum(ReferralStatus, 20))
    basis: Mapped[str] = mapped_column(String(200))  # "consent" or "legal:<reason>"
    created_by: Mapped[int | None] = mapped_column(Integer)  # officers.id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Collaborator(Base):
    """An office invited to read a ticket and write internal notes on it."""

    __tablename__ = "collaborators"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("offices.province_code"), primary_key=True, index=True)
    invited_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# --- scope ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Who reads: an admin sees everything (and the central queue); others their provinces' tickets, those
    their province collaborates on, and those a transfer to their province waits on (to decide it)."""

    officer_id: int | None
    role: str  # officer | supervisor | admin
    provinces: frozenset[str] = frozenset()  # province codes

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def admin(cls, officer_id: int | None = None) -> Scope:
        return cls(officer_id, "admin", frozenset())

    def owns(self, ticket: Ticket) -> bool:
        """May work the ticket (status, assignee, public messages, transfers, referrals)."""
        return self.is_admin or (ticket.province_code is not None and ticket.province_code in self.provinces)


def _visible(scope: Scope) -> ColumnElement[bool]:
    if scope.is_admin:
        return Ticket.id.is_not(None)
    if not scope.provinces:
        return false()
    provinces = sorted(scope.provinces)
    return or_(
        Ticket.province_code.in_(provinces),
        Ticket.id.in_(select(Collaborator.ticket_id).where(Collaborator.province_code.in_(provinces))),
        Ticket.id.in_(
            select(Transfer.ticket_id).where(
                Transfer.to_province.in_(provinces), Transfer.status == TransferStatus.requested
            )
        ),
    )


# --- phones ---------------------------------------------------------------------------------------------


def phone_cipher(secret_key: str) -> Fernet:
    """The Fernet key for phone numbers, derived from SECRET_KEY (given by the caller: storage reads no settings)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"helpdesk/ticket-phone/v1")
    return Fernet(base64.urlsafe_b64encode(derived.derive(secret_key.encode())))


def mask_phone(digits: str) -> str:
    """Digits "0812345678" become "08x-xxx-5678": enough for the person to recognise, not to call."""
    digits = "".join(c for c in digits if c.isdigit())
    if len(digits) < 7:
        return "x" * len(digits)
    middle = "x" * (len(digits) - 6)
    return f"{digits[:2]}{middle[:1]}-{middle[1:]}-{digits[-4:]}" if len(middle) > 1 else f"{digits[:2]}x-{digits[-4:]}"


def reveal_phone(ticket: Ticket, secret_key: str) -> str | None:
    """The phone number in clear (the caller writes the `phone.reveal` audit entry)."""
    if ticket.phone_encrypted is None:
        return None
    try:
        return phone_cipher(secret_key).decrypt(ticket.phone_encrypted.encode()).decode()
    except InvalidToken:
        return None


# --- ID allocation ----------------------------------------------------------------------------------------


def year_be(now: datetime) -> int:
    return now.astimezone(BANGKOK).year + 543


def allocate_id(*, db_session: Session, now: datetime) -> str:
    """The next `PM-<BE year>-<6 digits>`, in the caller's transaction.

    One statement, `INSERT … ON CONFLICT (year_be) DO UPDATE SET last_value = last_value + 1 RETURNING`: the
    sequence row stays locked (PostgreSQL row lock; SQLite's write lock) until the caller commits, so
    concurrent creators queue behind it, and a rolled-back ticket gives its number back: no gap, no duplicate.
    """
    year = year_be(now)
    insert: Any
    if db_session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(TicketSequence)
        .values(year_be=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[TicketSequence.year_be], set_={"last_value": TicketSequence.last_value + 1}
        )
        .returning(TicketSequence.last_value)
    )
    number = int(db_session.execute(statement).scalar_one())
    return f"PM-{year}-{number:06d}"


# --- offices ------------------------------------------------------------------------------------------------


def office_code(*, db_session: Session, province: str | None) -> str | None:
    """A province code from a code or an official Thai name; None when unknown (the central queue)."""
    if not province:
        return None
    province = province.strip()
    row = db_session.scalars(
        select(Office.province_code).where(or_(Office.province_code == province, Office.name_th == province))
    ).first()
    return row


def offices(*, db_session: Session) -> list[Office]:
    return list(db_session.scalars(select(Office).order_by(Office.province_code)))


# --- events ---------------------------------------------------------------------------------------------


def _event(
    db_session: Session,
    ticket: Ticket,
    type_: str,
    *,
    actor: str,
    now: datetime,
    visibility: Visibility = Visibility.internal,
    notify_citizen: bool = False,
    notify_staff: bool = False,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        type=type_,
        at=now,
        actor=actor,
        visibility=visibility,
        notify_citizen=notify_citizen,
        notify_staff=notify_staff,
        data=data or {},
    )
    db_session.add(event)
    ticket.updated_at = now
    return event


def add_event(
    *,
    db_session: Session,
    ticket_id: str,
    type: str,
    actor: str,
    visibility: str = "internal",
    notify_citizen: bool = False,
    notify_staff: bool = False,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    """Append an event to a ticket's history (SLA jobs, the bot); no scope: trusted callers only."""
    ticket = db_session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return _event(
        db_session,
        ticket,
        type,
        actor=actor,
        now=now or utcnow(),
        visibility=Visibility(visibility),
        notify_citizen=notify_citizen,
        notify_staff=notify_staff,
        data=data,
    )


def send_to_citizen(db_session: Session, ticket: Ticket, event: TicketEvent) -> None:
    """THE call site where a public ticket event becomes a message to the citizen: `storage.outbox.send` (an
    outbox row and the transcript, neutral content), pushed by the relay. Only events flagged `notify_citizen`
    (an officer's public message, a status change an officer made), never for an erased or LINE-less ticket."""
    if ticket.line_user_id is None or not event.notify_citizen or event.visibility is not Visibility.public:
        return
    body = citizen_text(ticket, event)
    if body:
        buttons = satisfaction_buttons(ticket.id) if resolved_now(event) else []
        outbox.send(db_session, to=ticket.line_user_id, replies=[neutral.text(body, buttons)], ticket_id=ticket.id)


# After `resolved`: the 1–5 question and "ยังไม่ได้รับการแก้ไข", as postbacks the LINE flow answers
# (handlers/ticket_status.py: `ticket=<ID>&rate=<n>`, `ticket=<ID>&do=reopen`; REOPEN_DAYS there too).
SATISFACTION_QUESTION = (
    "พอใจกับการช่วยเหลือครั้งนี้แค่ไหนคะ (1 น้อยที่สุด – 5 มากที่สุด) ถ้ายังไม่ได้รับการแก้ไข กดปุ่มได้ภายใน 7 วันนะคะ"
)


def resolved_now(event: TicketEvent) -> bool:
    return event.type == "status_changed" and event.data.get("to") == Status.resolved.value


def satisfaction_buttons(ticket_id: str) -> list[neutral.Content]:
    scores = [
        neutral.button(f"{'⭐' * n} {n}", f"ให้คะแนน {n}", data=f"ticket={ticket_id}&rate={n}") for n in range(5, 0, -1)
    ]
    reopen = neutral.button("ยังไม่ได้รับการแก้ไข", "ยังไม่ได้รับการแก้ไข", data=f"ticket={ticket_id}&do=reopen")
    return [*scores, reopen]


def citizen_text(ticket: Ticket, event: TicketEvent) -> str | None:
    """The short Thai push for a public event, with the ticket ID."""
    if event.type == "message":
        return f"ข้อความจากเจ้าหน้าที่ เรื่อง {ticket.id}:\n{event.data.get('text', '')}"
    if event.type == "status_changed":
        wanted = str(event.data.get("to"))
        if event.data.get("reopened"):
            return f"เรื่อง {ticket.id}: เปิดเรื่องอีกครั้ง เจ้าหน้าที่กำลังดำเนินการต่อค่ะ"
        if wanted == Status.resolved.value:
            return f"เรื่อง {ticket.id}: {STATUS_TH[wanted]}ค่ะ\n{SATISFACTION_QUESTION}"
        return f"เรื่อง {ticket.id}: {STATUS_TH.get(wanted, wanted)}ค่ะ"
    return None


# --- opening ----------------------------------------------------------------------------------------------


def open_ticket(
    *,
    db_session: Session,
    kind: str,
    summary: str,
    line_user_id: str | None,
    details: dict[str, Any] | None = None,
    urgency: str = "normal",
    province_code: str | None = None,
    location: dict[str, Any] | None = None,
    phone: str | None = None,
    secret_key: str | None = None,
    contact_consent: bool = False,
    legal_basis: str | None = None,
    attachment_ids: Iterable[int] = (),
    source_event_id: str | None = None,
    actor: str = "citizen",
    first_response_due_at: datetime | None = None,
    resolution_due_at: datetime | None = None,
    sla_policy: sla.SlaPolicy | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A new ticket with the next ID and its `opened` event; the existing one when `source_event_id` was seen.

    Due times: as given, else from `sla_policy` (default: the policy installed at start-up, `sla.installed()`)
    for its kind, urgency and province, from `now`.

    The allocation and the insert run in a savepoint: if a concurrent transaction committed a ticket for the
    same source event first, the savepoint (number included) is rolled back and that ticket is returned.
    """
    now = now or utcnow()
    if source_event_id is not None:
        existing = _by_source_event(db_session, source_event_id)
        if existing is not None:
            return existing
    if phone and not secret_key:
        raise ValueError("a phone number needs the secret key to be stored encrypted")
    encrypted = phone_cipher(secret_key).encrypt(phone.encode()).decode() if phone and secret_key else None
    # A savepoint on PostgreSQL only: pysqlite runs a SAVEPOINT outside its implicit transaction, and RELEASE
    # would then commit the number on its own. SQLite serialises writers anyway (a racing duplicate fails its
    # whole turn, which the queue retries and finds the ticket).
    guard = db_session.begin_nested() if db_session.get_bind().dialect.name == "postgresql" else nullcontext()
    try:
        with guard:
            ticket = Ticket(
                id=allocate_id(db_session=db_session, now=now),
                kind=Kind(kind),
                status=Status.new,
                urgency=Urgency(urgency),
                province_code=province_code,
                line_user_id=line_user_id,
                summary=summary,
                details=dict(details or {}),
                location=location,
                phone_encrypted=encrypted,
                phone_masked=mask_phone(phone) if phone else None,
                contact_consent=contact_consent,
                legal_basis=legal_basis,
                source_event_id=source_event_id,
                created_at=now,
                updated_at=now,
                first_response_due_at=first_response_due_at,
                resolution_due_at=resolution_due_at,
            )
            policy = sla_policy or sla.installed()
            if policy is not None and first_response_due_at is None and resolution_due_at is None:
                sla.set_due_times(ticket, policy, now)
            elif policy is not None:
                sla.set_reminders(ticket, policy)  # due times given by the caller: remind before them
            db_session.add(ticket)
            db_session.flush()
    except IntegrityError:
        if source_event_id is None:
            raise
        existing = _by_source_event(db_session, source_event_id)
        if existing is None:
            raise
        return existing
    for attachment_id in dict.fromkeys(attachment_ids):
        db_session.add(TicketAttachment(ticket_id=ticket.id, attachment_id=attachment_id))
    _event(
        db_session,
        ticket,
        "opened",
        actor=actor,
        now=now,
        visibility=Visibility.public,
        notify_staff=True,
        data={"kind": ticket.kind.value, "urgency": ticket.urgency.value, "province": province_code},
    )
    db_session.flush()
    if ticket.urgency is Urgency.urgent:
        alert_officers(db_session=db_session, ticket=ticket)
    return ticket


def alert_officers(*, db_session: Session, ticket: Ticket) -> int:
    """An urgent ticket reaches its province's officers who linked their LINE account, by push, at once (the
    central queue's, no province known, reaches the administrators); the same outbox as every message, the
    ticket's summary only, never a phone number. Returns how many were alerted."""
    if ticket.province_code is None:
        recipients = officers.admin_alert_recipients(db_session=db_session)
    else:
        recipients = officers.alert_recipients(db_session=db_session, province_code=ticket.province_code)
    if not recipients:
        return 0
    where = ticket.province_name or "ยังไม่ทราบจังหวัด"
    alert = f"🚨 เรื่องด่วน {ticket.id} ({where}): {ticket.summary[:120]}\nเปิดดูในคอนโซลได้เลยค่ะ"
    outbox.send_to_staff(db_session, line_user_ids=recipients, replies=[neutral.text(alert)], ticket_id=ticket.id)
    _event(db_session, ticket, "staff_alerted", actor="system", now=utcnow(), data={"officers": len(recipients)})
    return len(recipients)


def _by_source_event(db_session: Session, source_event_id: str) -> Ticket | None:
    return db_session.scalars(select(Ticket).where(Ticket.source_event_id == source_event_id)).first()


# --- reading ----------------------------------------------------------------------------------------------


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(
        Ticket.status.in_(OPEN_STATUSES),
        or_(
            # IS NOT NULL first: "not overdue" must hold (not be NULL) for a ticket without due times.
            and_(
                Ticket.first_response_at.is_(None),
                Ticket.first_response_due_at.is_not(None),
                Ticket.first_response_due_at < now,
            ),
            and_(Ticket.sla_paused_at.is_(None), Ticket.resolution_due_at.is_not(None), Ticket.resolution_due_at < now),
        ),
    )


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    if ticket.status not in OPEN_STATUSES:
        return False
    if ticket.first_response_at is None and ticket.first_response_due_at and ticket.first_response_due_at < now:
        return True
    return bool(ticket.sla_paused_at is None and ticket.resolution_due_at and ticket.resolution_due_at < now)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    db_session: Session,
    scope: Scope,
    *,
    status: str | Sequence[str] | None,
    kind: str | Sequence[str] | None,
    urgency: str | None,
    province: str | None,
    overdue: bool | None,
    q: str | None,
    now: datetime,
) -> Select[Ticket]:
    query = select(Ticket).where(_visible(scope))
    if status:
        query = query.where(Ticket.status.in_([status] if isinstance(status, str) else list(status)))
    if kind:
        query = query.where(Ticket.kind.in_([kind] if isinstance(kind, str) else list(kind)))
    if urgency:
        query = query.where(Ticket.urgency == Urgency(urgency))
    if province:
        code = office_code(db_session=db_session, province=province)
        query = query.where(Ticket.province_code == code) if code else query.where(false())
    if overdue is not None:
        query = query.where(_overdue(now) if overdue else ~_overdue(now))
    if q and q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        query = query.where(
            or_(
                func.lower(Ticket.id).like(pattern, escape="\\"),
                func.lower(Ticket.summary).like(pattern, escape="\\"),
            )
        )
    return query


def list_tickets(
    *,
    db_session: Session,
    scope: Scope,
    status: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    urgency: str | None = None,
    province: str | None = None,
    overdue: bool | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
    now: datetime | None = None,
) -> tuple[list[Ticket], int]:
    """One page of the tickets the scope sees, urgent and overdue first, then newest (ID breaks ties), and the
    total matching. `province` is a code or an official Thai name; `q` searches the ID and the summary."""
    now = now or utcnow()
    page, page_size = max(1, page), max(1, min(page_size, 200))
    query = _filtered(
        db_session, scope, status=status, kind=kind, urgency=urgency, province=province, overdue=overdue, q=q, now=now
    )
    total = _count(db_session, query)
    ordered = query.order_by(
        case((Ticket.urgency == Urgency.urgent, 0), else_=1),
        case((_overdue(now), 0), else_=1),
        Ticket.created_at.desc(),
        Ticket.id.desc(),
    )
    items = list(db_session.scalars(ordered.offset((page - 1) * page_size).limit(page_size)))
    return items, total


def count_tickets(*, db_session: Session, scope: Scope) -> int:
    """How many tickets the scope sees (the filtered count is `list_tickets`' total)."""
    return _count(db_session, select(Ticket).where(_visible(scope)))


def _count(db_session: Session, query: Select[Ticket]) -> int:
    return int(db_session.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def get_ticket(*, db_session: Session, scope: Scope, ticket_id: str) -> Ticket | None:
    """The ticket if the scope sees it (owner, collaborator, pending transfer's receiver, admin); else None."""
    return db_session.scalars(select(Ticket).where(Ticket.id == ticket_id.strip().upper(), _visible(scope))).first()


def history(*, db_session: Session, ticket: Ticket, include_internal: bool = True) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if not include_internal:
        query = query.where(TicketEvent.visibility == Visibility.public)
    return list(db_session.scalars(query.order_by(TicketEvent.id)))


def attachment_ids(*, db_session: Session, ticket_id: str) -> list[int]:
    return list(
        db_session.scalars(
            select(TicketAttachment.attachment_id)
            .where(TicketAttachment.ticket_id == ticket_id)
            .order_by(TicketAttachment.attachment_id)
        )
    )


def _owned(db_session: Session, scope: Scope, ticket_id: str, *, lock: bool = True) -> Ticket:
    """The ticket for a write by its owner: not visible → TicketNotFound; visible but not owned → NotAllowed."""
    query = select(Ticket).where(Ticket.id == ticket_id.strip().upper(), _visible(scope))
    ticket = db_session.scalars(query.with_for_update(of=Ticket) if lock else query).first()
    if ticket is None:
        raise TicketNotFound(ticket_id)
    if not scope.owns(ticket):
        raise NotAllowed("only the owning office may do this")
    return ticket


# --- working a ticket --------------------------------------------------------------------------------------


def _set_status(db_session: Session, ticket: Ticket, wanted: Status, *, actor: str, now: datetime) -> TicketEvent:
    current = Status(ticket.status)
    if wanted not in TRANSITIONS[current]:
        raise TransitionNotAllowed(current.value, wanted.value)
    data: dict[str, Any] = {"from": current.value, "to": wanted.value}
    clock_events = sla.on_status_change(ticket, wanted.value, now, sla.installed())
    if wanted in (Status.acknowledged, Status.in_progress) and ticket.first_response_at is None:
        ticket.first_response_at = now
    if wanted is Status.waiting_citizen:
        ticket.sla_paused_at = now
    elif current is Status.waiting_citizen and ticket.sla_paused_at is not None:
        data["paused_seconds"] = int((now - ticket.sla_paused_at).total_seconds())
        ticket.sla_paused_at = None
    if wanted is Status.resolved:
        ticket.resolved_at = now
    if current is Status.resolved and wanted is Status.in_progress:
        ticket.resolved_at = None
        data["reopened"] = True
    if wanted is Status.closed:
        ticket.closed_at = now
    ticket.status = wanted
    if wanted not in OPEN_STATUSES:
        _hold_handoff(ticket, now)  # resolved or closed: the chat goes back to the bot
    by_citizen = actor == "citizen"
    record_clock_events(db_session, ticket, clock_events, now=now)
    return _event(
        db_session,
        ticket,
        "status_changed",
        actor=actor,
        now=now,
        visibility=Visibility.public,
        notify_citizen=not by_citizen,
        notify_staff=by_citizen,
        data=data,
    )


def record_clock_events(
    db_session: Session, ticket: Ticket, events: Iterable[sla.ClockEvent], *, now: datetime
) -> None:
    """SLA events (met, paused, resumed, breached, reminder) into the history: internal, by the system."""
    for clock_event in events:
        _event(
            db_session,
            ticket,
            clock_event.type,
            actor="system",
            now=now,
            notify_staff=clock_event.notify_staff,
            data=dict(clock_event.data),
        )


def change_status(
    *, db_session: Session, scope: Scope, ticket_id: str, status: str, actor: str, now: datetime | None = None
) -> Ticket:
    """Move the ticket along the status machine (TransitionNotAllowed otherwise); the citizen is told."""
    now = now or utcnow()
    ticket = _owned(db_session, scope, ticket_id)
    try:
        wanted = Status(status)
    except ValueError:
        raise TransitionNotAllowed(ticket.status.value, status) from None
    event = _set_status(db_session, ticket, wanted, actor=actor, now=now)
    send_to_citizen(db_session, ticket, event)
    return ticket


HANDOFF_HOLD = timedelta(minutes=30)  # an officer's hold on a live chat; each message renews it


def held_handoff(*, db_session: Session, line_user_id: str, now: datetime) -> Ticket | None:
    """The person's open handoff that an officer holds: assigned, and the hold not run out (the bot then stops
    answering and the person's messages go into the ticket). A lapsed hold hands the chat back to the bot."""
    row = db_session.scalars(
        select(Ticket)
        .where(
            Ticket.line_user_id == line_user_id,
            Ticket.kind == Kind.handoff,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.assignee_id.is_not(None),
            Ticket.handoff_until > now,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    ).first()
    return row


def citizen_ticket(*, db_session: Session, line_user_id: str, ticket_id: str) -> Ticket | None:
    """One of the person's own tickets, or None (anyone else's does not exist for them)."""
    row = db_session.get(Ticket, ticket_id.strip().upper())
    return row if row is not None and row.line_user_id == line_user_id else None


def _hold_handoff(ticket: Ticket, now: datetime) -> None:
    if ticket.kind is Kind.handoff and ticket.assignee_id is not None and ticket.status in OPEN_STATUSES:
        ticket.handoff_until = now + HANDOFF_HOLD
    elif ticket.kind is Kind.handoff:
        ticket.handoff_until = None  # unassigned, resolved or closed: the bot answers again


def assign(
    *,
    db_session: Session,
    scope: Scope,
    ticket_id: str,
    assignee_id: int | None,
    actor: str,
    now: datetime | None = None,
) -> Ticket:
    """Give the ticket to an officer; on a handoff, that officer now holds the live chat."""
    now = now or utcnow()
    ticket = _owned(db_session, scope, ticket_id)
    previous = ticket.assignee_id
    ticket.assignee_id = assignee_id
    _hold_handoff(ticket, now)
    _event(db_session, ticket, "assigned", actor=actor, now=now, data={"from": previous, "to": assignee_id})
    return ticket


def add_public_message(
    *, db_session: Session, scope: Scope, ticket_id: str, text: str, actor: str, now: datetime | None = None
) -> TicketEvent:
    """An officer's message to the citizen: a public event, sent through the outbox (`send_to_citizen`)."""
    now = now or utcnow()
    ticket = _owned(db_session, scope, ticket_id)
    if ticket.status is Status.closed:
        raise TicketError("the ticket is closed")
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    _hold_handoff(ticket, now)  # the officer is still there: the hold renews
    event = _event(
        db_session,
        ticket,
        "message",
        actor=actor,
        now=now,
        visibility=Visibility.public,
        notify_citizen=True,
        data={"text": text},
    )
    db_session.flush()
    send_to_citizen(db_session, ticket, event)
    return event


def add_note(
    *, db_session: Session, scope: Scope, ticket_id: str, text: str, actor: str, now: datetime | None = None
) -> TicketEvent:
    """An internal note (never sent): the owner's and collaborators' alike."""
    now = now or utcnow()
    ticket = get_ticket(db_session=db_session, scope=scope, ticket_id=ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    if not scope.owns(ticket) and not _collaborates(db_session, scope, ticket.id):
        raise NotAllowed("only the owning or a collaborating office may write notes")
    event = _event(db_session, ticket, "note", actor=actor, now=now, data={"text": text})
    db_session.flush()
    return event


def _collaborates(db_session: Session, scope: Scope, ticket_id: str) -> bool:
    if not scope.provinces:
        return False
    found = db_session.scalars(
        select(Collaborator.ticket_id).where(
            Collaborator.ticket_id == ticket_id, Collaborator.province_code.in_(sorted(scope.provinces))
        )
    ).first()
    return found is not None


# --- transfers ------------------------------------------------------------------------------------------


def request_transfer(
    *,
    db_session: Session,
    scope: Scope,
    ticket_id: str,
    to_province: str,
    reason: str,
    actor: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Ask another province to take the ticket; ownership moves only when one of its officers accepts."""
    now = now or utcnow()
    ticket = _owned(db_session, scope, ticket_id)
    code = _other_office(db_session, ticket, to_province, owner_error="the ticket is already there")
    if ticket.status is Status.closed:
        raise TicketError("the ticket is closed")
    pending = db_session.scalars(
        select(Transfer.id).where(Transfer.ticket_id == ticket.id, Transfer.status == TransferStatus.requested)
    ).first()
    if pending is not None:
        raise TicketError("a transfer is already waiting for an answer")
    transfer = Transfer(
        ticket_id=ticket.id,
        from_province=ticket.province_code,
        to_province=code,
        reason=reason,
        status=TransferStatus.requested,
        requested_by=scope.officer_id,
        created_at=now,
        expires_at=expires_at or _transfer_deadline(ticket, code, now),
    )
    db_session.add(transfer)
    db_session.flush()
    _event(
        db_session,
        ticket,
        "transfer_requested",
        actor=actor,
        now=now,
        notify_staff=True,
        data={"transfer_id": transfer.id, "from": ticket.province_code, "to": code, "reason": reason},
    )
    return transfer


def _transfer_deadline(ticket: Ticket, to_province: str, now: datetime) -> datetime:
    """The receiving office's time to accept (knowledge/sla.yaml `transfer_acceptance`, its working days)."""
    policy = sla.installed()
    if policy is None:
        return now + DEFAULT_TRANSFER_WINDOW
    return policy.transfer_expires_at(ticket.kind.value, ticket.urgency.value, now, to_province)


def get_transfer(*, db_session: Session, scope: Scope, transfer_id: int) -> Transfer | None:
    """A transfer the scope may see: its ticket is visible (owner, receiver while pending, admin)."""
    transfer = db_session.get(Transfer, transfer_id)
    if transfer is None:
        return None
    if scope.is_admin or transfer.to_province in scope.provinces or transfer.from_province in scope.provinces:
        return transfer
    return None


def answer_transfer(
    *,
    db_session: Session,
    scope: Scope,
    transfer_id: int,
    accept: bool,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Accept or reject: only an officer of the receiving province, never the requester (NotAllowed)."""
    now = now or utcnow()
    transfer = db_session.scalars(select(Transfer).where(Transfer.id == transfer_id).with_for_update()).first()
    if transfer is None or get_transfer(db_session=db_session, scope=scope, transfer_id=transfer_id) is None:
        raise TicketNotFound(f"transfer {transfer_id}")
    if transfer.to_province not in scope.provinces:
        raise NotAllowed("only an officer of the receiving province may answer a transfer")
    if scope.officer_id is None or scope.officer_id == transfer.requested_by:
        raise NotAllowed("the requester cannot answer their own transfer")
    if transfer.status is not TransferStatus.requested:
        raise TicketError(f"the transfer is already {transfer.status.value}")
    ticket = db_session.get(Ticket, transfer.ticket_id, with_for_update=True)
    assert ticket is not None
    transfer.status = TransferStatus.accepted if accept else TransferStatus.rejected
    transfer.answered_by = scope.officer_id
    transfer.answered_at = now
    transfer.answer_reason = reason
    data: dict[str, Any] = {"transfer_id": transfer.id, "from": transfer.from_province, "to": transfer.to_province}
    if reason:
        data["reason"] = reason
    if accept:
        ticket.province_code = transfer.to_province
        ticket.assignee_id = None
        db_session.flush()
        db_session.expire(ticket, ["office"])
    _event(
        db_session,
        ticket,
        "transfer_accepted" if accept else "transfer_rejected",
        actor=actor,
        now=now,
        notify_staff=True,
        data=data,
    )
    return transfer


def expire_transfers(*, db_session: Session, now: datetime | None = None, limit: int = 100) -> list[Transfer]:
    """Requested transfers past their deadline become `expired` (an event for the administrators).

    Safe with several job runners: rows another runner holds are skipped (`FOR UPDATE SKIP LOCKED`).
    """
    now = now or utcnow()
    due = list(
        db_session.scalars(
            select(Transfer)
            .where(Transfer.status == TransferStatus.requested, Transfer.expires_at <= now)
            .order_by(Transfer.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for transfer in due:
        transfer.status = TransferStatus.expired
        transfer.answered_at = now
        ticket = db_session.get(Ticket, transfer.ticket_id)
        assert ticket is not None
        _event(
            db_session,
            ticket,
            "transfer_expired",
            actor="system",
            now=now,
            notify_staff=True,
            data={"transfer_id": transfer.id, "to": transfer.to_province, "escalated_to": "admin"},
        )
    return due


# --- referrals and collaborators ---------------------------------------------------------------------------


def refer(
    *,
    db_session: Session,
    scope: Scope,
    ticket_id: str,
    agency: str,
    note: str,
    basis: str | None,
    actor: str,
    now: datetime | None = None,
) -> Referral:
    """Refer to another agency (ownership stays): `basis` is "consent" or "legal:<reason>"."""
    now = now or utcnow()
    basis = (basis or "").strip()
    if basis != "consent" and not (basis.startswith("legal:") and basis[len("legal:") :].strip()):
        raise ReferralBasisRequired("a referral needs the person's consent or a recorded legal basis")
    if not agency.strip():
        raise TicketError("the agency is required")
    ticket = _owned(db_session, scope, ticket_id)
    referral = Referral(
        ticket_id=ticket.id,
        agency=agency.strip(),
        note=note,
        status=ReferralStatus.requested,
        basis=basis,
        created_by=scope.officer_id,
        created_at=now,
        updated_at=now,
    )
    db_session.add(referral)
    db_session.flush()
    _event(
        db_session,
        ticket,
        "referral_requested",
        actor=actor,
        now=now,
        data={"referral_id": referral.id, "agency": referral.agency, "basis": basis},
    )
    return referral


def update_referral(
    *,
    db_session: Session,
    scope: Scope,
    referral_id: int,
    status: str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Referral:
    now = now or utcnow()
    referral = db_session.get(Referral, referral_id)
    if referral is None:
        raise TicketNotFound(f"referral {referral_id}")
    ticket = _owned(db_session, scope, referral.ticket_id)
    current = ReferralStatus(referral.status)
    try:
        wanted = ReferralStatus(status)
    except ValueError:
        raise TransitionNotAllowed(current.value, status) from None
    if wanted not in REFERRAL_TRANSITIONS[current]:
        raise TransitionNotAllowed(current.value, wanted.value)
    referral.status = wanted
    referral.updated_at = now
    data: dict[str, Any] = {"referral_id": referral.id, "from": current.value, "to": wanted.value}
    if note:
        data["note"] = note
    _event(db_session, ticket, "referral_updated", actor=actor, now=now, data=data)
    return referral


def _other_office(db_session: Session, ticket: Ticket, province: str, *, owner_error: str) -> str:
    """The code of an office other than the ticket's owner (a transfer's target, a collaborator)."""
    code = office_code(db_session=db_session, province=province)
    if code is None:
        raise TicketError(f"unknown province {province!r}")
    if code == ticket.province_code:
        raise TicketError(owner_error)
    return code


def invite_collaborator(
    *,
    db_session: Session,
    scope: Scope,
    ticket_id: str,
    province: str,
    actor: str,
    now: datetime | None = None,
) -> Collaborator:
    """Give another office read access and internal notes (idempotent)."""
    now = now or utcnow()
    ticket = _owned(db_session, scope, ticket_id)
    code = _other_office(db_session, ticket, province, owner_error="that office owns the ticket")
    existing = db_session.get(Collaborator, (ticket.id, code))
    if existing is not None:
        return existing
    row = Collaborator(ticket_id=ticket.id, province_code=code, invited_by=scope.officer_id, created_at=now)
    db_session.add(row)
    _event(db_session, ticket, "collaborator_invited", actor=actor, now=now, notify_staff=True, data={"province": code})
    db_session.flush()
    return row


# --- the citizen's side -----------------------------------------------------------------------------------


def citizen_tickets(*, db_session: Session, line_user_id: str, limit: int | None = None) -> list[Ticket]:
    """The person's own tickets, newest first."""
    query = (
        select(Ticket).where(Ticket.line_user_id == line_user_id).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db_session.scalars(query))


def count_citizen_tickets(*, db_session: Session, line_user_id: str) -> int:
    return int(
        db_session.execute(select(func.count(Ticket.id)).where(Ticket.line_user_id == line_user_id)).scalar_one()
    )


def citizen_message(
    *,
    db_session: Session,
    ticket: Ticket,
    text: str | None,
    attachment_id: int | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    """The citizen adds information: a public event for the staff; a ticket waiting for them moves on."""
    now = now or utcnow()
    if attachment_id is not None and db_session.get(TicketAttachment, (ticket.id, attachment_id)) is None:
        db_session.add(TicketAttachment(ticket_id=ticket.id, attachment_id=attachment_id))
    data: dict[str, Any] = {}
    if text:
        data["text"] = text
    if attachment_id is not None:
        data["attachment_id"] = attachment_id
    event = _event(
        db_session,
        ticket,
        "citizen_message",
        actor="citizen",
        now=now,
        visibility=Visibility.public,
        notify_staff=True,
        data=data,
    )
    if ticket.status is Status.waiting_citizen:
        _set_status(db_session, ticket, Status.in_progress, actor="citizen", now=now)
    return event


def withdraw(*, db_session: Session, ticket: Ticket, now: datetime | None = None) -> bool:
    """The citizen closes their own ticket (False when it is closed already)."""
    now = now or utcnow()
    if ticket.status is Status.closed:
        return False
    _event(db_session, ticket, "withdrawn", actor="citizen", now=now, visibility=Visibility.public, notify_staff=True)
    _set_status(db_session, ticket, Status.closed, actor="citizen", now=now)
    return True


def citizen_rating(
    *, db_session: Session, ticket: Ticket, score: int, comment: str | None = None, now: datetime | None = None
) -> bool:
    """The citizen's 1–5 satisfaction (and optional comment) after `resolved`; False before it or out of range."""
    now = now or utcnow()
    if ticket.status not in (Status.resolved, Status.closed) or not 1 <= score <= 5:
        return False
    ticket.satisfaction = score
    data: dict[str, Any] = {"score": score}
    if comment:
        data["comment"] = comment
    _event(db_session, ticket, "satisfaction", actor="citizen", now=now, notify_staff=bool(comment), data=data)
    return True


def citizen_reopen(
    *, db_session: Session, ticket: Ticket, window: timedelta, text: str | None = None, now: datetime | None = None
) -> bool:
    """"ยังไม่ได้รับการแก้ไข": a resolved ticket back to in_progress within `window` of its resolution."""
    now = now or utcnow()
    if ticket.status is not Status.resolved or ticket.resolved_at is None or now - ticket.resolved_at > window:
        return False
    _set_status(db_session, ticket, Status.in_progress, actor="citizen", now=now)
    if text:
        _event(
            db_session,
            ticket,
            "citizen_message",
            actor="citizen",
            now=now,
            visibility=Visibility.public,
            notify_staff=True,
            data={"text": text},
        )
    return True


def erase_citizen(*, db_session: Session, line_user_id: str, now: datetime | None = None) -> int:
    """PDPA erasure: identity and contact details leave the person's tickets; kind, province, status, times
    and SLA stay for statistics. Message texts in their history go too. Returns how many tickets."""
    now = now or utcnow()
    ids = list(db_session.scalars(select(Ticket.id).where(Ticket.line_user_id == line_user_id)))
    if not ids:
        return 0
    db_session.execute(delete(TicketAttachment).where(TicketAttachment.ticket_id.in_(ids)))
    # What officers wrote about the person outside the event log (a referral's note, a transfer's reasons).
    db_session.execute(update(Referral).where(Referral.ticket_id.in_(ids)).values(note=""))
    db_session.execute(update(Transfer).where(Transfer.ticket_id.in_(ids)).values(reason="", answer_reason=None))
    for event in db_session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids))):
        if event.data and any(key in event.data for key in ("text", "attachment_id", "reason", "note")):
            event.data = {k: v for k, v in event.data.items() if k not in ("text", "attachment_id", "reason", "note")}
    db_session.execute(
        update(Ticket)
        .where(Ticket.id.in_(ids))
        .values(
            line_user_id=None,
            summary=ERASED_SUMMARY,
            details={},
            location=None,
            phone_encrypted=None,
            phone_masked=None,
            contact_consent=False,
            updated_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    for ticket_id in ids:
        db_session.add(
            TicketEvent(
                ticket_id=ticket_id,
                type="erased",
                at=now,
                actor="citizen",
                visibility=Visibility.internal,
                notify_citizen=False,
                notify_staff=False,
                data={},
            )
        )
    db_session.flush()
    return len(ids)


def last_public_update(*, db_session: Session, ticket: Ticket) -> TicketEvent | None:
    """The latest public event a citizen should read (officer messages and status changes)."""
    return db_session.scalars(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.visibility == Visibility.public,
            TicketEvent.type.in_(("opened", "status_changed", "message")),
        )
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()


def describe_th(event: TicketEvent) -> str:
    """A public event in a line of Thai, for the citizen's status view."""
    if event.type == "message":
        return str(event.data.get("text") or "")
    if event.type == "status_changed":
        return STATUS_TH.get(str(event.data.get("to")), str(event.data.get("to")))
    if event.type == "opened":
        return STATUS_TH["new"]
    return event.type
