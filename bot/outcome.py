"""Applying a handler's outcome, in one place and inside the turn's transaction: its effects (consent,
erasure), the dialogue state, and the replies as outbox rows with their transcript."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.line.events import Inbound
from bot.line.turns import reply_deadline
from bot.sender import FRESH_CLAIM
from handlers.base import DialogueState, EraseMyData, Outcome, RecordConsent, Reply
from handlers.content import contents
from knowledge.loader import Knowledge
from storage import dialogue, outbox, privacy, users
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
    """The replies through `outbox.send` (the first request may use the reply token, the rest push), born
    claimed for this process to send after the commit; the transcript unless `record` is False (the person
    declined: no transcript)."""
    return outbox.send(
        db_session,
        to=to,
        replies=contents(replies),
        source_event_id=inbound.event_id,
        reply_token=inbound.reply_token,
        reply_deadline=deadline,
        transcript=record,
        claim_for=FRESH_CLAIM,
    )
