"""A complaint about a service or an officer: what happened, about whom, the province (text or a location),
whether to call back and on which number, an optional photo; a summary and `ยืนยัน` open the ticket."""

from __future__ import annotations

import re
from typing import Any

from handlers import forms
from handlers import ticket_forms as tf
from handlers.base import NewTicket, Outcome, Reply, TextReply, Turn
from knowledge.loader import Knowledge, get_knowledge

name = "complaint"
FLOW = "complaint"
WHAT = "what"
ABOUT = "about"
# The bare command (a menu tap, "ร้องเรียนค่ะ") starts the form; anything longer is already the story.
BARE_COMMAND = re.compile(
    r"^(?:ขอ|อยาก|ต้องการ|จะ)?(?:ร้องเรียน|แจ้งร้องเรียน|complaint)(?:\s*(?:ค่ะ|คะ|ครับ|คับ|หน่อย|ได้ไหม|นะ))*\s*$"
)
FILLER = re.compile(r"ขอ|อยาก|ต้องการ|จะ|แจ้ง|ร้องเรียน|เรื่อง|หน่อย")


def opening_story(turn: Turn, form_intents: frozenset[str]) -> str | None:
    """The first message's own words when it says more than the bare command (it becomes the description)."""
    text = (turn.text or "").strip()
    if turn.state.form == FLOW or turn.understanding.intent not in form_intents or not text:
        return None
    if BARE_COMMAND.match(text.lower()):
        return None
    return tf.story(text, FILLER)


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        **tf.place_facts(turn, slots),
        **tf.contact_facts(turn, slots),
        **tf.photo_facts(turn, slots),
    }
    story = opening_story(turn, FORM.intents)
    if story is not None:
        facts[WHAT] = story
    return facts


def summary(slots: dict[str, Any]) -> str:
    knowledge = get_knowledge()
    return knowledge.tickets.text(
        "complaint_summary",
        what=tf.shown(slots.get(WHAT), knowledge),
        about=tf.shown(slots.get(ABOUT), knowledge),
        province=tf.province_shown(slots, knowledge),
        contact=tf.contact_shown(slots, knowledge),
        photo=tf.photo_shown(slots, knowledge),
    )


def finish(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    province = tf.province_of(slots, knowledge)
    what = str(slots.get(WHAT) or "")
    about = slots.get(ABOUT)
    line = f"ร้องเรียน: {what[:80]}" + (
        f" (เกี่ยวกับ {about})" if isinstance(about, str) and about != forms.UNSURE_VALUE else ""
    )
    ticket = NewTicket(
        kind="complaint",
        summary=line,
        details=tf.details_of(slots, WHAT, ABOUT),
        province=province,
        location=tf.location_info(slots),
        attachment_ids=tf.attachments(slots),
        **tf.contact_fields(slots),
    )
    ticket_id = tf.open_ticket(turn, ticket)
    menu = tuple(knowledge.replies.main_menu)
    if ticket_id is None:
        return [TextReply(knowledge.tickets.text("unavailable"), menu)]
    office = tf.office_shown(province, knowledge)
    return [TextReply(knowledge.tickets.text("complaint_done", ticket_id=ticket_id, office=office), menu)]


def build(knowledge: Knowledge) -> forms.Form:
    texts = knowledge.tickets
    return forms.Form(
        name=FLOW,
        intro=texts.text("complaint_intro"),
        slots=(
            forms.Slot(WHAT, "text", texts.text("complaint_what"), (forms.CANCEL_BUTTON,)),
            forms.Slot(ABOUT, "text", texts.text("complaint_about"), (forms.CANCEL_BUTTON,)),
            tf.province_slot(knowledge),
            *tf.contact_slots(knowledge),
            tf.photo_slot(knowledge),
        ),
        finish=finish,
        extract=extract,
        summary=summary,
        intents=frozenset({"complaint"}),
    )


FORM = build(get_knowledge())


def accepts(turn: Turn) -> bool:
    return tf.accepts(FORM, turn)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    return tf.run(FORM, turn, knowledge)
