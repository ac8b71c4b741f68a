"""Content of images and files citizens send, kept (size-capped) to attach to tickets later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    line_message_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    too_large: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def save(
    *,
    db_session: Session,
    line_user_id: str,
    line_message_id: str,
    kind: str,
    file_name: str | None,
    content_type: str | None,
    content: bytes | None,
    size_bytes: int,
    too_large: bool,
) -> Attachment:
    """Store fetched content once per LINE message (a retried event finds the earlier row)."""
    existing = db_session.scalars(select(Attachment).where(Attachment.line_message_id == line_message_id)).first()
    if existing is not None:
        return existing
    row = Attachment(
        line_user_id=line_user_id,
        line_message_id=line_message_id,
        kind=kind,
        file_name=file_name,
        content_type=content_type,
        content=None if too_large else content,
        size_bytes=size_bytes,
        too_large=too_large,
        created_at=utcnow(),
    )
    db_session.add(row)
    db_session.flush()
    return row
