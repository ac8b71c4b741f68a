"""Stickers, images, files, audio, video and locations: each gets a sensible answer."""

from __future__ import annotations

from handlers.base import EventKind, Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "media"


def _attachment_text(turn: Turn, knowledge: Knowledge) -> str:
    replies = knowledge.replies
    attachment = turn.attachment
    if turn.kind is EventKind.video:
        return replies.video  # videos are never fetched (only images and files are)
    if turn.person.consent in ("declined", "withdrawn"):
        return replies.attachment_not_kept  # PDPA: nothing is stored after a decline
    if attachment is None or not attachment.fetched:
        return replies.attachment_unavailable
    if attachment.too_large:
        return replies.attachment_too_large.format(limit_mb=attachment.limit_bytes // (1024 * 1024))
    if turn.kind is EventKind.file:
        return replies.file_saved.format(file_name=attachment.file_name or "ไฟล์")
    return replies.image_saved


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    menu = tuple(replies.main_menu)
    if turn.kind is EventKind.sticker:
        return Outcome([TextReply(replies.sticker, menu)])
    if turn.kind is EventKind.audio:
        return Outcome([TextReply(replies.audio, menu)])
    if turn.kind is EventKind.location:
        address = turn.location.address if turn.location and turn.location.address else None
        address_part = f" ({address})" if address else ""
        return Outcome([TextReply(replies.location.format(address_part=address_part), menu)])
    if turn.kind in (EventKind.image, EventKind.file, EventKind.video):
        return Outcome([TextReply(_attachment_text(turn, knowledge), menu)])
    return Outcome([TextReply(replies.unsupported, menu)])
