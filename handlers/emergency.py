"""Danger now: the hotlines in the very first message, then an emergency context that keeps the numbers that
matter for this kind of danger, says what to do now, and offers an officer. A question for a hotline's number
gets the number itself at once."""

from __future__ import annotations

import re
from dataclasses import replace

from handlers import emergency_ticket
from handlers.base import Outcome, Reply, TextReply, Turn
from handlers.hotlines import hotline_buttons
from knowledge.loader import Button, Knowledge

name = "emergency"

# "ขอเบอร์…", "โทรอะไร", "เรียกรถพยาบาลยังไง": asking for a number, not reporting danger.
ASKS_NUMBER = re.compile(r"(เบอร์|หมายเลข|โทร(?:หา)?(?:อะไร|ไหน|เบอร์)|เรียก|สายด่วน|number|call|ติดต่อ)")
OFFICER_POSTBACK = "emergency=officer"
# Intents that, in an emergency context, are still about the emergency rather than a new topic.
STAYS_IN_CONTEXT = frozenset(
    {"out_of_scope", "emergency", "request_help", "complaint", "report_case", "talk_to_officer", "greeting", "thanks"}
)


def kind_of(turn: Turn) -> str:
    return turn.state.emergency or "unknown"


def in_context(turn: Turn, knowledge: Knowledge) -> bool:
    state = turn.state
    if state.emergency is None or state.emergency_at is None:
        return False
    return turn.now - state.emergency_at <= knowledge.emergency.context_minutes * 60


def asked_hotlines(turn: Turn, knowledge: Knowledge) -> list[str]:
    """The hotline numbers a message asks for ("เบอร์รถพยาบาล" → 1669), none when it asks for an office."""
    text = (turn.understanding.text or turn.text or "").lower()
    bare = text.strip()
    if any(bare == h.number for h in knowledge.hotlines.hotlines):
        return [bare]  # "1300" alone: what is this number?
    if not text or not ASKS_NUMBER.search(text) or "พมจ" in text or "province" in turn.understanding.entities:
        return []
    return [h.number for h in knowledge.hotlines.hotlines if any(word in text for word in h.asked_as)]


def follows_up(turn: Turn, knowledge: Knowledge) -> bool:
    """In an emergency context, whether this message is still about the emergency (the officer button always is)."""
    if turn.postback_data == OFFICER_POSTBACK:
        return True
    if not in_context(turn, knowledge):
        return False
    understanding = turn.understanding
    return understanding.intent in STAYS_IN_CONTEXT or understanding.confidence < 0.8


def first_reply(turn: Turn, knowledge: Knowledge) -> Outcome:
    """The hotlines at once; a flow in progress is dropped, the emergency context begins. When the danger is to
    a child, an urgent ticket is opened in the same turn, its ID in a second message after the hotlines."""
    answer = knowledge.intent_replies.intents["emergency"].answer
    kind = turn.understanding.danger or ""
    numbers = knowledge.emergency.kinds[kind or "unknown"].numbers
    buttons = (
        *hotline_buttons(knowledge, numbers),
        Button(label="คุยกับเจ้าหน้าที่", text="ให้เจ้าหน้าที่ติดต่อกลับ", data=OFFICER_POSTBACK),
    )
    province = turn.understanding.entities.get("province")
    state = replace(
        turn.state,
        form=None,
        requested_slot=None,
        expect=None,
        slots={"province": province} if isinstance(province, str) else {},  # for the officer button's ticket
        emergency=kind,
        emergency_at=turn.now,
    )
    replies: list[Reply] = [TextReply(answer, buttons)]
    child_ticket = emergency_ticket.for_child(turn, knowledge)
    if child_ticket is not None:
        replies.append(child_ticket)
    return Outcome(replies, state=state)


def follow_up(turn: Turn, knowledge: Knowledge) -> Outcome:
    """"ต้องทำยังไงคะ", "โทรหาเพื่อนไม่ติด": what to do now, the numbers for this danger, an officer offered."""
    guide = knowledge.emergency
    kind = guide.kinds.get(kind_of(turn), guide.kinds["unknown"])
    buttons = hotline_buttons(knowledge, kind.numbers)
    if turn.postback_data == OFFICER_POSTBACK or turn.understanding.intent == "talk_to_officer":
        if turn.tickets is None:
            return Outcome([TextReply(guide.officer_answer, buttons)], state=turn.state)
        return emergency_ticket.start(turn, knowledge)
    if turn.understanding.intent in ("thanks", "greeting"):
        return Outcome([TextReply(guide.still_safe_line, buttons)], state=turn.state)
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(kind.steps, 1))
    numbers = " ".join(f"📞 {n}" for n in kind.numbers)
    said = (turn.understanding.text or turn.text or "").lower()
    cue = next((c.say for c in guide.cues if any(word in said for word in c.words)), None)
    text = "\n".join(line for line in (cue, guide.follow_up_intro, steps, numbers, guide.officer_offer) if line)
    offer = Button(label="คุยกับเจ้าหน้าที่", text="ให้เจ้าหน้าที่ติดต่อกลับ", data=OFFICER_POSTBACK)
    return Outcome([TextReply(text, (*buttons, offer))], state=turn.state)


def hotline_answer(turn: Turn, knowledge: Knowledge, numbers: list[str]) -> Outcome:
    lines = [knowledge.emergency.hotline_intro]
    for number in numbers:
        hotline = knowledge.hotlines.get(number)
        lines.append(f"📞 {number} {hotline.name}: {hotline.what}")
    return Outcome([TextReply("\n".join(lines), hotline_buttons(knowledge, numbers))])


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    if turn.understanding.intent == "emergency":
        return first_reply(turn, knowledge)
    numbers = asked_hotlines(turn, knowledge)
    if numbers:
        return hotline_answer(turn, knowledge, numbers)
    return follow_up(turn, knowledge)
