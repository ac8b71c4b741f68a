"""Conversation messages in both directions (where the conversation stands is in storage/dialogue.py)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Integer, String, Text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow


class Direction(enum.StrEnum):
    inbound = "in"
    outbound = "out"


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[Direction] = mapped_column(Enum(Direction, native_enum=False, length=8))
    kind: Mapped[str] = mapped_column(String(24))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    webhook_event_id: Mapped[str | None] = mapped_column(String(64), index=True)
    line_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    intent: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def add_message(
    *,
    db_session: Session,
    line_user_id: str,
    direction: Direction,
    kind: str,
    text: str | None = None,
    payload: dict[str, Any] | None = None,
    webhook_event_id: str | None = None,
    line_message_id: str | None = None,
    intent: str | None = None,
) -> ConversationMessage:
    message = ConversationMessage(
        line_user_id=line_user_id,
        direction=direction,
        kind=kind,
        text=text,
        payload=payload,
        webhook_event_id=webhook_event_id,
        line_message_id=line_message_id,
        intent=intent,
        created_at=utcnow(),
    )
    db_session.add(message)
    return message


def forget_unsent(*, db_session: Session, line_user_id: str, line_message_id: str) -> int:
    """The user unsent a message: keep that it existed, drop what it said."""
    result = db_session.execute(
        update(ConversationMessage)
        .where(
            ConversationMessage.line_user_id == line_user_id,
            ConversationMessage.line_message_id == line_message_id,
        )
        .values(text=None, payload={"unsent": True})
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
