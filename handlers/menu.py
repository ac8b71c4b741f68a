"""Greeting and the main menu: quick replies for the main capabilities."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "menu"


def name_part(display_name: str | None) -> str:
    """' คุณสมชาย' when we know the LINE display name, else nothing."""
    return f" คุณ{display_name}" if display_name else ""


def main_menu_reply(knowledge: Knowledge, text: str | None = None) -> TextReply:
    return TextReply(text or knowledge.replies.menu_prompt, tuple(knowledge.replies.main_menu))


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    if turn.understanding.intent == "greeting":
        greeting = knowledge.replies.greeting.format(name_part=name_part(turn.person.display_name))
        return Outcome([main_menu_reply(knowledge, greeting)])
    return Outcome([main_menu_reply(knowledge)])
