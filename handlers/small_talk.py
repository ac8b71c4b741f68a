"""Thanks, a bare yes or no when nothing was asked, and other pleasantries."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "small_talk"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    if turn.understanding.polarity and turn.understanding.intent != "thanks":
        return Outcome([TextReply(knowledge.replies.acknowledged, tuple(knowledge.replies.main_menu))])
    answer = knowledge.intent_replies.intents["thanks"].answer
    return Outcome([TextReply(answer, tuple(knowledge.replies.main_menu))])
