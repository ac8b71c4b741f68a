"""Neutral message content: what is said to a person, as plain JSON, independent of LINE.

Every message to a person goes through `storage.outbox.send` in this form; the sender (`bot/sender.py`)
renders it to LINE message objects when it sends (`bot/line/render.py: line_messages`), so the console and
jobs build content here without importing `bot/`. It is the JSON form of `handlers.base.TextReply` and
`CardReply` (`handlers/content.py` converts):

    {"format": "neutral", "type": "text", "text": "...", "quick_replies": [button, ...]}
    {"format": "neutral", "type": "card", "alt_text": "...", "title": "...", "lines": ["..."],
     "buttons": [button, ...], "quick_replies": [button, ...], "figure": "..." | None, "footnote": ... | None}
    button: {"label": "...", "text": "...", "data": "..." (a postback) | "tel": "1300" (a call)}

The `"format": "neutral"` marker tells these items from the LINE message objects that outbox rows written
before this form held (already rendered; the sender passes those through unchanged).

`normalise` makes each item exactly one LINE message (a text over LINE's 5,000 characters becomes several
items, split at line breaks where possible, the quick replies on the last), so the outbox can put at most
five items in one request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

Content = dict[str, Any]

NEUTRAL = "neutral"
TEXT_LIMIT = 5000  # LINE's limit for one text message (knowledge.loader.LINE_TEXT_LIMIT)
ALT_TEXT_LIMIT = 400  # LINE's limit for a Flex message's altText
MESSAGES_PER_REQUEST = 5  # LINE's limit for one reply or push
EMPTY_TEXT = "…"  # LINE refuses an empty text: a reply with nothing to say still says something
DEFAULT_ALT_TEXT = "ข้อความจาก พม."


class ButtonLike(Protocol):
    """knowledge.loader.Button, or anything with its fields."""

    @property
    def label(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def data(self) -> str | None: ...

    @property
    def tel(self) -> str | None: ...


def button(label: str, text: str, *, data: str | None = None, tel: str | None = None) -> Content:
    """A button or quick reply: `text` is what the person is seen to say; `data` a postback, `tel` a call."""
    if data is not None and tel is not None:
        raise ValueError("a button is a postback or a phone call, not both")
    item: Content = {"label": label, "text": text}
    if data is not None:
        item["data"] = data
    if tel is not None:
        item["tel"] = tel
    return item


def button_of(b: ButtonLike) -> Content:
    return button(b.label, b.text, data=b.data, tel=b.tel)


def _buttons(buttons: Iterable[Content | ButtonLike]) -> list[Content]:
    return [dict(b) if isinstance(b, dict) else button_of(b) for b in buttons]


def text(body: str, quick_replies: Iterable[Content | ButtonLike] = ()) -> Content:
    """A text message, optionally with quick replies."""
    return {"format": NEUTRAL, "type": "text", "text": body, "quick_replies": _buttons(quick_replies)}


def card(
    *,
    alt_text: str,
    title: str,
    lines: Sequence[str] = (),
    buttons: Iterable[Content | ButtonLike] = (),
    quick_replies: Iterable[Content | ButtonLike] = (),
    figure: str | None = None,
    footnote: str | None = None,
) -> Content:
    """A card (a Flex bubble on LINE) with a plain-text fallback in `alt_text`."""
    return {
        "format": NEUTRAL,
        "type": "card",
        "alt_text": alt_text,
        "title": title,
        "lines": list(lines),
        "buttons": _buttons(buttons),
        "quick_replies": _buttons(quick_replies),
        "figure": figure,
        "footnote": footnote,
    }


def is_neutral(item: dict[str, Any]) -> bool:
    return item.get("format") == NEUTRAL


def split_text(body: str) -> list[str]:
    """A text over LINE's limit as several, split at line breaks where possible."""
    if len(body) <= TEXT_LIMIT:
        return [body]
    parts: list[str] = []
    rest = body
    while len(rest) > TEXT_LIMIT:
        cut = rest.rfind("\n", 0, TEXT_LIMIT)
        cut = cut if cut > 0 else TEXT_LIMIT
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return parts


def normalise(items: Iterable[Content]) -> list[Content]:
    """Each item as exactly one LINE message: empty texts say "…", long texts are split (quick replies on the
    last part). Items that are not neutral (LINE messages of old rows) pass through."""
    out: list[Content] = []
    for item in items:
        if not is_neutral(item) or item.get("type") != "text":
            out.append(item)
            continue
        body = str(item.get("text") or "")
        parts = [p for p in split_text(body if body.strip() else EMPTY_TEXT) if p.strip()]
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            out.append({**item, "text": part, "quick_replies": list(item.get("quick_replies") or []) if last else []})
    return out


def plain_text(item: Content) -> str:
    """What an item says, for the transcript: a text's text, a card's alt text (as LINE shows it)."""
    if not is_neutral(item):  # a LINE message object (rows from before the neutral form)
        if item.get("type") == "text":
            return str(item.get("text", ""))
        return str(item.get("altText", ""))
    if item.get("type") == "text":
        return str(item.get("text", ""))
    alt = str(item.get("alt_text") or "").strip() or str(item.get("title") or "").strip() or DEFAULT_ALT_TEXT
    return alt[:ALT_TEXT_LIMIT]


def transcript_kind(item: Content) -> str:
    """The transcript's kind for an item: "text", or "flex" for a card (as LINE messages were recorded)."""
    if is_neutral(item):
        return "text" if item.get("type") == "text" else "flex"
    return str(item.get("type"))


def batches(items: Sequence[Content]) -> list[list[Content]]:
    """Requests of at most five messages each."""
    return [list(items[i : i + MESSAGES_PER_REQUEST]) for i in range(0, len(items), MESSAGES_PER_REQUEST)]
