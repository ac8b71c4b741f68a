"""The handler interface: what a turn carries in, and the replies and effects that come out."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from knowledge.loader import Button, Knowledge


class EventKind(enum.StrEnum):
    text = "text"
    postback = "postback"
    follow = "follow"
    sticker = "sticker"
    image = "image"
    video = "video"
    audio = "audio"
    file = "file"
    location = "location"
    other_message = "other_message"


@dataclass(frozen=True)
class Understanding:
    """What NLU made of a text: one of DESIGN.md's intents, a confidence in 0..1, and entities."""

    intent: str
    confidence: float
    entities: dict[str, Any] = field(default_factory=dict)
    # Only when NLU was unsure: the likeliest intents, best first, offered as "did you mean" buttons.
    alternatives: tuple[str, ...] = ()
    danger: str | None = None  # the danger-lexicon category that matched, if any


@dataclass(frozen=True)
class Person:
    line_user_id: str
    display_name: str | None
    consent: str  # storage.users.ConsentState value
    is_new: bool


@dataclass(frozen=True)
class AttachmentInfo:
    attachment_id: int | None
    kind: str
    file_name: str | None
    size_bytes: int
    too_large: bool
    fetched: bool
    limit_bytes: int


@dataclass(frozen=True)
class LocationInfo:
    latitude: float
    longitude: float
    address: str | None
    title: str | None


@dataclass(frozen=True)
class Turn:
    person: Person
    kind: EventKind
    understanding: Understanding
    flow: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    postback_data: str | None = None
    attachment: AttachmentInfo | None = None
    location: LocationInfo | None = None


# --- replies (neutral: bot/line/render.py turns them into LINE messages) -------------------------


@dataclass(frozen=True)
class TextReply:
    text: str
    quick_replies: tuple[Button, ...] = ()


@dataclass(frozen=True)
class CardReply:
    """A card (a Flex bubble on LINE) with a plain-text fallback in `alt_text`."""

    alt_text: str
    title: str
    lines: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    quick_replies: tuple[Button, ...] = ()


Reply = TextReply | CardReply


# --- effects (applied by the dialogue engine in the turn's transaction) ---------------------------


@dataclass(frozen=True)
class RecordConsent:
    state: str  # storage.users.ConsentState value
    notice_version: str


Effect = RecordConsent


@dataclass
class Outcome:
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)
    flow: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)


class Handler(Protocol):
    """A capability. `name` appears in logs and metrics."""

    name: str

    def handle(self, turn: Turn, knowledge: Knowledge) -> Outcome: ...
