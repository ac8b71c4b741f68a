"""Thanks and other pleasantries."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "small_talk"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    return Outcome([TextReply(knowledge.replies.thanks, tuple(knowledge.replies.main_menu))])
