"""The dialogue engine: hands each turn to exactly one handler."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

from handlers import (
    contact,
    data_rights,
    eligibility,
    emergency,
    fallback,
    media,
    menu,
    programmes,
    routing,
    small_talk,
    welcome,
)
from handlers.base import EventKind, Outcome, TextReply, Turn
from knowledge.loader import Knowledge

CANCEL_WORDS = {"ยกเลิก", "cancel"}
MEDIA_KINDS = {
    EventKind.sticker,
    EventKind.image,
    EventKind.video,
    EventKind.audio,
    EventKind.file,
    EventKind.location,
    EventKind.other_message,
}

INTENT_HANDLERS: dict[str, ModuleType] = {
    "greeting": menu,
    "thanks": small_talk,
    "data_rights": data_rights,
    "emergency": emergency,
    "out_of_scope": fallback,
    "eligibility_check": eligibility,
    "contact_office": contact,
}
# Multi-turn flows register here by the name they store in the conversation state.
FLOW_HANDLERS: dict[str, ModuleType] = {eligibility.FLOW: eligibility, contact.FLOW: contact}


def choose_handler(turn: Turn, knowledge: Knowledge) -> ModuleType:
    """The one handler for this turn; danger outranks everything, including a flow in progress."""
    if turn.kind is EventKind.follow:
        return welcome
    if turn.kind in MEDIA_KINDS:
        return media
    if turn.understanding.intent == "emergency":
        return emergency
    if data_rights.is_consent_command(data_rights.command_of(turn)):
        return data_rights
    flow = FLOW_HANDLERS.get(turn.state.form or "")
    if flow is not None and flow.accepts(turn):
        return flow
    if turn.understanding.intent in knowledge.programme_intents():
        return programmes
    return INTENT_HANDLERS.get(turn.understanding.intent, routing)


def is_cancel(turn: Turn) -> bool:
    return turn.kind in (EventKind.text, EventKind.postback) and (turn.text or "").strip().lower() in CANCEL_WORDS


def run_turn(turn: Turn, knowledge: Knowledge) -> tuple[str, Outcome]:
    """Run the turn through its handler; returns the handler's name and what it decided."""
    if is_cancel(turn):
        left = replace(turn.state, form=None, requested_slot=None, slots={})
        return "cancel", Outcome(
            [TextReply(knowledge.replies.cancelled, tuple(knowledge.replies.main_menu))], state=left
        )
    handler = choose_handler(turn, knowledge)
    outcome: Outcome = handler.handle(turn, knowledge)
    if outcome.state is None:
        # A handler that says nothing of the conversation ends any form; topic and emergency context stay.
        outcome.state = replace(turn.state, form=None, requested_slot=None, slots={})
    return str(handler.name), outcome
