"""Danger now: the hotlines in the very first message, before anything else."""

from __future__ import annotations

from dataclasses import replace

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Button, Knowledge

name = "emergency"


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    # Overrides any flow in progress: the flow is dropped so the next message starts fresh.
    answer = knowledge.intent_replies.intents["emergency"].answer
    buttons = (Button(label="ขอความช่วยเหลือ", text="ขอความช่วยเหลือ"), Button(label="เมนูหลัก", text="เมนู"))
    state = replace(
        turn.state,
        form=None,
        requested_slot=None,
        slots={},
        emergency=turn.understanding.danger or "",
        emergency_at=turn.now,
    )
    return Outcome([TextReply(answer, buttons)], state=state)
