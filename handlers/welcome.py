"""A new follower: welcome, the PDPA privacy notice, and consent quick replies."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from handlers.menu import name_part
from knowledge.loader import Knowledge

name = "welcome"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    welcome = replies.welcome.format(name_part=name_part(turn.person.display_name))
    if turn.person.consent == "given":
        # A returning follower who consented before: no need to ask again.
        return Outcome([TextReply(welcome, tuple(replies.main_menu))])
    return Outcome([TextReply(welcome), TextReply(replies.privacy_notice, tuple(replies.consent_buttons))])
