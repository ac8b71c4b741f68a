"""A short, correct answer for intents whose full capability comes in a later issue: where to go, whom to call."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "routing"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    reply = knowledge.intent_replies.intents[turn.understanding.intent]
    return Outcome([TextReply(reply.answer, tuple(knowledge.replies.main_menu))])
