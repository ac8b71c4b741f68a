"""A request for help, for oneself or for someone else: who, what is needed, where (text or a location),
triage questions that raise it to urgent (a child or an elder alone, no food today, sick without care),
whether to call back; a summary and `ยืนยัน` open the ticket."""

from __future__ import annotations

import re
from typing import Any

from handlers import forms
from handlers import ticket_forms as tf
from handlers.base import NewTicket, Outcome, Reply, TextReply, Turn
from knowledge.loader import Button, Knowledge, get_knowledge

name = "help_request"
FLOW = "help_request"
FOR_WHOM = "for_whom"
WHO = "who"
NEED = "need"
URGENT = "urgent_signs"
SELF, OTHER, NONE = "self", "other", "none"

BARE_COMMAND = re.compile(
    r"^(?:ขอ|อยาก|ต้องการ|อยากขอ)?(?:ความ)?(?:ช่วยเหลือ|ช่วยด้วย|ให้ช่วย)(?:\s*(?:ค่ะ|คะ|ครับ|คับ|หน่อย|ได้ไหม|นะ|ด้วย))*\s*$"
)
OTHERS = (
    "แม่",
    "พ่อ",
    "ยาย",
    "ตายาย",
    "ปู่",
    "ย่า",
    "ลูก",
    "หลาน",
    "ลุง",
    "ป้า",
    "สามี",
    "ภรรยา",
    "เมีย",
    "ผัว",
    "แฟน",
    "เพื่อนบ้าน",
    "เพื่อน",
    "คนแก่",
    "ผู้สูงอายุ",
    "เด็ก",
    "คนพิการ",
    "คนในชุมชน",
)
OTHER_WORDS = re.compile("(" + "|".join(sorted(OTHERS, key=len, reverse=True)) + ")")
FILLER = re.compile(r"ขอ|ความ|ช่วยเหลือ|ช่วยด้วย|ให้|ด้วย|หน่อย|สำหรับ|ตัวเอง|" + OTHER_WORDS.pattern[1:-1])
SELF_WORDS = re.compile(r"^(?:ตัวเอง|ตนเอง|ของตัวเอง|ให้ตัวเอง|ฉัน|ผม|หนู|เรา|ตัวฉัน|ตัวผม|ข้อย|self)")
# Triage signs (raise the ticket to urgent), as typed; the buttons send them as postbacks.
SIGNS: dict[str, re.Pattern[str]] = {
    "alone": re.compile(r"(อยู่คนเดียว|อยู่ลำพัง|ไม่มีคนดูแล|ไม่มีใครดูแล|ถูกทิ้ง|ทิ้งไว้|อยู่ตัวคนเดียว)"),
    "no_food": re.compile(r"(ไม่มีข้าว|ไม่มีอาหาร|ไม่มีอะไรกิน|ไม่ได้กินข้าว|ไม่ได้กิน|อดข้าว|หิวมาก|ไม่มีกิน)"),
    "sick": re.compile(r"(ป่วย|ไม่สบาย|ติดเตียง|เจ็บหนัก|ไม่มียา)"),
}
SIGN_LABELS = {"alone": "เด็ก/คนแก่อยู่ลำพัง", "no_food": "วันนี้ไม่มีอาหาร", "sick": "ป่วยไม่มีคนดูแล"}


def signs_in(text: str) -> list[str]:
    found = [sign for sign, pattern in SIGNS.items() if pattern.search(text)]
    if "sick" in found and "alone" not in found and not SIGNS["alone"].search(text):
        found.remove("sick")  # "ป่วย" alone is not urgent; sick without care is
    return found


def signs_of(slots: dict[str, Any]) -> list[str]:
    value = slots.get(URGENT)
    if isinstance(value, list):
        return [str(v) for v in value if v in SIGN_LABELS]
    return [value] if value in SIGN_LABELS else []


def opening_story(turn: Turn) -> str | None:
    text = (turn.text or "").strip()
    if turn.state.form == FLOW or turn.understanding.intent not in FORM.intents or not text:
        return None
    if BARE_COMMAND.match(text.lower()):
        return None
    return tf.story(text, FILLER)


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {**tf.place_facts(turn, slots), **tf.contact_facts(turn, slots)}
    text = (turn.understanding.text or turn.text or "").strip()
    requested = turn.state.requested_slot if turn.state.form == FLOW else None
    story = opening_story(turn)
    if story is not None:
        facts[NEED] = story
    if text and requested in (None, FOR_WHOM, NEED, WHO) and FOR_WHOM not in slots:
        if requested == FOR_WHOM and SELF_WORDS.match(text):
            facts[FOR_WHOM] = SELF
        elif (other := OTHER_WORDS.search(text)) is not None:
            facts[FOR_WHOM] = OTHER
            if requested != WHO:
                age = turn.understanding.entities.get("age")
                facts[WHO] = other.group(1) + (f" อายุ {age} ปี" if isinstance(age, int) else "")
    if text:
        found = signs_in(text)
        if found:
            facts[URGENT] = sorted(set(signs_of(slots)) | set(found))
        elif requested == URGENT and (turn.understanding.polarity == "no" or re.match(r"^(?:ไม่มี|ไม่ใช่|ไม่)", text)):
            facts[URGENT] = NONE
    return facts


def urgency_shown(slots: dict[str, Any], knowledge: Knowledge) -> str:
    signs = signs_of(slots)
    if not signs:
        return knowledge.tickets.text("normal_value")
    return knowledge.tickets.text("urgent_value", signs=", ".join(SIGN_LABELS[s] for s in signs))


def who_shown(slots: dict[str, Any], knowledge: Knowledge) -> str:
    if slots.get(FOR_WHOM) == SELF:
        return knowledge.tickets.text("self_value")
    return tf.shown(slots.get(WHO), knowledge)


def summary(slots: dict[str, Any]) -> str:
    knowledge = get_knowledge()
    return knowledge.tickets.text(
        "help_summary",
        who=who_shown(slots, knowledge),
        need=tf.shown(slots.get(NEED), knowledge),
        province=tf.province_shown(slots, knowledge),
        urgency=urgency_shown(slots, knowledge),
        contact=tf.contact_shown(slots, knowledge),
    )


def finish(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    province = tf.province_of(slots, knowledge)
    urgent = bool(signs_of(slots))
    need = str(slots.get(NEED) or "")
    details = tf.details_of(slots, FOR_WHOM, WHO, NEED)
    details["urgent_signs"] = signs_of(slots)
    ticket = NewTicket(
        kind="help_request",
        summary=f"ขอความช่วยเหลือ ({who_shown(slots, knowledge)}): {need[:80]}",
        details=details,
        urgency="urgent" if urgent else "normal",
        province=province,
        location=tf.location_info(slots),
        **tf.contact_fields(slots),
    )
    ticket_id = tf.open_ticket(turn, ticket)
    menu = tuple(knowledge.replies.main_menu)
    if ticket_id is None:
        return [TextReply(knowledge.tickets.text("unavailable"), menu)]
    text = knowledge.tickets.text("help_done", ticket_id=ticket_id, office=tf.office_shown(province, knowledge))
    if urgent:
        text = forms.join(text, knowledge.tickets.text("help_done_urgent"))
    return [TextReply(text, menu)]


def build(knowledge: Knowledge) -> forms.Form:
    texts = knowledge.tickets
    for_whom_buttons = (
        Button(label="ตัวเอง", text="ขอให้ตัวเอง", data=f"slot={FOR_WHOM}&value={SELF}"),
        Button(label="คนอื่น", text="ขอให้คนอื่น", data=f"slot={FOR_WHOM}&value={OTHER}"),
        forms.CANCEL_BUTTON,
    )
    urgent_buttons = (
        *(Button(label=label, text=label, data=f"slot={URGENT}&value={sign}") for sign, label in SIGN_LABELS.items()),
        Button(label="ไม่มีข้อไหนเลย", text="ไม่มีข้อไหนเลย", data=f"slot={URGENT}&value={NONE}"),
        forms.CANCEL_BUTTON,
    )
    return forms.Form(
        name=FLOW,
        intro=texts.text("help_intro"),
        slots=(
            forms.Slot(FOR_WHOM, "choice", texts.text("help_for_whom"), for_whom_buttons),
            forms.Slot(
                WHO, "text", texts.text("help_who"), (forms.CANCEL_BUTTON,), needed=lambda s: s.get(FOR_WHOM) == OTHER
            ),
            forms.Slot(NEED, "text", texts.text("help_need"), (forms.CANCEL_BUTTON,)),
            tf.province_slot(knowledge),
            forms.Slot(URGENT, "choice", texts.text("help_urgent_question"), urgent_buttons),
            *tf.contact_slots(knowledge),
        ),
        finish=finish,
        extract=extract,
        summary=summary,
        intents=frozenset({"request_help"}),
    )


FORM = build(get_knowledge())


def accepts(turn: Turn) -> bool:
    return tf.accepts(FORM, turn)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    return tf.run(FORM, turn, knowledge)
