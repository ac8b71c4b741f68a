"""Handler replies as neutral content (`storage.content`), the form every message to a person is stored in."""

from __future__ import annotations

from collections.abc import Iterable

from handlers.base import Reply, TextReply
from storage import content
from storage.content import Content


def to_content(reply: Reply) -> Content:
    if isinstance(reply, TextReply):
        return content.text(reply.text, reply.quick_replies)
    return content.card(
        alt_text=reply.alt_text,
        title=reply.title,
        lines=reply.lines,
        buttons=reply.buttons,
        quick_replies=reply.quick_replies,
        figure=reply.figure,
        footnote=reply.footnote,
    )


def contents(replies: Iterable[Reply]) -> list[Content]:
    return [to_content(reply) for reply in replies]
