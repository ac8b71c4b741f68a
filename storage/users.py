"""LINE users: who wrote to us, their profile, follow state and PDPA consent."""

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
    user = LineUser(line_user_id=line_user_id, consent_state=ConsentState.unknown, is_following=True)
    db_session.add(user)
    db_session.flush()
    return user, True


def record_profile(*, db_session: Session, user: LineUser, display_name: str | None, language: str | None) -> None:
    """Store what the profile API told us."""
    user.display_name = display_name
    user.language = language
    user.profile_fetched_at = utcnow()


def mark_followed(*, db_session: Session, user: LineUser) -> None:
    user.is_following = True
    user.followed_at = utcnow()


def mark_unfollowed(*, db_session: Session, user: LineUser) -> None:
    """The user blocked or unfollowed the account: we must not push to them."""
    user.is_following = False
    user.unfollowed_at = utcnow()


def set_consent(*, db_session: Session, user: LineUser, state: ConsentState, notice_version: str) -> None:
    """Change the consent state and log the decision."""
    now = utcnow()
    user.consent_state = state
    user.consent_version = notice_version
    user.consent_updated_at = now
    db_session.add(ConsentRecord(user_id=user.id, state=state, notice_version=notice_version, recorded_at=now))
