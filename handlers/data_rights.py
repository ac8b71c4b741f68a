"""PDPA: the privacy notice, giving, declining and withdrawing consent, and the user's rights."""

from __future__ import annotations

from handlers.base import Outcome, RecordConsent, TextReply, Turn
from knowledge.loader import Knowledge

name = "data_rights"

GIVE = {"ยินยอม", "consent:given", "ยอมรับ", "ตกลง", "agree", "ok ยินยอม"}
DECLINE = {"ไม่ยินยอม", "consent:declined", "ไม่ยอมรับ", "ไม่ตกลง", "disagree"}
WITHDRAW = {"ถอนความยินยอม", "consent:withdrawn", "ยกเลิกความยินยอม"}
SHOW_NOTICE = {"ประกาศความเป็นส่วนตัว", "นโยบายความเป็นส่วนตัว", "privacy", "pdpa"}

CONSENT_STATE_THAI = {
    "unknown": "ยังไม่ได้ให้ความยินยอม",
    "given": "ให้ความยินยอมแล้ว",
    "declined": "ไม่ยินยอม",
    "withdrawn": "ถอนความยินยอมแล้ว",
}


def command_of(turn: Turn) -> str:
    """The consent command in a text or postback, normalised for lookup."""
    raw = turn.postback_data or turn.text or ""
    return raw.strip().lower()


def is_consent_command(command: str) -> bool:
    return command in GIVE | DECLINE | WITHDRAW | SHOW_NOTICE


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    command = command_of(turn)
    version = replies.privacy_notice_version
    if command in GIVE:
        return Outcome(
            [TextReply(replies.consent_given, tuple(replies.main_menu))],
            [RecordConsent("given", version)],
        )
    if command in DECLINE:
        return Outcome(
            [TextReply(replies.consent_declined, tuple(replies.main_menu))],
            [RecordConsent("declined", version)],
        )
    if command in WITHDRAW:
        return Outcome(
            [TextReply(replies.consent_withdrawn, tuple(replies.main_menu))],
            [RecordConsent("withdrawn", version)],
        )
    if command in SHOW_NOTICE:
        return Outcome([TextReply(replies.privacy_notice, tuple(replies.consent_buttons))])
    status = CONSENT_STATE_THAI.get(turn.person.consent, turn.person.consent)
    summary = f"สถานะความยินยอมของคุณ: {status}\n\n{replies.privacy_notice}"
    return Outcome([TextReply(summary, tuple(replies.consent_buttons))])
