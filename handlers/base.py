"""The handler interface: what a turn carries in, and the replies and effects that come out."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from knowledge.loader import Button, Knowledge

# What is stored about a person: storage's types (storage imports nothing of ours), re-exported for handlers.
from storage.privacy import ConsentStatus as ConsentStatus
from storage.privacy import StoredData as StoredData


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
    # Read against what the bot had just asked (`understand(text, expect=...)`):
    answers: str | None = None  # the expected kind this message answers ("age", "yesno", …), if it does
    polarity: str | None = None  # "yes" / "no" / "unsure" when the whole message is such an answer
    people: tuple[tuple[str, int], ...] = ()  # ages by person ("แม่", 72), ("หลาน", 4)
    text: str = ""  # the message as understood: normalised, a message typed on the English layout repaired
    # Entities to confirm with the person before relying on them: "province" from a location near a border.
    unsure: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    line_user_id: str
    display_name: str | None
    consent: str  # storage.users.ConsentState value, for general use of the service
    is_new: bool
    # Consent for sensitive data (health, disability: PDPA s.26), asked separately when first needed.
    sensitive_consent: str = "unknown"


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
class DialogueState:
    """Where one person's conversation stands; committed in the same transaction as the turn's effects.

    Times are seconds since the epoch (UTC), so the state is plain JSON.
    """

    form: str | None = None  # the form in progress ("eligibility", "complaint", …)
    requested_slot: str | None = None  # what the bot has just asked for; a bare answer is read as it
    expect: str | None = None  # the kind of that answer, for the NLU ("age", "province", "yesno", …)
    slots: dict[str, Any] = field(default_factory=dict)  # the form's filled slots
    topic: str | None = None  # the programme id last discussed, for follow-ups without its name
    emergency: str | None = None  # the danger kind of a recent emergency ("violence", "suicide", …; "" unknown)
    emergency_at: float | None = None
    updated_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        # Unset fields are left out; emergency "" (a danger of unknown kind) is a value and stays.
        return {k: v for k, v in self.__dict__.items() if v is not None and v != {}}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["slots"] = dict(known.get("slots") or {})
        return cls(**known)


# --- tickets: the narrow port handlers act through (docs/tickets.md) --------------------------------


TICKET_KINDS = ("complaint", "help_request", "case_report", "emergency", "handoff")
TICKET_STATUSES = ("new", "acknowledged", "in_progress", "waiting_citizen", "resolved", "closed")


@dataclass(frozen=True)
class NewTicket:
    kind: str  # one of TICKET_KINDS
    summary: str  # one line for the officers' queue
    details: dict[str, Any] = field(default_factory=dict)  # the form's slots
    urgency: str = "normal"  # "normal" | "urgent"
    province: str | None = None  # official Thai name; None: the central queue routes it
    location: LocationInfo | None = None
    phone: str | None = None  # digits; stored encrypted, shown masked
    contact_consent: bool = False  # the person agreed to be called back
    attachment_ids: tuple[int, ...] = ()
    legal_basis: str | None = None  # why it was opened without the person's consent (a child in danger)


@dataclass(frozen=True)
class TicketView:
    """A ticket as its citizen may see it."""

    id: str
    kind: str
    status: str
    urgency: str
    province: str | None
    created_at: float  # seconds since the epoch
    last_public_update: str | None = None  # the last public event, in Thai
    last_public_at: float | None = None
    resolved_at: float | None = None  # when it was last resolved (a reopen is allowed for REOPEN_DAYS after)
    summary: str | None = None  # the one line the person's report became


REOPEN_DAYS = 7  # "ยังไม่ได้รับการแก้ไข" within this many days of `resolved` reopens the ticket


class TicketPort(Protocol):
    """What a handler may do with tickets, for the person of the turn, inside the turn's transaction."""

    def open(self, ticket: NewTicket) -> str: ...

    def mine(self, limit: int = 5) -> list[TicketView]: ...

    def find(self, ticket_id: str) -> TicketView | None: ...

    def add_message(self, ticket_id: str, text: str | None, attachment_id: int | None = None) -> bool: ...

    def withdraw(self, ticket_id: str) -> bool: ...

    def held_handoff(self) -> TicketView | None: ...

    def rate(self, ticket_id: str, score: int, comment: str | None = None) -> bool:
        """The person's 1–5 satisfaction (and optional comment) for their own resolved or closed ticket."""
        ...

    def reopen(self, ticket_id: str, text: str | None = None) -> bool:
        """"ยังไม่ได้รับการแก้ไข": back to in_progress when resolved within REOPEN_DAYS; False otherwise."""
        ...


@dataclass(frozen=True)
class Turn:
    person: Person
    kind: EventKind
    understanding: Understanding
    state: DialogueState = field(default_factory=DialogueState)
    text: str | None = None
    postback_data: str | None = None
    attachment: AttachmentInfo | None = None
    location: LocationInfo | None = None
    now: float = 0.0  # seconds since the epoch when the turn runs
    # What is stored about the person (counts, dates, consents): filled only for the data_rights intent.
    stored: StoredData | None = None
    tickets: TicketPort | None = None  # None where no tickets can be opened (unit tests without a fake)

    @property
    def postback(self) -> dict[str, str]:
        """A postback's data as key=value pairs ("slot=age&value=90"); empty for anything else."""
        if not self.postback_data or "=" not in self.postback_data:
            return {}
        return dict(parse_qsl(self.postback_data, keep_blank_values=True))


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
    figure: str | None = None  # the figure for this person ("700 บาท/เดือน"), shown big above the lines
    footnote: str | None = None  # the source and as-of date, shown small under the lines


Reply = TextReply | CardReply


# --- effects (applied by the dialogue engine in the turn's transaction) ---------------------------


@dataclass(frozen=True)
class RecordConsent:
    state: str  # storage.users.ConsentState value
    notice_version: str
    purpose: str = "general"  # "general" (using the service) or "sensitive" (health, disability data)


@dataclass(frozen=True)
class EraseMyData:
    """The person confirmed erasure of what is stored about them (PDPA s.33)."""


Effect = RecordConsent | EraseMyData


@dataclass
class Outcome:
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)
    # The conversation after this turn; None leaves it to the engine (which keeps the topic and any
    # emergency context, and closes a form the handler did not continue).
    state: DialogueState | None = None


class Handler(Protocol):
    """A capability. `name` appears in logs and metrics."""

    name: str

    def handle(self, turn: Turn, knowledge: Knowledge) -> Outcome: ...
