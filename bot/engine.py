"""The dialogue engine: hands each turn to exactly one handler, and keeps the conversation's thread.

Order of precedence: danger first (whatever was in progress), then consent and data-rights commands, a
ticket's buttons, a handoff an officer holds (the message goes into the ticket), a form in progress when the
message is for it, media, the emergency context, questions for a hotline's
number, follow-ups on the programme just discussed, and finally the intent's handler. A side question
asked during a form is answered by its own handler and the form's pending question is asked again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import ModuleType

from handlers import (
    complaint,
    contact,
    data_rights,
    eligibility,
    emergency,
    emergency_ticket,
    fallback,
    forms,
    handoff,
    help_request,
    media,
    menu,
    programmes,
    routing,
    small_talk,
    ticket_status,
    welcome,
)
from handlers.base import DialogueState, EventKind, Outcome, TextReply, Turn
from knowledge.loader import Knowledge

# "ยกเลิก" leaves any flow; inside a form the polite variants do too ("ยกเลิกค่ะ ไม่เอาแล้ว", "พอแล้ว").
CANCEL_ALWAYS = re.compile(r"^(?:ยกเลิก|cancel)\s*$")
CANCEL_IN_FORM = re.compile(
    r"^(?:ขอ)?(?:ยกเลิก|ไม่เอา|พอ|เลิก|หยุด|ออก|ไม่ทำ|ไม่ต่อ|ไม่ถาม|cancel|stop|quit|exit)"
    r"(?:\s*(?:แล้ว|ละ|ล่ะ|ก่อน|ดีกว่า|เลย|ค่ะ|คะ|ครับ|คับ|จ้า|นะ|น่ะ|เด้อ|ๆ|[.!~]|ไม่เอาแล้ว|ไม่เอาละ|ไม่เอา|ยกเลิก|"
    r"ไม่ทำแล้ว|พอแล้ว|อันนี้|เรื่องนี้|ไม่ต้อง))*\s*$"
)
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
    "complaint": complaint,
    "request_help": help_request,
    "ticket_status": ticket_status,
    "talk_to_officer": handoff,
}
# Forms register here by the name they keep in the dialogue state; each has `FORM`, `accepts` and `handle`.
FORM_HANDLERS: dict[str, ModuleType] = {
    eligibility.FLOW: eligibility,
    contact.FLOW: contact,
    data_rights.ERASE_FORM: data_rights,
    complaint.FLOW: complaint,
    help_request.FLOW: help_request,
    handoff.FLOW: handoff,
    emergency_ticket.FLOW: emergency_ticket,
    **{flow: ticket_status for flow in ticket_status.FLOWS},
}


def choose_handler(turn: Turn, knowledge: Knowledge) -> ModuleType:
    """The one handler for this turn."""
    if turn.kind is EventKind.follow:
        return welcome
    if turn.understanding.intent == "emergency" and not (
        # NLU's guess alone (no danger word) on a plain follow-up such as "แล้วแม่ 85 ล่ะ" is not an emergency.
        turn.understanding.danger is None and programmes.accepts_follow_up(turn, knowledge)
    ):
        return emergency
    form = FORM_HANDLERS.get(turn.state.form or "")
    asked_sensitive_consent = turn.state.requested_slot == forms.SENSITIVE_CONSENT
    if form is not None and asked_sensitive_consent and form.accepts(turn):
        return form  # "ยินยอม" here answers the form's own question about sensitive data
    if data_rights.is_consent_command(data_rights.command_of(turn)):
        return data_rights
    if ticket_status.claims(turn):
        return ticket_status  # a ticket's button (rate, reopen, add, withdraw) or "ยังไม่ได้รับการแก้ไข"
    if handoff.held(turn) is not None:
        return handoff  # an officer holds the chat: the message goes into the ticket
    if form is not None and form.accepts(turn):
        return form
    if turn.kind in MEDIA_KINDS:
        return media
    if emergency.follows_up(turn, knowledge) or emergency.asked_hotlines(turn, knowledge):
        return emergency
    if programmes.accepts_follow_up(turn, knowledge):
        return programmes
    if turn.understanding.polarity and turn.kind is EventKind.text:
        return small_talk  # a bare "ไม่มีค่ะ" or "ok" with nothing asked: acknowledged, not read as a request
    if turn.understanding.intent in knowledge.programme_intents():
        return programmes
    return INTENT_HANDLERS.get(turn.understanding.intent, routing)


def is_cancel(turn: Turn) -> bool:
    if turn.kind not in (EventKind.text, EventKind.postback):
        return False
    text = (turn.text or turn.postback_data or "").strip().lower()
    return bool(CANCEL_ALWAYS.match(text) or (turn.state.form is not None and CANCEL_IN_FORM.match(text)))


def without_expired(turn: Turn, knowledge: Knowledge) -> tuple[Turn, bool]:
    """The turn with a form left alone too long closed (and whether one was), and an old emergency forgotten."""
    state = turn.state
    form_expired = forms.expired(state, turn.now)
    if form_expired:
        state = replace(state, form=None, requested_slot=None, expect=None, slots={})
    if state.emergency is not None and not emergency.in_context(replace(turn, state=state), knowledge):
        state = replace(state, emergency=None, emergency_at=None)
    return replace(turn, state=state), form_expired


def run_turn(turn: Turn, knowledge: Knowledge) -> tuple[str, Outcome]:
    """Run the turn through its handler; returns the handler's name and what it decided (with the new state)."""
    turn, form_expired = without_expired(turn, knowledge)
    if is_cancel(turn):
        left = replace(turn.state, form=None, requested_slot=None, expect=None, slots={})
        menu_buttons = tuple(knowledge.replies.main_menu)
        return "cancel", stamped(Outcome([TextReply(knowledge.replies.cancelled, menu_buttons)], state=left), turn)
    handler = choose_handler(turn, knowledge)
    outcome: Outcome = handler.handle(turn, knowledge)
    form = FORM_HANDLERS.get(turn.state.form or "")
    if form is not None and handler is not form and handler is not emergency:
        outcome = resumed(form, turn, outcome, knowledge)
    elif outcome.state is None:
        # A handler that says nothing of the conversation ends any form; topic and emergency context stay.
        outcome.state = replace(turn.state, form=None, requested_slot=None, expect=None, slots={})
    if form_expired and outcome.replies:
        outcome.replies.insert(0, TextReply(knowledge.replies.form_expired))
    return str(handler.name), stamped(outcome, turn)


def resumed(form: ModuleType, turn: Turn, outcome: Outcome, knowledge: Knowledge) -> Outcome:
    """A side question (or a photo) during a form: answered, then the form's pending question asked again."""
    new_state = outcome.state
    if new_state is not None and new_state.form not in (None, turn.state.form):
        return outcome  # the person started another form: that one goes on
    old = turn.state
    kept = (
        old
        if new_state is None
        else replace(new_state, form=old.form, requested_slot=old.requested_slot, expect=old.expect, slots=old.slots)
    )
    question = forms.pending_question(form.FORM, kept, knowledge)
    replies = list(outcome.replies)
    if question is not None:
        replies.append(question)
    return Outcome(replies, outcome.effects, state=kept)


def stamped(outcome: Outcome, turn: Turn) -> Outcome:
    """The new state carries when it was written (forms expire from that moment)."""
    state = outcome.state if outcome.state is not None else turn.state
    if state == DialogueState(updated_at=state.updated_at):
        outcome.state = DialogueState()
    elif state != turn.state or state.form is not None:
        outcome.state = replace(state, updated_at=turn.now)
    else:
        outcome.state = state
    return outcome
