"""Webhook events, parsed with the SDK's models into the few facts the worker needs."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from linebot.v3.webhooks import (
    Event,
    FileMessageContent,
    GroupSource,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    StickerMessageContent,
    TextMessageContent,
    UnsendEvent,
    UserSource,
)
from pydantic import ValidationError

log = logging.getLogger(__name__)


def event_key(raw: dict[str, Any]) -> str:
    """The webhookEventId, or a digest of the event for the rare event without one."""
    event_id = raw.get("webhookEventId")
    if isinstance(event_id, str) and event_id:
        return event_id[:64]
    return "sha256:" + hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:56]


def user_key(raw: dict[str, Any]) -> str:
    """Who an event belongs to, for per-user ordering: the user, else the group or room."""
    source = raw.get("source")
    if isinstance(source, dict):
        for field in ("userId", "groupId", "roomId"):
            value = source.get(field)
            if isinstance(value, str) and value:
                return value[:80]
    return "anonymous"


@dataclass(frozen=True)
class Inbound:
    event_id: str
    type: str
    mode: str
    source_type: str | None
    user_id: str | None
    chat_id: str | None
    reply_token: str | None
    timestamp_ms: int | None
    message_type: str | None = None
    message_id: str | None = None
    text: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    sticker: tuple[str, str] | None = None
    location: tuple[float, float, str | None, str | None] | None = None
    postback_data: str | None = None
    content_from_line: bool = False
    unsent_message_id: str | None = None
    parsed_by_sdk: bool = True


def _source(event: Any) -> tuple[str | None, str | None, str | None]:
    """(source type, user ID, chat ID): the chat is the group or room for group and room sources."""
    source = getattr(event, "source", None)
    if isinstance(source, UserSource):
        return "user", source.user_id, source.user_id
    if isinstance(source, GroupSource):
        return "group", source.user_id, source.group_id
    if isinstance(source, RoomSource):
        return "room", source.user_id, source.room_id
    return None, None, None


def _from_raw(raw: dict[str, Any], event_id: str) -> Inbound:
    """Fallback when the SDK cannot model the event: read only the envelope."""
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    message = raw.get("message") if isinstance(raw.get("message"), dict) else {}
    assert isinstance(source, dict) and isinstance(message, dict)
    timestamp = raw.get("timestamp")
    return Inbound(
        event_id=event_id,
        type=str(raw.get("type", "unknown"))[:40],
        mode=str(raw.get("mode", "active")),
        source_type=source.get("type") if isinstance(source.get("type"), str) else None,
        user_id=source.get("userId") if isinstance(source.get("userId"), str) else None,
        chat_id=user_key(raw),
        reply_token=raw.get("replyToken") if isinstance(raw.get("replyToken"), str) else None,
        timestamp_ms=timestamp if isinstance(timestamp, int) else None,
        message_type=message.get("type") if isinstance(message.get("type"), str) else None,
        message_id=message.get("id") if isinstance(message.get("id"), str) else None,
        parsed_by_sdk=False,
    )


def parse(raw: dict[str, Any]) -> Inbound:
    """One raw webhook event → Inbound; events the SDK does not know keep their type and are ignored."""
    event_id = event_key(raw)
    try:
        event = Event.from_dict(raw)
    except (ValueError, ValidationError, TypeError, KeyError, AttributeError) as exc:
        log.info(
            "event not modelled by the SDK",
            extra={"event_type": str(raw.get("type"))[:40], "error": type(exc).__name__},
        )
        return _from_raw(raw, event_id)
    source_type, user_id, chat_id = _source(event)
    mode = getattr(event, "mode", None)
    common: dict[str, Any] = {
        "event_id": event_id,
        "type": str(raw.get("type")),
        "mode": str(getattr(mode, "value", mode) or "active"),
        "source_type": source_type,
        "user_id": user_id,
        "chat_id": chat_id,
        "reply_token": getattr(event, "reply_token", None),
        "timestamp_ms": getattr(event, "timestamp", None),
    }
    if isinstance(event, MessageEvent):
        message = event.message
        extra: dict[str, Any] = {"message_type": message.type, "message_id": message.id}
        if isinstance(message, TextMessageContent):
            extra["text"] = message.text
        elif isinstance(message, FileMessageContent):
            extra.update(file_name=message.file_name, file_size=message.file_size, content_from_line=True)
        elif isinstance(message, StickerMessageContent):
            extra["sticker"] = (message.package_id, message.sticker_id)
        elif isinstance(message, LocationMessageContent):
            extra["location"] = (float(message.latitude), float(message.longitude), message.address, message.title)
        elif message.type in ("image", "video", "audio"):
            provider = getattr(message, "content_provider", None)
            extra["content_from_line"] = getattr(provider, "type", "line") == "line"
        return Inbound(**common, **extra)
    if isinstance(event, PostbackEvent):
        return Inbound(**common, postback_data=event.postback.data)
    if isinstance(event, UnsendEvent):
        return Inbound(**common, unsent_message_id=event.unsend.message_id)
    return Inbound(**common)
