"""Out of scope: not this ministry's business, or not understood ("did you mean" the likeliest three)."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Button, Knowledge

name = "fallback"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    intents = knowledge.intent_replies.intents
    suggestions = [intents[i].button for i in turn.understanding.alternatives if i in intents]
    if suggestions:
        menu = Button(label="เมนูหลัก", text=intents["greeting"].also[0] if intents["greeting"].also else "เมนู")
        return Outcome([TextReply(replies.did_you_mean, (*suggestions, menu))])
    if turn.kind.value == "text" and turn.understanding.confidence > 0:
        return Outcome([TextReply(intents["out_of_scope"].answer, tuple(replies.main_menu))])
    return Outcome([TextReply(replies.fallback, tuple(replies.main_menu))])
