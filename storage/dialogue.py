"""Where each person's conversation stands (the form in progress, the slot just asked, the topic, an emergency
context), one JSON row per person, written in the turn's own transaction: a step is never lost or replayed
apart from the turn's other effects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base, UtcDateTime, utcnow


class DialogueStateRow(Base):
    __tablename__ = "dialogue_states"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def load(*, db_session: Session, line_user_id: str) -> dict[str, Any] | None:
    """The stored state, or None when the person has none."""
    return db_session.execute(
        select(DialogueStateRow.state).where(DialogueStateRow.line_user_id == line_user_id)
    ).scalar_one_or_none()


def save(*, db_session: Session, line_user_id: str, state: dict[str, Any] | None) -> None:
    """Replace the person's state in this transaction; an empty state removes the row."""
    row = db_session.get(DialogueStateRow, line_user_id)
    if not state:
        if row is not None:
            db_session.delete(row)
        return
    if row is None:
        db_session.add(DialogueStateRow(line_user_id=line_user_id, state=state, updated_at=utcnow()))
    else:
        row.state = state
        row.updated_at = utcnow()


def forget(*, db_session: Session, line_user_id: str) -> None:
    db_session.execute(delete(DialogueStateRow).where(DialogueStateRow.line_user_id == line_user_id))


def forget_idle(*, db_session: Session, age: timedelta) -> int:
    """Drop the states of people who have not written for `age` (PDPA: kept no longer than the service needs)."""
    result = db_session.execute(delete(DialogueStateRow).where(DialogueStateRow.updated_at < utcnow() - age))
    return int(result.rowcount)  # type: ignore[attr-defined]
