"""The emergency's ticket: after the hotlines, an urgent `emergency` ticket for the province when the person
asks for an officer ("คุยกับเจ้าหน้าที่" under the emergency reply), and at once, without asking, when the
danger is to a child (legal basis `child_in_danger`). The emergency context of the conversation goes on."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from handlers import forms
from handlers import ticket_forms as tf
from handlers.base import NewTicket, Outcome, Reply, TextReply, TicketView, Turn
from knowledge.loader import Knowledge, get_knowledge

log = logging.getLogger(__name__)

name = "emergency_ticket"
FLOW = "emergency_ticket"
OPEN_STATUSES = ("new", "acknowledged", "in_progress", "waiting_citizen")
# The danger is to a child: these words with the danger (the lexicon's category, or the classifier's call).
CHILD_WORDS = re.compile(r"(เด็ก|ลูก(?!ค้า|พี่|น้อง|จ้าง)|หลาน|ขวบ|ทารก|นักเรียน|ด\.ญ\.|ด\.ช\.|kid|child)")
ADULT_AGE = 18
CLOCK_SLACK = 2.0  # seconds: the turn's clock and the database's may differ a little


def child_in_danger(turn: Turn) -> bool:
    understanding = turn.understanding
    if understanding.intent != "emergency":
        return False
    age = understanding.entities.get("age")
    text = (understanding.text or turn.text or "").lower()
    return bool(CHILD_WORDS.search(text)) or (isinstance(age, int) and age < ADULT_AGE)


def recent(turn: Turn, knowledge: Knowledge, since: float | None = None) -> TicketView | None:
    """An open emergency ticket of this person opened within the emergency context's time (or since `since`:
    the button under this emergency's reply answers for this emergency, not for an earlier one)."""
    if turn.tickets is None:
        return None
    start = tf.now(turn) - knowledge.emergency.context_minutes * 60
    if since is not None:
        start = max(start, since - CLOCK_SLACK)
    for ticket in turn.tickets.mine(limit=5):
        if ticket.kind == "emergency" and ticket.status in OPEN_STATUSES and ticket.created_at >= start:
            return ticket
    return None


def this_emergency(turn: Turn, knowledge: Knowledge) -> TicketView | None:
    return recent(turn, knowledge, since=turn.state.emergency_at)


def ticket_for(turn: Turn, province: str | None, slots: dict[str, Any], *, child: bool) -> NewTicket:
    danger = turn.understanding.danger if child else turn.state.emergency
    danger = danger or "ไม่ระบุประเภท"
    details: dict[str, Any] = {"danger": danger, "asked_for_officer": not child}
    if child and turn.text:
        details["message"] = turn.text
    return NewTicket(
        kind="emergency",
        summary=f"เหตุฉุกเฉิน ({danger})" + (" เด็กอาจไม่ปลอดภัย" if child else ""),
        details=details,
        urgency="urgent",
        province=province,
        location=tf.location_info(slots),
        legal_basis="child_in_danger" if child else None,
    )


def safely_open(turn: Turn, ticket: NewTicket) -> str | None:
    """Never let the ticket take the hotlines down with it: a failure is logged and the reply goes on."""
    try:
        return tf.open_ticket(turn, ticket)
    except Exception:
        log.exception("emergency ticket could not be opened")
        return None


def for_child(turn: Turn, knowledge: Knowledge) -> Reply | None:
    """Called by the emergency's first reply, after the hotlines: the ticket opened without asking."""
    if turn.tickets is None or not child_in_danger(turn):
        return None
    existing = recent(turn, knowledge)
    if existing is not None:  # officers already alerted: what was said now goes into that ticket
        try:
            turn.tickets.add_message(existing.id, turn.text)
        except Exception:
            log.exception("emergency message could not be added to its ticket")
        return TextReply(knowledge.tickets.text("emergency_already", ticket_id=existing.id))
    province = turn.understanding.entities.get("province")
    ticket = ticket_for(turn, province if isinstance(province, str) else None, {}, child=True)
    ticket_id = safely_open(turn, ticket)
    if ticket_id is None:
        return None
    return TextReply(knowledge.tickets.text("emergency_child_opened", ticket_id=ticket_id))


def finish(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    existing = this_emergency(turn, knowledge)
    if existing is not None:
        return [TextReply(knowledge.tickets.text("emergency_already", ticket_id=existing.id))]
    ticket_id = safely_open(turn, ticket_for(turn, tf.province_of(slots, knowledge), slots, child=False))
    if ticket_id is None:
        return [TextReply(knowledge.emergency.officer_answer)]
    return [TextReply(knowledge.tickets.text("emergency_opened", ticket_id=ticket_id))]


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    return tf.place_facts(turn, slots)


FORM = forms.Form(
    name=FLOW,
    intro="",
    slots=(tf.province_slot(get_knowledge(), get_knowledge().tickets.text("emergency_province")),),
    finish=finish,
    extract=extract,
)


def start(turn: Turn, knowledge: Knowledge) -> Outcome:
    """The person agreed to an officer: open at once when the province is known, else ask it (a short form)."""
    if turn.tickets is None:
        return Outcome([TextReply(knowledge.emergency.officer_answer)], state=turn.state)
    existing = this_emergency(turn, knowledge)
    if existing is not None:
        return Outcome(
            [TextReply(knowledge.tickets.text("emergency_already", ticket_id=existing.id))], state=turn.state
        )
    known = turn.state.slots.get(tf.PROVINCE) if turn.state.form is None else None
    if isinstance(known, str) and known in knowledge.offices.provinces:
        return Outcome(finish(turn, {tf.PROVINCE: known}, knowledge), state=turn.state)
    fresh = replace(turn, state=replace(turn.state, form=None, requested_slot=None, expect=None, slots={}))
    return forms.run(FORM, fresh, knowledge)


def accepts(turn: Turn) -> bool:
    return tf.accepts(FORM, turn)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    return forms.run(FORM, turn, knowledge)
