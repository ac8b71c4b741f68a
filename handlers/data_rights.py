"""PDPA: the privacy notice, consent per purpose, "ข้อมูลของฉัน" (what is stored) and erasure on request.

Consent is recorded only from an explicit decision: the consent buttons (postbacks such as
"consent=general&state=given") or the typed words "ยินยอม" / "ไม่ยินยอม" / "ถอนความยินยอม". A bare "ตกลง" or
"ok" answers whatever was asked and is never read as consent. Two purposes: "general" (using the service)
and "sensitive" (health and disability data, PDPA s.26), the latter asked by the form that needs it with
`forms.sensitive_consent_reply`.

Erasure is a small form: the request ("ลบข้อมูลของฉัน", "ลบข้อมูลผมด้วย", the button) asks for a confirmation
(form ERASE_FORM); "ยืนยันลบ" (or its postback) returns the EraseMyData effect, anything else cancels politely.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from pythainlp.util import thai_strftime

from handlers.base import (
    ConsentStatus,
    DialogueState,
    Effect,
    EraseMyData,
    Outcome,
    RecordConsent,
    StoredData,
    TextReply,
    Turn,
)
from handlers.forms import SENSITIVE_CONSENT
from knowledge.loader import Knowledge

name = "data_rights"

ERASE_FORM = "erase_data"
CONFIRM_SLOT = "confirm"
FORM = ERASE_FORM  # the engine's FORM_HANDLERS contract
# A form that asks sensitive consent sets this as its requested slot, so that a typed "ยินยอม" / "ไม่ยินยอม"
# answers the sensitive purpose rather than general use (the form itself usually takes that answer first).
SENSITIVE_SLOT = SENSITIVE_CONSENT

PURPOSES = {"general", "sensitive"}
STATES = {"given", "declined", "withdrawn"}

# Typed commands, compared after `normalise` (lower case, no spaces, no polite ending).
GIVE = {"ยินยอม", "ให้ความยินยอม", "ยินยอมให้เก็บข้อมูล", "consent:given"}
DECLINE = {"ไม่ยินยอม", "ไม่ให้ความยินยอม", "ไม่ยินยอมให้เก็บข้อมูล", "consent:declined"}
WITHDRAW = {"ถอนความยินยอม", "ขอถอนความยินยอม", "ยกเลิกความยินยอม", "consent:withdrawn"}
SHOW_NOTICE = {"ประกาศความเป็นส่วนตัว", "นโยบายความเป็นส่วนตัว", "privacy", "pdpa", "privacypolicy"}
ERASE_CONFIRM = {"ยืนยัน", "ยืนยันลบ", "ยืนยันการลบ", "ลบเลย", "ใช่ลบ", "ใช่ลบเลย", "ลบได้เลย", "ลบ"}
# A message that is nothing but an erasure request: safe to act on even in the middle of another form.
ERASE_COMMAND = re.compile(
    r"^(ขอ|ช่วย)?ลบ(ข้อมูล|ประวัติ)(ส่วนตัว|ทั้งหมด)?(ของ)?(ฉัน|ผม|หนู|เรา|ดิฉัน|ข้อย|กู)?(ทั้งหมด|ออก)?"
    r"(ด้วย|ให้หน่อย|หน่อย|ให้ด้วย|ที|เลย)?$"
)
# Inside a data-rights question: any mention of deleting the person's data, chats or pictures.
ERASE_WISH = re.compile(r"ลบ.*(ข้อมูล|ประวัติ|แชท|ข้อความ|บัญชี|รูป|ไฟล์)|(ข้อมูล|ประวัติ|แชท|ข้อความ|บัญชี|รูป).*ลบ")
ERASE_WISH_EN = re.compile(r"\b(delete|remove|erase)\b.*\b(data|information|info|chat|account|me)\b")
POLITE_ENDING = re.compile(r"(นะ)?(ค่ะ|คะ|ค่า|ครับ|คับ|ฮะ|จ้า|จ้ะ|นะ)+$")
# "When will my data be deleted?" asks about retention; it is not a request to erase.
RETENTION_QUESTION = re.compile(r"เมื่อไหร่|เมื่อไร|กี่วัน|กี่เดือน|กี่ปี|นานแค่ไหน|\bwhen\b|how long")

CONSENT_STATE_THAI = {
    "unknown": "ยังไม่ได้ตอบ",
    "given": "ให้ความยินยอมแล้ว",
    "declined": "ไม่ยินยอม",
    "withdrawn": "ถอนความยินยอมแล้ว",
}
BANGKOK = timezone(timedelta(hours=7))


def normalise(raw: str) -> str:
    """Lower case, without spaces and a trailing polite particle: "ยินยอม ค่ะ" → "ยินยอม"."""
    text = re.sub(r"\s+", "", raw.strip().lower())
    return POLITE_ENDING.sub("", text) or text


def command_of(turn: Turn) -> str:
    """The consent command in a text or postback, normalised for lookup."""
    raw = turn.postback_data or turn.text or ""
    return normalise(raw)


def _postback_of(command: str) -> dict[str, str]:
    if "=" not in command:
        return {}
    pairs = (part.split("=", 1) for part in command.split("&") if "=" in part)
    return {key: value for key, value in pairs}


def is_consent_command(command: str) -> bool:
    """A data-rights command that data_rights answers from anywhere, even in the middle of a form."""
    postback = _postback_of(command)
    if postback:
        return "consent" in postback or "privacy" in postback or postback.get("erase") in ("confirm", "cancel")
    return command in GIVE | DECLINE | WITHDRAW | SHOW_NOTICE or ERASE_COMMAND.match(command) is not None


def accepts(turn: Turn) -> bool:
    """While the erasure question is pending every answer is its: a confirmation erases, anything else cancels."""
    return turn.state.form == ERASE_FORM


def decision_of(turn: Turn) -> tuple[str, str] | None:
    """The explicit consent decision in this turn as (purpose, state); purpose "all" withdraws every purpose."""
    postback = turn.postback
    if "consent" in postback:
        purpose, state = postback["consent"], postback.get("state", "")
        if purpose in PURPOSES | {"all"} and state in STATES:
            return purpose, state
        return None
    command = command_of(turn)
    typed_purpose = "sensitive" if turn.state.requested_slot == SENSITIVE_SLOT else "general"
    if command in GIVE:
        return typed_purpose, "given"
    if command in DECLINE:
        return typed_purpose, "declined"
    if command in WITHDRAW:
        return "all", "withdrawn"
    return None


def wants_erasure(turn: Turn) -> bool:
    if turn.postback.get("privacy") == "erase":
        return True
    command = command_of(turn)
    if ERASE_COMMAND.match(command):
        return True
    text = (turn.text or "").lower()
    if RETENTION_QUESTION.search(text):
        return False
    return ERASE_WISH.search(command) is not None or ERASE_WISH_EN.search(text) is not None


def is_erase_confirmation(turn: Turn) -> bool:
    if turn.postback:
        return turn.postback.get("erase") == "confirm"
    return turn.state.form == ERASE_FORM and command_of(turn) in ERASE_CONFIRM


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    menu = tuple(replies.main_menu)
    if is_erase_confirmation(turn):
        return Outcome([TextReply(replies.erase_done, menu)], [EraseMyData()], state=DialogueState())
    decision = decision_of(turn)
    if decision is not None:
        return _record(turn, knowledge, *decision)
    if turn.postback.get("privacy") == "notice" or command_of(turn) in SHOW_NOTICE:
        return Outcome([TextReply(replies.privacy_notice, tuple(replies.consent_buttons))], state=turn.state)
    if turn.state.form != ERASE_FORM and wants_erasure(turn):
        asking = replace(turn.state, form=ERASE_FORM, requested_slot=CONFIRM_SLOT, slots={})
        return Outcome([TextReply(replies.erase_question, tuple(replies.erase_buttons))], state=asking)
    if turn.state.form == ERASE_FORM or turn.postback.get("erase") == "cancel":
        left = replace(turn.state, form=None, requested_slot=None, slots={})
        return Outcome([TextReply(replies.erase_cancelled, menu)], state=left)
    return Outcome([TextReply(summary_text(turn, knowledge), tuple(replies.my_data_buttons))])


def _record(turn: Turn, knowledge: Knowledge, purpose: str, state: str) -> Outcome:
    replies = knowledge.replies
    version = replies.privacy_notice_version
    menu = tuple(replies.main_menu)
    # A decision never ends a form in progress (a form asks sensitive consent in its middle).
    kept = replace(turn.state, requested_slot=None) if turn.state.requested_slot == SENSITIVE_SLOT else turn.state
    if purpose == "sensitive":
        text = replies.sensitive_consent_given if state == "given" else replies.sensitive_consent_declined
        return Outcome([TextReply(text)], [RecordConsent(state, version, "sensitive")], state=kept)
    if state == "withdrawn":
        effects: list[Effect] = [RecordConsent("withdrawn", version)]
        if purpose == "all" and turn.person.sensitive_consent == "given":
            effects.append(RecordConsent("withdrawn", version, "sensitive"))
        return Outcome([TextReply(replies.consent_withdrawn, menu)], effects, state=kept)
    text = replies.consent_given if state == "given" else replies.consent_declined
    return Outcome([TextReply(text, menu)], [RecordConsent(state, version)], state=kept)


def thai_date(moment: datetime) -> str:
    """ "2 ธ.ค. 2569": Buddhist era, Bangkok time."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(BANGKOK)
    return str(thai_strftime(local, "%-d %b %Y"))


def _consent_line(status: ConsentStatus, current: str) -> str:
    text = CONSENT_STATE_THAI.get(current, current)
    return f"{text} ({thai_date(status.decided_at)})" if status.decided_at is not None else text


def _count(n: int, unit: str, since: datetime | None) -> str:
    if n <= 0:
        return "ไม่มี"
    return f"{n:,} {unit}" + (f" ตั้งแต่ {thai_date(since)}" if since is not None else "")


def summary_text(turn: Turn, knowledge: Knowledge) -> str:
    """What is stored about the person, from the facts processing put in `turn.stored`."""
    stored = turn.stored if turn.stored is not None else StoredData()
    general = _consent_line(stored.consent("general"), turn.person.consent)
    sensitive = _consent_line(stored.consent("sensitive"), turn.person.sensitive_consent)
    flow = "มี (ลบเองเมื่อไม่ได้คุยต่อ 30 นาที)" if turn.state.form else "ไม่มี"
    tickets_part = f"\n• เรื่องที่แจ้งไว้: {stored.tickets:,} เรื่อง" if stored.tickets is not None else ""
    erased_part = f"\n• ลบข้อมูลตามคำขอล่าสุด: {thai_date(stored.erased_at)}" if stored.erased_at else ""
    return knowledge.replies.my_data.format(
        general=general,
        sensitive=sensitive,
        messages=_count(stored.messages, "ข้อความ", stored.messages_since),
        attachments=_count(stored.attachments, "ไฟล์", stored.attachments_since),
        profile="เก็บไว้" if stored.profile_name else "ไม่ได้เก็บ",
        flow=flow,
        tickets_part=tickets_part,
        erased_part=erased_part,
    )
