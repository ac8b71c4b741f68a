"""Officers of the provincial offices, their provinces, password hashes, sign-in lockout and the audit log.

Passwords are kept only as argon2id hashes (argon2-cffi's defaults, RFC 9106 low-memory profile); a hash made
with older parameters is upgraded at the next good sign-in. Repeated failed sign-ins lock the account for a
while: `MAX_FAILED_LOGINS` failures in a row set `locked_until`, and while it lies ahead even the right
password is refused (the caller cannot tell a locked account from a wrong password, and a guesser gains
nothing). An unknown username costs the same hash verification as a known one, so the answer's timing does not
tell which usernames exist.

The audit log records every officer read of a ticket's personal data (and other sensitive actions) with the
officer, the action, the ticket and the time; `detail` never holds personal data (filters, counts, field names).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8


class OfficerRole(enum.StrEnum):
    officer = "officer"
    supervisor = "supervisor"
    admin = "admin"


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[OfficerRole] = mapped_column(Enum(OfficerRole, native_enum=False, length=16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # The officer's own LINE account, for urgent alerts of their province by push.
    line_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OfficerProvince(Base):
    """The provinces an officer works for (geothai's 2-digit province code)."""

    __tablename__ = "officer_provinces"

    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class AuditEntry(Base):
    """Append-only: who read or did what to which ticket, when. No personal data in `detail`."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OfficerError(ValueError):
    """An officer cannot be created as asked; the message says why, in plain words."""


@dataclass(frozen=True)
class OfficerIdentity:
    """What a request knows about the signed-in officer: enough to build a ticket Scope."""

    id: int
    username: str
    role: OfficerRole
    provinces: frozenset[str]

    @property
    def actor(self) -> str:
        """The actor string written into ticket events."""
        return f"officer:{self.username}"


class SignIn(enum.StrEnum):
    ok = "ok"
    bad_credentials = "bad_credentials"
    locked = "locked"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    officer: OfficerIdentity | None = None
    locked_until: datetime | None = None


# --- passwords ------------------------------------------------------------------------------------------


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password anyone has")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- provinces ------------------------------------------------------------------------------------------


@cache
def _provinces() -> dict[str, str]:
    """geothai's province code → official Thai name, for all 77."""
    import geothai

    return {p.code: p.name_th for p in geothai.provinces()}


def province_code(name_th: str) -> str | None:
    """The 2-digit province code of an official Thai province name."""
    for code, name in _provinces().items():
        if name == name_th:
            return code
    return None


def province_name(code: str) -> str | None:
    """The official Thai name of a province code."""
    return _provinces().get(code)


# --- officers -------------------------------------------------------------------------------------------


def create_officer(
    *,
    db_session: Session,
    username: str,
    password: str,
    role: OfficerRole,
    province_codes: list[str],
    display_name: str | None = None,
    line_user_id: str | None = None,
) -> Officer:
    """A new active officer; raises OfficerError (with a clear message) for anything that cannot be."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise OfficerError("the username must be 1 to 64 characters without spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OfficerError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    unknown = [c for c in province_codes if c not in _provinces()]
    if unknown:
        raise OfficerError(f"unknown province codes: {', '.join(unknown)}")
    if role is not OfficerRole.admin and not province_codes:
        raise OfficerError(f"an {role.value} needs a province (--province); only an admin works without one")
    if db_session.scalars(select(Officer.id).where(Officer.username == username)).first() is not None:
        raise OfficerError(f"an officer named {username!r} already exists")
    if (
        line_user_id
        and db_session.scalars(select(Officer.id).where(Officer.line_user_id == line_user_id)).first() is not None
    ):
        raise OfficerError("that LINE user ID is already linked to another officer")
    officer = Officer(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        line_user_id=line_user_id or None,
        active=True,
        failed_logins=0,
    )
    db_session.add(officer)
    try:
        db_session.flush()
    except IntegrityError as exc:  # a concurrent creation of the same name
        raise OfficerError(f"an officer named {username!r} already exists") from exc
    for code in dict.fromkeys(province_codes):
        db_session.add(OfficerProvince(officer_id=officer.id, province_code=code))
    db_session.flush()
    return officer


def provinces_of(*, db_session: Session, officer_id: int) -> frozenset[str]:
    rows = db_session.scalars(select(OfficerProvince.province_code).where(OfficerProvince.officer_id == officer_id))
    return frozenset(rows)


def identity(*, db_session: Session, officer_id: int) -> OfficerIdentity | None:
    """The active officer with this ID (None when absent or deactivated): checked on every request, so a
    deactivated officer's unexpired token stops working at once."""
    officer = db_session.get(Officer, officer_id)
    if officer is None or not officer.active:
        return None
    return _identity(db_session, officer)


def _identity(db_session: Session, officer: Officer) -> OfficerIdentity:
    return OfficerIdentity(
        id=officer.id,
        username=officer.username,
        role=officer.role,
        provinces=provinces_of(db_session=db_session, officer_id=officer.id),
    )


def get_by_username(*, db_session: Session, username: str) -> Officer | None:
    return db_session.scalars(select(Officer).where(Officer.username == username)).first()


def authenticate(*, db_session: Session, username: str, password: str, now: datetime | None = None) -> SignInResult:
    """Check a sign-in and count failures; the caller must commit the session whatever the outcome."""
    now = now or utcnow()
    officer = db_session.scalars(select(Officer).where(Officer.username == username).with_for_update()).first()
    if officer is None or not officer.active:
        verify_password(_dummy_hash(), password)  # same cost as a real check
        return SignInResult(SignIn.bad_credentials)
    if officer.locked_until is not None and officer.locked_until > now:
        verify_password(_dummy_hash(), password)
        return SignInResult(SignIn.locked, locked_until=officer.locked_until)
    if not verify_password(officer.password_hash, password):
        officer.failed_logins = (officer.failed_logins or 0) + 1
        if officer.failed_logins >= MAX_FAILED_LOGINS:
            officer.locked_until = now + LOCKOUT
            officer.failed_logins = 0
            return SignInResult(SignIn.locked, locked_until=officer.locked_until)
        return SignInResult(SignIn.bad_credentials)
    officer.failed_logins = 0
    officer.locked_until = None
    if _hasher().check_needs_rehash(officer.password_hash):
        officer.password_hash = hash_password(password)
    return SignInResult(SignIn.ok, officer=_identity(db_session, officer))


def set_password(*, db_session: Session, username: str, password: str) -> None:
    officer = get_by_username(db_session=db_session, username=username)
    if officer is None:
        raise OfficerError(f"no officer named {username!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OfficerError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    officer.password_hash = hash_password(password)
    officer.failed_logins = 0
    officer.locked_until = None


def usernames(*, db_session: Session, officer_ids: list[int]) -> dict[int, str]:
    """Officer id → username, for the ids given (assignees, requesters)."""
    wanted = sorted({i for i in officer_ids if i is not None})
    if not wanted:
        return {}
    rows = db_session.execute(select(Officer.id, Officer.username).where(Officer.id.in_(wanted)))
    return {row.id: row.username for row in rows}


def assignable(*, db_session: Session, username: str, province_code: str | None) -> int:
    """The id of the active officer `username` who may hold a ticket of this province (an officer or supervisor
    of it, or an admin); raises OfficerError saying why not."""
    officer = get_by_username(db_session=db_session, username=username)
    if officer is None or not officer.active:
        raise OfficerError(f"no active officer named {username!r}")
    if officer.role is OfficerRole.admin:
        return officer.id
    if province_code is None or province_code not in provinces_of(db_session=db_session, officer_id=officer.id):
        raise OfficerError(f"{username} does not work for this ticket's province")
    return officer.id


def alert_recipients(*, db_session: Session, province_code: str) -> list[str]:
    """LINE user IDs of the active officers of a province who linked their LINE account (urgent alerts)."""
    rows = db_session.scalars(
        select(Officer.line_user_id)
        .join(OfficerProvince, OfficerProvince.officer_id == Officer.id)
        .where(
            OfficerProvince.province_code == province_code,
            Officer.active.is_(True),
            Officer.line_user_id.is_not(None),
        )
        .order_by(Officer.id)
    )
    return [r for r in rows if r]


def admin_alert_recipients(*, db_session: Session) -> list[str]:
    """LINE user IDs of the active administrators who linked their LINE account: the central queue's alerts."""
    rows = db_session.scalars(
        select(Officer.line_user_id)
        .where(Officer.role == OfficerRole.admin, Officer.active.is_(True), Officer.line_user_id.is_not(None))
        .order_by(Officer.id)
    )
    return [r for r in rows if r]


# --- audit ----------------------------------------------------------------------------------------------


def audit(
    *,
    db_session: Session,
    officer_id: int | None,
    action: str,
    ticket_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry (in the caller's transaction: the read and its record commit together)."""
    db_session.add(AuditEntry(officer_id=officer_id, action=action, ticket_id=ticket_id, detail=detail or {}))


def audit_entries(*, db_session: Session, ticket_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if ticket_id is not None:
        query = query.where(AuditEntry.ticket_id == ticket_id)
    return list(db_session.scalars(query))
