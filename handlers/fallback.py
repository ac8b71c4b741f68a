"""Out of scope: not this ministry's business, or not understood ("did you mean" the likeliest three)."""

from __future__ import annotations

import re

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Button, Knowledge

name = "fallback"
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
BARE_NUMBER = re.compile(r"^\s*(\d{1,3})\s*(?:ปี|ค่ะ|คะ|ครับ|คับ|จ้า)?\s*$")


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    bare = BARE_NUMBER.match((turn.text or "").translate(THAI_DIGITS))
    age = int(bare.group(1)) if bare else None
    if age is not None and 0 < age <= 120:
        # A bare "67" with nothing asked: ask one short question instead of guessing.
        buttons = (
            Button(label="เช็คสิทธิ", text=f"เช็คสิทธิ อายุ {age}"),
            Button(label="เบี้ยผู้สูงอายุ", text=f"เบี้ยผู้สูงอายุ อายุ {age}"),
            Button(label="เมนูหลัก", text="เมนู"),
        )
        return Outcome([TextReply(replies.bare_age_question.format(age=age), buttons)])
    intents = knowledge.intent_replies.intents
    suggestions = [intents[i].button for i in turn.understanding.alternatives if i in intents]
    if suggestions:
        menu = Button(label="เมนูหลัก", text=intents["greeting"].also[0] if intents["greeting"].also else "เมนู")
        return Outcome([TextReply(replies.did_you_mean, (*suggestions, menu))])
    if turn.kind.value == "text" and turn.understanding.confidence > 0:
        return Outcome([TextReply(intents["out_of_scope"].answer, tuple(replies.main_menu))])
    return Outcome([TextReply(replies.fallback, tuple(replies.main_menu))])
