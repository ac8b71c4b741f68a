"""The person's own tickets: one by its ID, or "เรื่องของฉัน" (newest first, status and last public update in
Thai); add information (text or a photo) to an open one; withdraw one's own open ticket (with a confirmation);
after `resolved`, the 1–5 satisfaction answer and an optional comment, and "ยังไม่ได้รับการแก้ไข" within
REOPEN_DAYS reopening it.

Buttons carry the ticket in a postback: `ticket=<ID>&do=show|add|withdraw|reopen|skip`, `ticket=<ID>&rate=<1-5>`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from handlers import forms
from handlers import ticket_forms as tf
from handlers.base import REOPEN_DAYS, EventKind, Outcome, TextReply, TicketView, Turn
from knowledge.loader import Button, Knowledge, get_knowledge

name = "ticket_status"
ADD_FLOW = "ticket_add"
WITHDRAW_FLOW = "ticket_withdraw"
FEEDBACK_FLOW = "ticket_feedback"
FLOWS = (ADD_FLOW, WITHDRAW_FLOW, FEEDBACK_FLOW)
INFO = "info"
COMMENT = "comment"
TICKET = "ticket_id"
SCORE = "score"
OPEN_STATUSES = ("new", "acknowledged", "in_progress", "waiting_citizen")
LIST_LIMIT = 5
REOPEN_WORDS = re.compile(
    r"^(?:ยัง\s*ไม่\s*ได้\s*รับ\s*การ\s*แก้|ยัง\s*ไม่\s*(?:ได้\s*)?แก้\s*ไข|ยังไม่เรียบร้อย|ยังไม่ได้รับความช่วยเหลือ)"
)
SKIP_WORDS = re.compile(r"^(?:ข้าม|ไม่มี|ไม่มีค่ะ|ไม่มีครับ|ไม่เป็นไร|พอแล้ว|skip)\s*$")


def _button(label: str, ticket_id: str, action: str, shown: str | None = None) -> Button:
    return Button(label=label, text=shown or label, data=f"ticket={ticket_id}&{action}")


def rating_buttons(ticket_id: str) -> tuple[Button, ...]:
    scores = (_button(f"{'⭐' * n} {n}", ticket_id, f"rate={n}", f"ให้คะแนน {n}") for n in range(5, 0, -1))
    return (*scores, _button("ยังไม่ได้รับการแก้ไข", ticket_id, "do=reopen"))


def resolved_message(ticket_id: str, knowledge: Knowledge) -> TextReply:
    """The push after `resolved`: the 1–5 question, and "ยังไม่ได้รับการแก้ไข" (the sender of status changes
    uses this content, so the buttons' postbacks come back here)."""
    return TextReply(
        knowledge.tickets.text("rate_question", ticket_id=ticket_id, days=REOPEN_DAYS), rating_buttons(ticket_id)
    )


# --- which turns are ours ----------------------------------------------------------------------------


def claims(turn: Turn) -> bool:
    """A ticket button's postback, or "ยังไม่ได้รับการแก้ไข": ours whatever else is in progress."""
    if turn.tickets is None:
        return False
    if turn.kind is EventKind.postback and "ticket" in turn.postback:
        return True
    return turn.kind is EventKind.text and bool(REOPEN_WORDS.match((turn.text or "").strip()))


def accepts(turn: Turn) -> bool:
    """After "เพิ่มข้อมูล" any text or photo is the addition; after a rating any text is the comment."""
    state = turn.state
    if state.form not in FLOWS:
        return False
    if state.form == WITHDRAW_FLOW:
        return forms.accepts(WITHDRAW_FORM, turn) or turn.understanding.polarity == "no"
    if state.form == ADD_FLOW and turn.kind in (EventKind.image, EventKind.file):
        return True
    return turn.kind is EventKind.text and bool((turn.text or "").strip())


# --- showing tickets ---------------------------------------------------------------------------------


def update_part(ticket: TicketView, knowledge: Knowledge) -> str:
    """The last public update, unless it only repeats a status (the status line says that already)."""
    if not ticket.last_public_update or ticket.last_public_update in knowledge.tickets.statuses.values():
        return ""
    when = tf.thai_date(ticket.last_public_at or ticket.created_at)
    return knowledge.tickets.text("status_update_part", date=when, update=ticket.last_public_update)


def described(ticket: TicketView, knowledge: Knowledge, template: str) -> str:
    texts = knowledge.tickets
    return texts.text(
        template,
        ticket_id=ticket.id,
        kind=texts.kinds.get(ticket.kind, ticket.kind),
        date=tf.thai_date(ticket.created_at),
        status=texts.statuses.get(ticket.status, ticket.status),
        update_part=update_part(ticket, knowledge),
    )


def can_reopen(ticket: TicketView, now: float) -> bool:
    return (
        ticket.status == "resolved"
        and ticket.resolved_at is not None
        and now - ticket.resolved_at <= REOPEN_DAYS * 86400
    )


def show_one(turn: Turn, ticket: TicketView, knowledge: Knowledge) -> Outcome:
    text = described(ticket, knowledge, "status_one")
    buttons: list[Button] = []
    if ticket.status in OPEN_STATUSES:
        buttons += [_button("เพิ่มข้อมูล", ticket.id, "do=add"), _button("ยกเลิกเรื่องนี้", ticket.id, "do=withdraw")]
    elif can_reopen(ticket, tf.now(turn)):
        text = forms.join(text, knowledge.tickets.text("status_reopen_hint", days=REOPEN_DAYS))
        buttons += [_button("ยังไม่ได้รับการแก้ไข", ticket.id, "do=reopen")]
    buttons.append(Button(label="เรื่องของฉัน", text="เรื่องของฉัน"))
    return Outcome([TextReply(text, tuple(buttons))])


def show_mine(turn: Turn, knowledge: Knowledge) -> Outcome:
    assert turn.tickets is not None
    mine = turn.tickets.mine(limit=LIST_LIMIT)
    menu = tuple(knowledge.replies.main_menu)
    if not mine:
        return Outcome([TextReply(knowledge.tickets.text("status_none"), menu)])
    lines = [knowledge.tickets.text("status_list_intro")]
    lines += [described(ticket, knowledge, "status_line") for ticket in mine]
    lines.append(knowledge.tickets.text("status_more"))
    buttons = tuple(_button(ticket.id, ticket.id, "do=show") for ticket in mine)
    return Outcome([TextReply("\n".join(lines), buttons)])


def not_found(ticket_id: str, knowledge: Knowledge) -> Outcome:
    buttons = (Button(label="เรื่องของฉัน", text="เรื่องของฉัน"),)
    return Outcome([TextReply(knowledge.tickets.text("status_not_found", ticket_id=ticket_id), buttons)])


# --- acting on one -----------------------------------------------------------------------------------


def ask_add(turn: Turn, ticket: TicketView, knowledge: Knowledge) -> Outcome:
    if ticket.status == "closed":
        return Outcome([TextReply(knowledge.tickets.text("add_closed", ticket_id=ticket.id))])
    state = replace(turn.state, form=ADD_FLOW, requested_slot=INFO, expect=None, slots={TICKET: ticket.id})
    return Outcome(
        [TextReply(knowledge.tickets.text("add_question", ticket_id=ticket.id), (forms.CANCEL_BUTTON,))], state=state
    )


def add(turn: Turn, knowledge: Knowledge) -> Outcome:
    assert turn.tickets is not None
    ticket_id = str(turn.state.slots.get(TICKET))
    if turn.kind in (EventKind.image, EventKind.file):
        attachment = turn.attachment.attachment_id if turn.attachment else None
        added = attachment is not None and turn.tickets.add_message(ticket_id, None, attachment)
    else:
        added = turn.tickets.add_message(ticket_id, (turn.text or "").strip())
    key = "add_done" if added else "add_closed"
    return Outcome([TextReply(knowledge.tickets.text(key, ticket_id=ticket_id))], state=forms.closed(turn))


def ask_withdraw(turn: Turn, ticket: TicketView, knowledge: Knowledge) -> Outcome:
    if ticket.status not in OPEN_STATUSES:
        return Outcome([TextReply(knowledge.tickets.text("withdraw_failed", ticket_id=ticket.id))])
    state = replace(
        turn.state, form=WITHDRAW_FLOW, requested_slot=forms.CONFIRM, expect="yesno", slots={TICKET: ticket.id}
    )
    buttons = (Button(label="ยืนยัน", text="ยืนยัน"), Button(label="ไม่ยกเลิก", text="ไม่ยกเลิก", data="answer=no"))
    return Outcome([TextReply(knowledge.tickets.text("withdraw_question", ticket_id=ticket.id), buttons)], state=state)


def finish_withdraw(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Any]:
    assert turn.tickets is not None
    ticket_id = str(slots.get(TICKET))
    key = "withdraw_done" if turn.tickets.withdraw(ticket_id) else "withdraw_failed"
    return [TextReply(knowledge.tickets.text(key, ticket_id=ticket_id), tuple(knowledge.replies.main_menu))]


def withdraw(turn: Turn, knowledge: Knowledge) -> Outcome:
    if turn.understanding.polarity == "no" or turn.postback.get("answer") == "no":
        return Outcome(
            [TextReply(knowledge.replies.cancelled, tuple(knowledge.replies.main_menu))], state=forms.closed(turn)
        )
    return forms.run(WITHDRAW_FORM, turn, knowledge)


def reopen(turn: Turn, ticket: TicketView | None, knowledge: Knowledge) -> Outcome:
    assert turn.tickets is not None
    if ticket is None:
        candidates = [t for t in turn.tickets.mine(limit=LIST_LIMIT) if can_reopen(t, tf.now(turn))]
        if not candidates:
            return Outcome([TextReply(knowledge.tickets.text("reopen_none", days=REOPEN_DAYS))])
        ticket = candidates[0]
    text = (turn.text or "").strip() if turn.kind is EventKind.text else None
    if not can_reopen(ticket, tf.now(turn)) or not turn.tickets.reopen(ticket.id, text or None):
        return Outcome([TextReply(knowledge.tickets.text("reopen_too_late", ticket_id=ticket.id, days=REOPEN_DAYS))])
    return Outcome([TextReply(knowledge.tickets.text("reopen_done", ticket_id=ticket.id))])


def rate(turn: Turn, ticket: TicketView, score: int, knowledge: Knowledge) -> Outcome:
    assert turn.tickets is not None
    if not turn.tickets.rate(ticket.id, score):
        return Outcome([TextReply(knowledge.tickets.text("rate_failed", ticket_id=ticket.id))])
    state = replace(
        turn.state, form=FEEDBACK_FLOW, requested_slot=COMMENT, expect=None, slots={TICKET: ticket.id, SCORE: score}
    )
    skip = _button("ข้าม", ticket.id, "do=skip")
    return Outcome([TextReply(knowledge.tickets.text("rate_thanks"), (skip,))], state=state)


def comment(turn: Turn, knowledge: Knowledge) -> Outcome:
    assert turn.tickets is not None
    text = (turn.text or "").strip()
    slots = turn.state.slots
    if SKIP_WORDS.match(text):
        return Outcome([TextReply(knowledge.tickets.text("comment_skipped"))], state=forms.closed(turn))
    turn.tickets.rate(str(slots.get(TICKET)), int(slots.get(SCORE) or 0), text)
    return Outcome([TextReply(knowledge.tickets.text("comment_thanks"))], state=forms.closed(turn))


def on_postback(turn: Turn, knowledge: Knowledge) -> Outcome:
    assert turn.tickets is not None
    data = turn.postback
    ticket_id = data.get("ticket", "")
    ticket = turn.tickets.find(ticket_id)
    if ticket is None:
        return not_found(ticket_id, knowledge)
    action = data.get("do", "")
    if "rate" in data and data["rate"].isdigit():
        return rate(turn, ticket, int(data["rate"]), knowledge)
    if action == "add":
        return ask_add(turn, ticket, knowledge)
    if action == "withdraw":
        return ask_withdraw(turn, ticket, knowledge)
    if action == "reopen":
        return reopen(turn, ticket, knowledge)
    if action == "skip":
        return Outcome([TextReply(knowledge.tickets.text("comment_skipped"))], state=forms.closed(turn))
    return show_one(turn, ticket, knowledge)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    if turn.tickets is None:
        reply = knowledge.intent_replies.intents["ticket_status"]
        return Outcome([TextReply(reply.answer, tuple(knowledge.replies.main_menu))])
    if turn.kind is EventKind.postback and "ticket" in turn.postback:
        return on_postback(turn, knowledge)
    form = turn.state.form
    if form == ADD_FLOW:
        return add(turn, knowledge)
    if form == WITHDRAW_FLOW:
        return withdraw(turn, knowledge)
    if form == FEEDBACK_FLOW:
        return comment(turn, knowledge)
    if turn.kind is EventKind.text and REOPEN_WORDS.match((turn.text or "").strip()):
        return reopen(turn, None, knowledge)
    ticket_id = turn.understanding.entities.get("ticket_id")
    if isinstance(ticket_id, str):
        ticket = turn.tickets.find(ticket_id)
        return show_one(turn, ticket, knowledge) if ticket is not None else not_found(ticket_id, knowledge)
    return show_mine(turn, knowledge)


# Asked again after a side question (the engine's `pending_question` reads these slots' questions).
FORM = forms.Form(
    name=ADD_FLOW,
    intro="",
    slots=(
        forms.Slot(INFO, "text", get_knowledge().tickets.text("add_question_again"), (forms.CANCEL_BUTTON,)),
        forms.Slot(COMMENT, "text", get_knowledge().tickets.text("comment_question"), needed=lambda s: False),
    ),
    finish=lambda turn, slots, knowledge: [],
)
WITHDRAW_FORM = forms.Form(
    name=WITHDRAW_FLOW,
    intro="",
    slots=(),
    finish=finish_withdraw,
    summary=lambda slots: "",
)
