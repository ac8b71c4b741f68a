"""Pieces the ticket flows share: province from text or a location, the call-back consent and phone, the
optional photo, showing values in a summary, Thai dates, and opening a ticket through `turn.tickets`."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers import forms, programmes
from handlers.base import EventKind, LocationInfo, NewTicket, Outcome, TextReply, Turn
from knowledge.loader import Button, Knowledge, get_knowledge

PROVINCE = "province"
PROVINCE_CHECK = "province_check"
LOCATION = "location"
CONTACT = "contact_consent"
PHONE = "phone"
PHOTO = "photo"
NO_PHOTO = "none"

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# A Thai mobile (06/08/09 + 8 digits) or landline (02/03/04/05/07 + 7 digits), "+66" written with its 0.
PHONE_SHAPE = re.compile(r"^0(?:[689]\d{8}|[23457]\d{7})$")
NO_PHOTO_WORDS = re.compile(r"^(?:ไม่มี|ไม่มีรูป|ไม่มีค่ะ|ไม่มีครับ|ไม่มีภาพ|ไม่มีหลักฐาน|ไม่ได้ถ่าย|ข้าม|ไม่ส่ง|ไม่ต้อง)")
MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
BANGKOK = timedelta(hours=7)


def phone_of(turn: Turn) -> str | None:
    """A phone number in the message: NLU's entity, else the digits of a bare number typed with separators."""
    found = turn.understanding.entities.get("phone")
    if isinstance(found, str) and PHONE_SHAPE.match(found):
        return found
    digits = re.sub(r"[\s\-.()]", "", (turn.text or "").translate(THAI_DIGITS))
    if digits.startswith("+66"):
        digits = "0" + digits[3:]
    return digits if PHONE_SHAPE.match(digits) else None


def looks_like_phone_attempt(turn: Turn) -> bool:
    """Mostly digits: someone typing a number that is not a valid phone."""
    text = (turn.text or "").translate(THAI_DIGITS)
    return sum(c.isdigit() for c in text) >= 5


def mask_phone(phone: str) -> str:
    """0812345678 → 081-xxx-5678: what summaries and lists show."""
    return f"{phone[:3]}-xxx-{phone[-4:]}" if len(phone) >= 9 else "xxx"


def location_of(turn: Turn) -> dict[str, Any] | None:
    where = turn.location
    if turn.kind is not EventKind.location or where is None:
        return None
    return {"latitude": where.latitude, "longitude": where.longitude, "address": where.address, "title": where.title}


def place_facts(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    """The province named in the text or read from a shared location (its address, or latitude/longitude where
    the NLU maps them), and the location itself. A location whose province is unknown still answers "where"."""
    facts: dict[str, Any] = {}
    province = turn.understanding.entities.get("province")
    if isinstance(province, str):
        facts[PROVINCE] = province
        # From a location near a border: shown for the person to confirm at the summary; typed: settled.
        facts[PROVINCE_CHECK] = turn.kind is EventKind.location and PROVINCE in turn.understanding.unsure
    where = location_of(turn)
    if where is not None:
        facts[LOCATION] = where
        if PROVINCE not in facts and slots.get(PROVINCE) in (None, forms.UNSURE_VALUE):
            facts[PROVINCE] = forms.UNSURE_VALUE  # routed from the coordinates by the officers' side
    return facts


def contact_facts(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    """A phone number given anywhere means the person agrees to be called on it."""
    phone = phone_of(turn)
    if phone is None:
        return {}
    return {PHONE: phone, CONTACT: True}


def photo_facts(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    attachment_id = turn.attachment.attachment_id if turn.attachment is not None else None
    if turn.kind in (EventKind.image, EventKind.file) and attachment_id is not None:
        return {PHOTO: attachment_id}
    if turn.state.requested_slot == PHOTO and turn.kind is EventKind.text:
        text = (turn.text or "").strip()
        if NO_PHOTO_WORDS.match(text) or turn.understanding.polarity == "no":
            return {PHOTO: NO_PHOTO}
    return {}


def province_slot(knowledge: Knowledge, question: str | None = None) -> forms.Slot:
    return forms.Slot(
        PROVINCE,
        "province",
        question or knowledge.tickets.text("province_question"),
        (
            Button(label="กรุงเทพฯ", text="กรุงเทพ"),
            Button(label="ไม่ทราบ", text="ไม่ทราบ", data=f"slot={PROVINCE}&value=unsure"),
            forms.CANCEL_BUTTON,
        ),
    )


def contact_slots(knowledge: Knowledge) -> tuple[forms.Slot, ...]:
    return (
        forms.Slot(
            CONTACT,
            "yesno",
            knowledge.tickets.text("contact_question"),
            (
                Button(label="โทรกลับได้", text="โทรกลับได้ค่ะ", data="answer=yes"),
                Button(label="ตอบในแชตพอ", text="ไม่ต้องโทร ตอบในแชตนี้", data="answer=no"),
                forms.CANCEL_BUTTON,
            ),
        ),
        forms.Slot(PHONE, "phone", knowledge.tickets.text("phone_question"), (forms.CANCEL_BUTTON,), needed=wants_call),
    )


def photo_slot(knowledge: Knowledge) -> forms.Slot:
    return forms.Slot(
        PHOTO,
        "image",
        knowledge.tickets.text("photo_question"),
        (Button(label="ไม่มีรูป", text="ไม่มีรูป", data=f"slot={PHOTO}&value={NO_PHOTO}"), forms.CANCEL_BUTTON),
    )


def wants_call(slots: dict[str, Any]) -> bool:
    return slots.get(CONTACT) is True


def accepts_media(form: forms.Form, turn: Turn) -> bool:
    """A location when the form still wants a province, a photo when it asks for one."""
    state = turn.state
    if state.form != form.name:
        return False
    if turn.kind is EventKind.location and turn.location is not None:
        return form.slot(PROVINCE) is not None
    if turn.kind in (EventKind.image, EventKind.file):
        return state.requested_slot == PHOTO or (form.slot(PHOTO) is not None and PHOTO not in state.slots)
    return False


def phone_retry_lead(turn: Turn, knowledge: Knowledge) -> str | None:
    """When the phone was asked and the answer is not a valid number: say why, not just "not understood"."""
    if turn.state.requested_slot == PHONE and turn.kind is EventKind.text and phone_of(turn) is None:
        return knowledge.tickets.text("phone_invalid")
    return None


# --- showing values ------------------------------------------------------------------------------------


def shown(value: Any, knowledge: Knowledge) -> str:
    if value in (None, "", forms.UNSURE_VALUE):
        return knowledge.tickets.text("unknown_value")
    return str(value)


def province_shown(slots: dict[str, Any], knowledge: Knowledge) -> str:
    province = slots.get(PROVINCE)
    if isinstance(province, str) and province != forms.UNSURE_VALUE:
        if slots.get(PROVINCE_CHECK):
            return knowledge.tickets.text("province_unsure_value", province=province)
        return province
    if slots.get(LOCATION):
        return knowledge.tickets.text("location_value")
    return knowledge.tickets.text("unknown_value")


def contact_shown(slots: dict[str, Any], knowledge: Knowledge) -> str:
    phone = slots.get(PHONE)
    if slots.get(CONTACT) is True and isinstance(phone, str) and PHONE_SHAPE.match(phone):
        return f"โทรกลับที่ {mask_phone(phone)}"
    return knowledge.tickets.text("no_call_value")


def photo_shown(slots: dict[str, Any], knowledge: Knowledge) -> str:
    return knowledge.tickets.text("photo_value" if isinstance(slots.get(PHOTO), int) else "no_photo_value")


def office_shown(province: str | None, knowledge: Knowledge) -> str:
    if province is None:
        return knowledge.tickets.text("central_queue")
    return knowledge.offices.office_name(province) or (
        "ศูนย์ช่วยเหลือสังคม สายด่วน 1300 (กรุงเทพฯ)" if province == "กรุงเทพมหานคร" else province
    )


def thai_date(seconds: float) -> str:
    """ "2 ธ.ค. 2569 14:05" in Thailand's time, Buddhist-era year."""
    when = datetime.fromtimestamp(seconds, UTC) + BANGKOK
    return f"{when.day} {MONTHS[when.month - 1]} {when.year + 543} {when:%H:%M}"


# --- opening -------------------------------------------------------------------------------------------


def province_of(slots: dict[str, Any], knowledge: Knowledge) -> str | None:
    province = slots.get(PROVINCE)
    return province if isinstance(province, str) and province in knowledge.offices.provinces else None


def location_info(slots: dict[str, Any]) -> LocationInfo | None:
    where = slots.get(LOCATION)
    if not isinstance(where, dict):
        return None
    return LocationInfo(float(where["latitude"]), float(where["longitude"]), where.get("address"), where.get("title"))


def contact_fields(slots: dict[str, Any]) -> dict[str, Any]:
    phone = slots.get(PHONE)
    valid = slots.get(CONTACT) is True and isinstance(phone, str) and bool(PHONE_SHAPE.match(phone))
    return {"phone": phone if valid else None, "contact_consent": valid}


def attachments(slots: dict[str, Any]) -> tuple[int, ...]:
    photo = slots.get(PHOTO)
    return (photo,) if isinstance(photo, int) else ()


def details_of(slots: dict[str, Any], *names: str) -> dict[str, Any]:
    """The form's slots for the ticket's details: never the phone (stored encrypted on its own)."""
    return {name: slots[name] for name in names if name in slots and slots[name] not in (None, forms.UNSURE_VALUE)}


def open_ticket(turn: Turn, ticket: NewTicket) -> str | None:
    """The new ticket's ID, or None where tickets cannot be opened (the reply then gives 1300)."""
    if turn.tickets is None:
        return None
    return turn.tickets.open(ticket)


def now(turn: Turn) -> float:
    return turn.now or time.time()


# --- running a ticket form -----------------------------------------------------------------------------

# While a ticket form asks for a story, these intents are the story itself ("เจ้าหน้าที่ อบต. ไม่ยอมรับเรื่อง"
# reads as contact_office), not a side question.
STORY_INTENTS = frozenset(
    {"out_of_scope", "complaint", "request_help", "report_case", "contact_office", "talk_to_officer"}
)

# A side question during a story ("บัตรคนจนลงทะเบียนยังไง") asks; a story about a programme tells.
QUESTION = re.compile(
    r"(ไหม|มั้ย|มั๊ย|อะไร|ยังไง|อย่างไร|เท่าไร|เท่าไหร่|ไหน|เมื่อไร|เมื่อไหร่|กี่|ทำไม|หรือเปล่า|รึเปล่า|ได้บ้าง|คะ\s*$|\?)"
)


def accepts(form: forms.Form, turn: Turn) -> bool:
    """forms.accepts, plus: a location or photo the form can use, any number typed when a phone was asked,
    and free text for a story slot unless it clearly asks about something else."""
    state = turn.state
    if state.form != form.name:
        return False
    if accepts_media(form, turn):
        return True
    if turn.kind is EventKind.text and state.requested_slot == PHONE and looks_like_phone_attempt(turn):
        return True
    requested = form.slot(state.requested_slot)
    story_slot = requested is not None and requested.kind == "text" and turn.kind is EventKind.text
    if story_slot and (side_question(turn) or is_command(turn)):
        return False  # "แล้วเงินเข้าวันไหนนะ" after a programme's answer, a menu tap: answered, then asked again
    if (
        story_slot
        and (turn.text or "").strip()
        and (
            turn.understanding.intent in STORY_INTENTS
            or turn.understanding.confidence < 0.9
            or not QUESTION.search(turn.text or "")
        )
    ):
        return True
    return forms.accepts(form, turn)


def is_command(turn: Turn) -> bool:
    """A menu button's text or another intent's exact command ("เรื่องของฉัน", "เบี้ยผู้สูงอายุ")."""
    text = (turn.text or "").strip().lower()
    return get_knowledge().intent_replies.commands().get(text) not in (None, *STORY_INTENTS)


def side_question(turn: Turn) -> bool:
    """A question about the programme just discussed, asked while a story was wanted."""
    return bool(QUESTION.search(turn.text or "")) and programmes.accepts_follow_up(turn, get_knowledge())


def run(form: forms.Form, turn: Turn, knowledge: Knowledge) -> Outcome:
    """forms.run, saying why a phone number was not taken rather than only "not understood"."""
    outcome = forms.run(form, turn, knowledge)
    lead = phone_retry_lead(turn, knowledge)
    asked_again = outcome.state is not None and outcome.state.requested_slot == PHONE
    if lead and asked_again and outcome.replies and isinstance(outcome.replies[0], TextReply):
        first = outcome.replies[0]
        outcome.replies[0] = replace(first, text=forms.join(lead, knowledge.tickets.text("phone_question")))
    return outcome


POLITE = re.compile(r"ค่ะ|คะ|ครับ|คับ|จ้า|นะ|ได้ไหม|ได้มั้ย|[\s.!?~]")
MIN_STORY = 6  # letters left after the command words and politeness: below this there is no story yet


def story(text: str, filler: re.Pattern[str]) -> str | None:
    """The opening message as the form's description when it says more than the command ("ร้องเรียนค่ะ")."""
    rest = POLITE.sub("", filler.sub("", text))
    return text if len(rest) >= MIN_STORY else None
