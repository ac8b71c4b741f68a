"""Talk to an officer: a short form (what about, which province), a summary and `ยืนยัน` open a `handoff`
ticket. While an officer holds it (`turn.tickets.held_handoff()`), the engine gives this handler every
message: it goes into the ticket with a short acknowledgement (an emergency still gets the hotlines first)."""

from __future__ import annotations

import re
from typing import Any

from handlers import forms
from handlers import ticket_forms as tf
from handlers.base import EventKind, NewTicket, Outcome, Reply, TextReply, TicketView, Turn
from knowledge.loader import Knowledge, get_knowledge

name = "handoff"
FLOW = "handoff"
TOPIC = "topic"
OPEN_STATUSES = ("new", "acknowledged", "in_progress", "waiting_citizen")
FILLER = re.compile(r"ขอ|อยาก|ต้องการ|คุย|ติดต่อ|ปรึกษา|กับ|เจ้าหน้าที่|คนจริงๆ|คนจริง|แอดมิน|หน่อย|เรื่อง")
MEDIA_NOTES = {
    EventKind.sticker: "[สติกเกอร์]",
    EventKind.audio: "[ข้อความเสียง]",
    EventKind.video: "[วิดีโอ]",
    EventKind.other_message: "[ข้อความ]",
}


def held(turn: Turn) -> TicketView | None:
    return turn.tickets.held_handoff() if turn.tickets is not None else None


def forward(turn: Turn, ticket: TicketView, knowledge: Knowledge) -> Outcome:
    """The citizen's message into the held ticket; the conversation's state is left as it is."""
    assert turn.tickets is not None
    attachment = turn.attachment.attachment_id if turn.attachment is not None else None
    if turn.kind in (EventKind.text, EventKind.postback):
        text: str | None = (turn.text or turn.postback_data or "").strip() or None
    elif turn.kind is EventKind.location and turn.location is not None:
        where = turn.location
        text = f"[ตำแหน่ง] {where.address or ''} ({where.latitude:.5f}, {where.longitude:.5f})".strip()
    else:
        text = MEDIA_NOTES.get(turn.kind)
    added = (text is not None or attachment is not None) and turn.tickets.add_message(ticket.id, text, attachment)
    key = "handoff_forwarded" if added else "handoff_not_forwarded"
    return Outcome([TextReply(knowledge.tickets.text(key))], state=turn.state)


def open_handoff(turn: Turn) -> TicketView | None:
    if turn.tickets is None:
        return None
    return next((t for t in turn.tickets.mine(limit=5) if t.kind == "handoff" and t.status in OPEN_STATUSES), None)


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    facts = tf.place_facts(turn, slots)
    text = (turn.text or "").strip()
    if turn.state.form != FLOW and turn.understanding.intent == "talk_to_officer" and text:
        story = tf.story(text, FILLER)
        if story is not None:
            facts[TOPIC] = story
    return facts


def summary(slots: dict[str, Any]) -> str:
    knowledge = get_knowledge()
    return knowledge.tickets.text(
        "handoff_summary", topic=tf.shown(slots.get(TOPIC), knowledge), province=tf.province_shown(slots, knowledge)
    )


def finish(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    existing = open_handoff(turn)
    if existing is not None:
        return [TextReply(knowledge.tickets.text("handoff_already", ticket_id=existing.id))]
    topic = str(slots.get(TOPIC) or "")
    ticket = NewTicket(
        kind="handoff",
        summary=f"ขอคุยกับเจ้าหน้าที่: {topic[:80]}",
        details=tf.details_of(slots, TOPIC),
        province=tf.province_of(slots, knowledge),
        location=tf.location_info(slots),
    )
    ticket_id = tf.open_ticket(turn, ticket)
    if ticket_id is None:
        return [TextReply(knowledge.tickets.text("unavailable"), tuple(knowledge.replies.main_menu))]
    return [TextReply(knowledge.tickets.text("handoff_opened", ticket_id=ticket_id))]


def build(knowledge: Knowledge) -> forms.Form:
    return forms.Form(
        name=FLOW,
        intro=knowledge.tickets.text("handoff_intro"),
        slots=(
            forms.Slot(TOPIC, "text", knowledge.tickets.text("handoff_topic"), (forms.CANCEL_BUTTON,)),
            tf.province_slot(knowledge),
        ),
        finish=finish,
        extract=extract,
        summary=summary,
        intents=frozenset({"talk_to_officer"}),
    )


FORM = build(get_knowledge())


def accepts(turn: Turn) -> bool:
    return tf.accepts(FORM, turn)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    ticket = held(turn)
    if ticket is not None:
        return forward(turn, ticket, knowledge)
    if turn.tickets is None:
        reply = knowledge.intent_replies.intents["talk_to_officer"]
        return Outcome([TextReply(reply.answer, tuple(knowledge.replies.main_menu))])
    if turn.state.form != FLOW:
        existing = open_handoff(turn)
        if existing is not None:
            return Outcome([TextReply(knowledge.tickets.text("handoff_already", ticket_id=existing.id))])
    return tf.run(FORM, turn, knowledge)
