"""Neutral content → LINE message objects (text with quick replies, Flex bubbles).

The sender calls `line_messages` on an outbox row's content when it sends (`storage.content` is the neutral
JSON form of handlers' TextReply and CardReply); `render` does the same for handler replies directly.
"""

from __future__ import annotations

from typing import Any

from handlers.base import CardReply, Reply, TextReply
from handlers.content import contents
from knowledge.loader import LINE_QUICK_REPLY_LIMIT, LINE_TEXT_LIMIT, Button
from storage import content
from storage.content import Content

ALT_TEXT_LIMIT = 400
LABEL_LIMIT = 20
DISPLAY_TEXT_LIMIT = 300
DATA_LIMIT = 300
BRAND_GREEN = "#06C755"
MUTED = "#888888"


def action(button: Button) -> dict[str, Any]:
    """A button's LINE action: a postback showing its text (value in data), a phone call, or a message."""
    label = button.label[:LABEL_LIMIT]
    if button.data is not None:
        return {
            "type": "postback",
            "label": label,
            "data": button.data[:DATA_LIMIT],
            "displayText": button.text[:DISPLAY_TEXT_LIMIT],
        }
    if button.tel is not None:
        return {"type": "uri", "label": label, "uri": f"tel:{button.tel}"}
    return {"type": "message", "label": label, "text": button.text}


def _quick_reply(buttons: tuple[Button, ...]) -> dict[str, Any]:
    return {"items": [{"type": "action", "action": action(b)} for b in buttons[:LINE_QUICK_REPLY_LIMIT]]}


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
    # LINE refuses an empty text: a reply with nothing to say still says something.
    text = reply.text if reply.text.strip() else "…"
    messages: list[dict[str, Any]] = [{"type": "text", "text": part} for part in _split_text(text) if part.strip()]
    if reply.quick_replies:
        messages[-1]["quickReply"] = _quick_reply(reply.quick_replies)
    return messages


def _text(text: str | None, **style: Any) -> list[dict[str, Any]]:
    """A Flex text component, or none at all for an empty text (Flex rejects empty text)."""
    if text is None or not text.strip():
        return []
    return [{"type": "text", "text": text.strip(), "wrap": True, **style}]


def _card_message(reply: CardReply) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if reply.figure and reply.figure.strip():
        body += _text(reply.title, weight="bold", size="sm", color=MUTED)
        body += _text(reply.figure, weight="bold", size="xl", color=BRAND_GREEN, margin="sm")
    else:
        body += _text(reply.title, weight="bold", size="lg")
    for line in reply.lines:
        body += _text(line, size="sm", margin="md")
    footnote = _text(reply.footnote, size="xxs", color=MUTED, margin="lg")
    if footnote:
        body += [{"type": "separator", "margin": "lg"}, *footnote]
    alt_text = (reply.alt_text.strip() or reply.title.strip() or "ข้อความจาก พม.")[:ALT_TEXT_LIMIT]
    if not body:
        body = _text(alt_text, size="sm")
    bubble: dict[str, Any] = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": body}}
    if reply.buttons:
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary" if n == 0 else "secondary",
                    "height": "sm",
                    **({"color": BRAND_GREEN} if n == 0 else {}),
                    "action": action(b),
                }
                for n, b in enumerate(reply.buttons)
            ],
        }
    message: dict[str, Any] = {"type": "flex", "altText": alt_text, "contents": bubble}
    if reply.quick_replies:
        message["quickReply"] = _quick_reply(reply.quick_replies)
    return message


def _button(item: Content) -> Button:
    # Not validated again: content written by the console or a job must still go out (labels are cut in `action`).
    return Button.model_construct(label=item["label"], text=item["text"], data=item.get("data"), tel=item.get("tel"))


def _buttons(items: list[Content] | None) -> tuple[Button, ...]:
    return tuple(_button(item) for item in items or [])


def reply_of(item: Content) -> Reply:
    """A neutral item back as the handler reply it is the JSON form of."""
    if item.get("type") == "text":
        return TextReply(str(item.get("text") or ""), _buttons(item.get("quick_replies")))
    return CardReply(
        alt_text=str(item.get("alt_text") or ""),
        title=str(item.get("title") or ""),
        lines=tuple(item.get("lines") or ()),
        buttons=_buttons(item.get("buttons")),
        quick_replies=_buttons(item.get("quick_replies")),
        figure=item.get("figure"),
        footnote=item.get("footnote"),
    )


def line_messages(items: list[Content]) -> list[dict[str, Any]]:
    """An outbox row's content as LINE message objects. Rows written before the neutral form hold LINE
    messages already: those pass through unchanged."""
    messages: list[dict[str, Any]] = []
    for item in items:
        if not content.is_neutral(item):
            messages.append(item)
            continue
        reply = reply_of(item)
        messages += _text_messages(reply) if isinstance(reply, TextReply) else [_card_message(reply)]
    return messages


def render(replies: list[Reply]) -> list[dict[str, Any]]:
    """Every reply as LINE message objects, in order (as the sender will send them)."""
    return line_messages(content.normalise(contents(replies)))


def plain_text(message: dict[str, Any]) -> str:
    """What a message says, for the conversation log (Flex falls back to its alt text)."""
    if message.get("type") == "text":
        return str(message.get("text", ""))
    return str(message.get("altText", ""))

