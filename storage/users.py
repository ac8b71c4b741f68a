"""LINE users: who wrote to us, their profile, follow state and PDPA consent per purpose.

Consent is asked per purpose: `general` (using the service: keeping the conversation to answer and route it)
and `sensitive` (health and disability data, PDPA s.26). Every decision is appended to `consent_records`
(the proof); the user row caches the current state of each purpose, so a turn, which loads the user row
anyway, knows both without another query.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow


class ConsentState(enum.StrEnum):
    unknown = "unknown"
    given = "given"
    declined = "declined"
    withdrawn = "withdrawn"


class ConsentPurpose(enum.StrEnum):
    general = "general"
    sensitive = "sensitive"


class LineUser(Base):
    __tablename__ = "line_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    consent_state: Mapped[ConsentState] = mapped_column(
        Enum(ConsentState, native_enum=False, length=16), default=ConsentState.unknown
    )
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The current state for the sensitive purpose (the columns above are the general purpose's).
    sensitive_consent_state: Mapped[ConsentState] = mapped_column(
        Enum(ConsentState, native_enum=False, length=16), default=ConsentState.unknown, server_default="unknown"
    )
    is_following: Mapped[bool] = mapped_column(Boolean, default=True)
    followed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unfollowed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    profile_fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ConsentRecord(Base):
    """Append-only log of every consent decision (PDPA: consent must be provable)."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(
        Enum(ConsentPurpose, native_enum=False, length=16), default=ConsentPurpose.general, server_default="general"
    )
    state: Mapped[ConsentState] = mapped_column(Enum(ConsentState, native_enum=False, length=16))
    notice_version: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def get_by_line_id(*, db_session: Session, line_user_id: str) -> LineUser | None:
    """The user with this LINE user ID, if we have seen them."""
    return db_session.scalars(select(LineUser).where(LineUser.line_user_id == line_user_id)).first()


def get_or_create(*, db_session: Session, line_user_id: str) -> tuple[LineUser, bool]:
    """The user row for a LINE user ID, created on first contact; True when it is new."""
    user = get_by_line_id(db_session=db_session, line_user_id=line_user_id)
    if user is not None:
        return user, False
    user = LineUser(
        line_user_id=line_user_id,
        consent_state=ConsentState.unknown,
        sensitive_consent_state=ConsentState.unknown,
        is_following=True,
    )
    db_session.add(user)
    db_session.flush()
    return user, True


def record_profile(*, db_session: Session, user: LineUser, display_name: str | None, language: str | None) -> None:
    """Store what the profile API told us; after a decline only when we asked (the name is not kept)."""
    keep = keeps_content(user)
    user.display_name = display_name if keep else None
    user.language = language if keep else None
    user.profile_fetched_at = utcnow()


def mark_followed(*, db_session: Session, user: LineUser) -> None:
    user.is_following = True
    user.followed_at = utcnow()


def mark_unfollowed(*, db_session: Session, user: LineUser) -> None:
    """The user blocked or unfollowed the account: we must not push to them."""
    user.is_following = False
    user.unfollowed_at = utcnow()


def keeps_content(user: LineUser) -> bool:
    """False once the person declined or withdrew general consent: their messages, attachments and profile
    name are then not stored (the service still answers)."""
    return user.consent_state not in (ConsentState.declined, ConsentState.withdrawn)


def set_consent(
    *,
    db_session: Session,
    user: LineUser,
    state: ConsentState,
    notice_version: str,
    purpose: ConsentPurpose = ConsentPurpose.general,
) -> None:
    """Change the consent state of one purpose and log the decision (append-only).

    Declining or withdrawing the general purpose also forgets the LINE profile name and language.
    """
    now = utcnow()
    if purpose is ConsentPurpose.sensitive:
        user.sensitive_consent_state = state
    else:
        user.consent_state = state
        user.consent_version = notice_version
        user.consent_updated_at = now
        if state in (ConsentState.declined, ConsentState.withdrawn):
            user.display_name = None
            user.language = None
    db_session.add(
        ConsentRecord(user_id=user.id, purpose=purpose, state=state, notice_version=notice_version, recorded_at=now)
    )
