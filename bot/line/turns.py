"""What a LINE webhook event means for a turn: its kind, what to log of it, when it arrived, how long its
reply token may be used, and what to fetch from LINE before the turn's transaction (profile, content)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.line.client import LineClient
from bot.line.events import Inbound
from handlers.base import EventKind, LocationInfo
from storage.base import utcnow

MESSAGE_KINDS = {
    "text": EventKind.text,
    "image": EventKind.image,
    "video": EventKind.video,
    "audio": EventKind.audio,
    "file": EventKind.file,
    "location": EventKind.location,
    "sticker": EventKind.sticker,
}
STORED_MEDIA = (EventKind.image, EventKind.file, EventKind.video)


def event_kind(inbound: Inbound) -> EventKind | None:
    """The turn kind of a user's event; None for lifecycle events that get no turn (unfollow, unsend, …)."""
    if inbound.type == "follow":
        return EventKind.follow
    if inbound.type == "postback":
        return EventKind.postback
    if inbound.type == "message":
        return MESSAGE_KINDS.get(inbound.message_type or "", EventKind.other_message)
    return None


def location_of(inbound: Inbound) -> LocationInfo | None:
    return LocationInfo(*inbound.location) if inbound.location else None


def inbound_payload(inbound: Inbound) -> dict[str, Any]:
    """What the transcript keeps of a non-text message (never its raw webhook body)."""
    payload: dict[str, Any] = {"type": inbound.message_type or inbound.type}
    if inbound.sticker:
        payload["sticker"] = list(inbound.sticker)
    if inbound.location:
        payload["location"] = list(inbound.location)
    if inbound.file_name:
        payload["file_name"] = inbound.file_name
    return payload


def from_ms(timestamp_ms: int | None) -> datetime | None:
    if timestamp_ms is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, tz=utcnow().tzinfo)
    except (OverflowError, OSError, ValueError):
        return None


def received_at(raw: dict[str, Any]) -> datetime | None:
    """When our webhook accepted the event (stamped by bot/webhook.py under a private key)."""
    stamp = raw.get("_receivedAt")
    return from_ms(stamp) if isinstance(stamp, int) else None


def reply_deadline(inbound: Inbound, received: datetime | None, fresh_seconds: float) -> datetime | None:
    """Until when the reply token may be used: from the earliest moment we know the event existed."""
    if not inbound.reply_token:
        return None
    fresh = timedelta(seconds=fresh_seconds)
    moments = [m for m in (received, from_ms(inbound.timestamp_ms)) if m is not None]
    return min(moments) + fresh if moments else utcnow() + fresh


@dataclass(frozen=True)
class Prefetched:
    """What was fetched from LINE before the turn's transaction (never inside it)."""

    display_name: str | None = None
    language: str | None = None
    profile_fetched: bool = False
    content: bytes | None = None
    content_type: str | None = None
    content_fetched: bool = False
    content_too_large: bool = False


async def prefetch(line: LineClient, inbound: Inbound, *, needs_profile: bool, content_limit: int) -> Prefetched:
    """The profile (when asked for) and an image's or file's content, fetched together."""
    profile_task = None
    if needs_profile:
        assert inbound.user_id is not None
        profile_task = asyncio.create_task(line.profile(inbound.user_id))
    fetched: dict[str, Any] = {}
    wants_content = (
        inbound.source_type == "user"
        and inbound.mode == "active"
        and inbound.message_id
        and inbound.content_from_line
        and inbound.message_type in ("image", "file")
    )
    if wants_content:
        assert inbound.message_id is not None
        if inbound.file_size is not None and inbound.file_size > content_limit:
            fetched = {"content_too_large": True, "content_fetched": True}
        else:
            content = await line.content(inbound.message_id)
            if content is not None:
                too_large = len(content.data) > content_limit
                fetched = {
                    "content": None if too_large else content.data,
                    "content_type": content.content_type,
                    "content_fetched": True,
                    "content_too_large": too_large,
                }
    if profile_task is not None:
        profile = await profile_task
        if profile is not None:
            fetched.update(display_name=profile.display_name, language=profile.language, profile_fetched=True)
    return Prefetched(**fetched)
