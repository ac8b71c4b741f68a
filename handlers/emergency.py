"""Danger now: the hotlines in the very first message, before anything else."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Button, Knowledge

name = "emergency"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    # Overrides any flow in progress: the flow is dropped so the next message starts fresh.
    call_buttons = (Button(label="โทร 1300", text="โทร 1300"), Button(label="ขอความช่วยเหลือ", text="ขอความช่วยเหลือ"))
    return Outcome([TextReply(knowledge.replies.emergency, call_buttons)], flow=None, slots={})
