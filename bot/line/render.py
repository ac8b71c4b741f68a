"""Neutral handler replies → LINE message objects (text with quick replies, Flex bubbles)."""

from __future__ import annotations

from typing import Any

from handlers.base import CardReply, Reply, TextReply
from knowledge.loader import LINE_QUICK_REPLY_LIMIT, LINE_TEXT_LIMIT, Button

MESSAGES_PER_REQUEST = 5  # LINE's limit for one reply or push


def _quick_reply(buttons: tuple[Button, ...]) -> dict[str, Any]:
    items = [
        {"type": "action", "action": {"type": "message", "label": b.label, "text": b.text}}
        for b in buttons[:LINE_QUICK_REPLY_LIMIT]
    ]
    return {"items": items}


def _split_text(text: str) -> list[str]:
    """Texts over LINE's limit become several messages, split at line breaks where possible."""
    if len(text) <= LINE_TEXT_LIMIT:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > LINE_TEXT_LIMIT:
        cut = rest.rfind("\n", 0, LINE_TEXT_LIMIT)
        cut = cut if cut > 0 else LINE_TEXT_LIMIT
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return parts


def _text_messages(reply: TextReply) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"type": "text", "text": part} for part in _split_text(reply.text)]
    if reply.quick_replies:
        messages[-1]["quickReply"] = _quick_reply(reply.quick_replies)
    return messages


def _card_message(reply: CardReply) -> dict[str, Any]:
    body: list[dict[str, Any]] = [{"type": "text", "text": reply.title, "weight": "bold", "size": "lg", "wrap": True}]
    body += [{"type": "text", "text": line, "wrap": True, "size": "sm", "margin": "md"} for line in reply.lines]
    bubble: dict[str, Any] = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": body}}
    if reply.buttons:
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "height": "sm",
                    "color": "#06C755",
                    "action": {"type": "message", "label": b.label, "text": b.text},
                }
                for b in reply.buttons
            ],
        }
    message: dict[str, Any] = {"type": "flex", "altText": reply.alt_text[:400], "contents": bubble}
    if reply.quick_replies:
        message["quickReply"] = _quick_reply(reply.quick_replies)
    return message


def render(replies: list[Reply]) -> list[dict[str, Any]]:
    """Every reply as LINE message objects, in order."""
    messages: list[dict[str, Any]] = []
    for reply in replies:
        if isinstance(reply, TextReply):
            messages += _text_messages(reply)
        else:
            messages.append(_card_message(reply))
    return messages


def plain_text(message: dict[str, Any]) -> str:
    """What a message says, for the conversation log (Flex falls back to its alt text)."""
    if message.get("type") == "text":
        return str(message.get("text", ""))
    return str(message.get("altText", ""))


def batches(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """LINE requests of at most five messages each."""
    return [messages[i : i + MESSAGES_PER_REQUEST] for i in range(0, len(messages), MESSAGES_PER_REQUEST)]
