"""Applying a handler's outcome, in one place and inside the turn's transaction: its effects (consent,
erasure), the dialogue state, and the replies as outbox rows with their transcript."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.line import render
from bot.line.events import Inbound
from bot.line.turns import reply_deadline
from bot.sender import FRESH_CLAIM
from handlers.base import DialogueState, EraseMyData, Outcome, RecordConsent, Reply
from knowledge.loader import Knowledge
from storage import conversations, dialogue, outbox, privacy, users
from storage.conversations import Direction
from storage.outbox import OutboxMessage
from storage.users import ConsentPurpose, ConsentState


def apply_outcome(
    db_session: Session,
    *,
    user: users.LineUser,
    inbound: Inbound,
    outcome: Outcome,
    state_before: DialogueState,
    knowledge: Knowledge,
    received: datetime | None,
    fresh_seconds: float,
) -> list[OutboxMessage]:
    """Effects first (an erasure must not sweep away this turn's own state or replies), then state, then replies."""
    for effect in outcome.effects:
        if isinstance(effect, RecordConsent):
            users.set_consent(
                db_session=db_session,
                user=user,
                state=ConsentState(effect.state),
                notice_version=effect.notice_version,
                purpose=ConsentPurpose(effect.purpose),
            )
        elif isinstance(effect, EraseMyData):
            privacy.erase(
                db_session=db_session,
                line_user_id=user.line_user_id,
                notice_version=knowledge.replies.privacy_notice_version,
            )
    state = outcome.state if outcome.state is not None else state_before
    if state != state_before:
        dialogue.save(db_session=db_session, line_user_id=user.line_user_id, state=state.to_json())
    return queue_replies(
        db_session,
        inbound=inbound,
        to=user.line_user_id,
        replies=outcome.replies,
        deadline=reply_deadline(inbound, received, fresh_seconds),
        record=users.keeps_content(user),
    )


def queue_replies(
    db_session: Session,
    *,
    inbound: Inbound,
    to: str,
    replies: list[Reply],
    deadline: datetime | None,
    record: bool = True,
) -> list[OutboxMessage]:
    """Outbox rows for the replies (the first request may use the reply token, the rest push), and the
    transcript of what was said, unless `record` is False (the person declined: no transcript)."""
    messages = render.render(replies)
    rows: list[OutboxMessage] = []
    for index, batch in enumerate(render.batches(messages)):
        token = inbound.reply_token if index == 0 and deadline is not None else None
        rows.append(
            outbox.enqueue(
                db_session=db_session,
                line_user_id=to,
                messages=batch,
                reply_token=token,
                reply_deadline=deadline if token else None,
                source_event_id=inbound.event_id,
                claim_for=FRESH_CLAIM,
            )
        )
    for message in messages if record else []:
        conversations.add_message(
            db_session=db_session,
            line_user_id=to,
            direction=Direction.outbound,
            kind=str(message.get("type")),
            text=render.plain_text(message),
            webhook_event_id=inbound.event_id,
        )
    return rows
