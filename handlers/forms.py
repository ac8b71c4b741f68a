"""Forms: the one reusable piece behind every multi-turn flow (the screener, the office finder, and the
complaint, help-request and case-report flows to come), in the manner of Rasa's forms.

A form is slots, each with its question, buttons, kind and "needed only if"; the slot just asked for is the
requested slot, and a bare answer ("67", "ไม่มีค่ะ", "เชียงใหม่", a range button) is read as it first. One
message may fill several slots in any order (the form's own `extract`). A form that commits something ends
with a summary and `ยืนยัน`. Side questions are answered by their own handler and the engine asks the
pending question again (`pending_question`); media are offered to the form first. Slots holding health or
disability data ask for sensitive-data consent at the moment they are needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from handlers.base import DialogueState, EventKind, Outcome, RecordConsent, Reply, TextReply, Turn
from knowledge.loader import Button, Knowledge

# Kinds the NLU reads a bare answer as (`understand(text, expect=kind)`).
EXPECTABLE = ("age", "monthly_income", "province", "yesno")
CONFIRM = "_confirm"
SENSITIVE_CONSENT = "_sensitive_consent"
MAX_TRIES = 2  # a slot not understood this many times is skipped rather than asked forever
FORM_TTL_SECONDS = 30 * 60

CONSENT_GIVEN = re.compile(r"^(?:ยินยอม|ยอม|ให้ใช้ได้|ใช้ได้|ยินยอมให้ใช้ข้อมูลนี้)(?:\s*(?:ค่ะ|คะ|ครับ|คับ|จ้า|นะ))*\s*$")
CONSENT_DECLINED = re.compile(r"^(?:ไม่ยินยอม|ไม่ยอม|ไม่ให้ใช้)")
CONFIRM_WORDS = re.compile(r"^(ยืนยัน|ยืนยันค่ะ|ยืนยันครับ|ตกลงยืนยัน|ส่งเลย|ส่งได้เลย|ถูกต้อง|ถูกต้องค่ะ|ถูกต้องครับ|confirm)\s*$")
UNSURE_VALUE = "unsure"


def yes_no_buttons(skip_label: str = "ไม่แน่ใจ") -> tuple[Button, ...]:
    """Yes / no / not sure as postbacks: the chat shows what the person chose, the value travels in data."""
    return (
        Button(label="ใช่/มี", text="ใช่ค่ะ", data="answer=yes"),
        Button(label="ไม่ใช่/ไม่มี", text="ไม่มีค่ะ", data="answer=no"),
        Button(label=skip_label, text=skip_label, data="answer=unsure"),
        CANCEL_BUTTON,
    )


CANCEL_BUTTON = Button(label="ยกเลิก", text="ยกเลิก")


def range_buttons(slot: str, options: list[tuple[str, str, int]]) -> tuple[Button, ...]:
    """(label, what the chat shows, value) per range, as postbacks for the slot, and a cancel button."""
    buttons = (Button(label=label, text=shown, data=f"slot={slot}&value={value}") for label, shown, value in options)
    return (*buttons, CANCEL_BUTTON)


def join(*parts: str) -> str:
    """Reply pieces on their own lines, empty ones left out."""
    return "\n".join(part.strip() for part in parts if part and part.strip())


def always(_: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Slot:
    name: str
    kind: str  # "age", "monthly_income", "province", "yesno", "text", "image", "location"
    question: str
    buttons: tuple[Button, ...] = ()
    needed: Callable[[dict[str, Any]], bool] = always  # asked only while this says the answer still matters
    sensitive: bool = False  # health or disability data: needs sensitive-data consent first


Extract = Callable[[Turn, dict[str, Any]], dict[str, Any]]
Finish = Callable[[Turn, dict[str, Any], Knowledge], list[Reply]]


def extract_nothing(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Form:
    name: str
    intro: str
    slots: tuple[Slot, ...]
    finish: Finish
    extract: Extract = extract_nothing  # facts from free text, any slots, any order
    summary: Callable[[dict[str, Any]], str] | None = None  # set: ends with a summary and ยืนยัน
    intents: frozenset[str] = field(default_factory=frozenset)  # intents that mean "this form" (no side question)

    def slot(self, name: str | None) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)


# --- reading a turn against the form -------------------------------------------------------------------


def bare_answer(slot: Slot, turn: Turn) -> tuple[bool, Any]:
    """(True, value) when this message answers the requested slot by itself: a postback, a bare value, a media."""
    postback = turn.postback
    if postback.get("slot") == slot.name and "value" in postback:
        raw = postback["value"]
        return True, int(raw) if raw.isdigit() else raw
    understanding = turn.understanding
    if slot.kind == "yesno":
        polarity = postback.get("answer") or understanding.polarity
        if polarity in ("yes", "no"):
            return True, polarity == "yes"
        if polarity == "unsure":
            return True, UNSURE_VALUE
        return False, None
    if slot.kind in ("age", "monthly_income", "province"):
        value = understanding.entities.get(slot.kind)
        if slot.kind == "age" and understanding.people:
            value = age_of_subject(understanding.people, turn.state.slots.get("_subject"), value)
        if value is not None:
            return True, value
        if understanding.polarity == "unsure":
            return True, UNSURE_VALUE
        return False, None
    if slot.kind == "image" and turn.kind in (EventKind.image, EventKind.file):
        return True, turn.attachment.attachment_id if turn.attachment else None
    if slot.kind == "location" and turn.kind is EventKind.location and turn.location is not None:
        where = turn.location
        return True, {"latitude": where.latitude, "longitude": where.longitude, "address": where.address}
    if slot.kind == "text" and turn.kind is EventKind.text and turn.text and turn.text.strip():
        return True, turn.text.strip()
    return False, None


CHILD_WORDS = ("ลูก", "หลาน", "เหลน")


def age_of_subject(people: tuple[tuple[str, int], ...], subject: str | None, fallback: Any) -> Any:
    """From "แม่ 72 หลาน 4 ขวบ", the age of the person being asked about: the named subject when there is one,
    else the oldest person who is not a child of the asker."""
    if subject:
        for who, age in people:
            if who == subject:
                return age
    adults = [age for who, age in people if who not in CHILD_WORDS]
    return max(adults) if adults else fallback


def needs_asking(form: Form, slots: dict[str, Any]) -> Slot | None:
    return next((s for s in form.slots if s.name not in slots and s.needed(slots)), None)


def keepable(form: Form, turn: Turn, extracted: dict[str, Any], slots: dict[str, Any]) -> dict[str, Any]:
    """The extracted facts the form may keep: having a disability or an illness is sensitive data, not kept
    before its consent (the person is asked when the form needs it, and says it again); not having one
    reveals nothing and is kept."""
    if sensitive_allowed(turn, slots) is True:
        return extracted
    return {k: v for k, v in extracted.items() if not (v is True and is_sensitive(form, k))}


def is_sensitive(form: Form, name: str) -> bool:
    slot = form.slot(name)
    return slot is not None and slot.sensitive


def consent_decision(turn: Turn) -> str | None:
    """'given' or 'declined' when the message answers the sensitive-data consent question."""
    if turn.postback.get("consent") == "sensitive":
        return turn.postback.get("state")
    text = (turn.text or "").strip()
    if CONSENT_DECLINED.match(text):
        return "declined"
    if CONSENT_GIVEN.match(text):
        return "given"
    return {"yes": "given", "no": "declined"}.get(turn.understanding.polarity or "")


def sensitive_allowed(turn: Turn, slots: dict[str, Any]) -> bool | None:
    """True/False once the person decided about sensitive data (now or before), None while undecided."""
    decided = slots.get(SENSITIVE_CONSENT) or turn.person.sensitive_consent
    if decided == "given":
        return True
    if decided in ("declined", "withdrawn"):
        return False
    return None


def accepts(form: Form, turn: Turn) -> bool:
    """Whether this message is for the form (an answer, a fact it takes, a confirmation), not a side question."""
    state = turn.state
    requested = form.slot(state.requested_slot)
    if turn.kind not in (EventKind.text, EventKind.postback):
        return requested is not None and bare_answer(requested, turn)[0]  # a photo or location as the answer
    if turn.postback and (turn.postback.get("slot") or turn.postback.get("answer") or turn.postback.get("consent")):
        return True
    if state.requested_slot in (CONFIRM, SENSITIVE_CONSENT):
        return bool(
            turn.understanding.polarity
            or consent_decision(turn)
            or CONFIRM_WORDS.match((turn.text or "").strip())
            or (turn.understanding.intent == "out_of_scope" and not turn.understanding.alternatives)
        )
    if requested is not None and requested.kind != "text" and bare_answer(requested, turn)[0]:
        return True
    slot_names = {slot.name for slot in form.slots}
    if slot_names & set(keepable(form, turn, form.extract(turn, dict(state.slots)), dict(state.slots))):
        return True
    understanding = turn.understanding
    if understanding.intent in form.intents:
        return True
    if requested is not None and requested.kind == "text":
        # Free text is the answer unless it is clearly another question.
        return understanding.intent in ("out_of_scope", *form.intents) or understanding.confidence < 0.8
    return understanding.intent == "out_of_scope" and not understanding.alternatives


# --- running it ----------------------------------------------------------------------------------------


def ask(form: Form, turn: Turn, slots: dict[str, Any], slot: Slot, lead: str = "") -> Outcome:
    state = replace(
        turn.state,
        form=form.name,
        requested_slot=slot.name,
        expect=slot.kind if slot.kind in EXPECTABLE else None,
        slots=slots,
    )
    return Outcome([TextReply(join(lead, slot.question), slot.buttons)], state=state)


def sensitive_consent_reply(knowledge: Knowledge) -> TextReply:
    """Consent for health and disability data, asked at the moment a form needs it (postback buttons)."""
    replies = knowledge.replies
    buttons = (*replies.sensitive_consent_buttons, CANCEL_BUTTON)
    return TextReply(replies.sensitive_consent_question, buttons)


def sensitive_question(form: Form, turn: Turn, slots: dict[str, Any], knowledge: Knowledge, lead: str) -> Outcome:
    question = sensitive_consent_reply(knowledge)
    state = replace(turn.state, form=form.name, requested_slot=SENSITIVE_CONSENT, expect="yesno", slots=slots)
    return Outcome([replace(question, text=join(lead, question.text))], state=state)


def closed(turn: Turn) -> DialogueState:
    return replace(turn.state, form=None, requested_slot=None, expect=None, slots={})


def run(form: Form, turn: Turn, knowledge: Knowledge) -> Outcome:
    """One turn of the form: take what the message gives, then ask the next needed slot, confirm, or finish."""
    state = turn.state
    continuing = state.form == form.name
    slots: dict[str, Any] = dict(state.slots) if continuing else {}
    effects: list[Any] = []
    lead = "" if continuing else form.intro
    requested = form.slot(state.requested_slot) if continuing else None

    if continuing and state.requested_slot == SENSITIVE_CONSENT:
        decision = consent_decision(turn)
        if decision in ("given", "declined"):
            slots[SENSITIVE_CONSENT] = decision
            effects.append(RecordConsent(decision, knowledge.replies.privacy_notice_version, purpose="sensitive"))
            lead = knowledge.replies.sensitive_consent_given if decision == "given" else (
                knowledge.replies.sensitive_consent_declined
            )
        else:
            lead = knowledge.replies.form_not_understood
    elif continuing and state.requested_slot == CONFIRM and form.summary is not None:
        text = (turn.text or "").strip()
        if CONFIRM_WORDS.match(text) or turn.postback.get("answer") == "yes" or turn.understanding.polarity == "yes":
            return Outcome(form.finish(turn, _public(slots), knowledge), effects, state=closed(turn))
        changes = form.extract(turn, slots)
        if not changes:
            return Outcome([TextReply(knowledge.replies.form_edit_hint)], state=state)
        slots.update(changes)
    else:
        if requested is not None:
            answered, value = bare_answer(requested, turn)
            if answered:
                slots[requested.name] = value
        extracted = keepable(form, turn, form.extract(turn, slots), slots)
        slots.update({k: v for k, v in extracted.items() if k not in slots or k.startswith("_")})
        took_facts = any(not k.startswith("_") for k in extracted)
        if requested is not None and requested.name not in slots and not took_facts:
            tries = dict(slots.get("_tries", {}))
            tries[requested.name] = tries.get(requested.name, 0) + 1
            slots["_tries"] = tries
            if tries[requested.name] >= MAX_TRIES:
                slots[requested.name] = UNSURE_VALUE
            else:
                lead = knowledge.replies.form_not_understood

    if sensitive_allowed(turn, slots) is False:
        for slot in form.slots:
            if slot.sensitive:
                slots[slot.name] = UNSURE_VALUE  # declined: never kept, never asked
    nxt = needs_asking(form, slots)
    if nxt is not None:
        if nxt.sensitive and sensitive_allowed(turn, slots) is None:
            return _with_effects(sensitive_question(form, turn, slots, knowledge, lead), effects)
        return _with_effects(ask(form, turn, slots, nxt, lead), effects)
    if form.summary is not None:
        text = join(lead, form.summary(_public(slots)), knowledge.replies.form_confirm_hint)
        buttons = (Button(label="ยืนยัน", text="ยืนยัน"), CANCEL_BUTTON)
        state_next = replace(state, form=form.name, requested_slot=CONFIRM, expect="yesno", slots=slots)
        return Outcome([TextReply(text, buttons)], effects, state=state_next)
    replies = form.finish(turn, _public(slots), knowledge)
    if lead and replies and isinstance(replies[0], TextReply):
        replies[0] = replace(replies[0], text=join(lead, replies[0].text))
    elif lead:
        replies.insert(0, TextReply(lead))
    return Outcome(replies, effects, state=closed(turn))


def _with_effects(outcome: Outcome, effects: list[Any]) -> Outcome:
    outcome.effects = [*effects, *outcome.effects]
    return outcome


def _public(slots: dict[str, Any]) -> dict[str, Any]:
    """The slots without the form's own bookkeeping (tries, consent decisions, subject)."""
    return {k: v for k, v in slots.items() if not k.startswith("_")}


def pending_question(form: Form, state: DialogueState, knowledge: Knowledge) -> TextReply | None:
    """The question the form is waiting on, asked again after a side question or a photo."""
    if state.requested_slot == CONFIRM:
        return TextReply(knowledge.replies.form_back_to_confirm, (Button(label="ยืนยัน", text="ยืนยัน"),))
    if state.requested_slot == SENSITIVE_CONSENT:
        question = sensitive_consent_reply(knowledge)
        return replace(question, text=join(knowledge.replies.form_back_to_question, question.text))
    slot = form.slot(state.requested_slot)
    if slot is None:
        return None
    return TextReply(join(knowledge.replies.form_back_to_question, slot.question), slot.buttons)


def expired(state: DialogueState, now: float) -> bool:
    return state.form is not None and state.updated_at is not None and now - state.updated_at > FORM_TTL_SECONDS
