"""Thanks and other pleasantries."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "small_talk"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    answer = knowledge.intent_replies.intents["thanks"].answer
    return Outcome([TextReply(answer, tuple(knowledge.replies.main_menu))])
