"""POST /line/webhook: verify, parse, deduplicate, enqueue, answer 200. Never processes in the request."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot import metrics
from bot.line import signature
from bot.line.events import event_key, user_key
from bot.queue.base import EventQueue, QueuedEvent
from bot.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()


class BodyTooLarge(Exception):
    pass


def _answer(status: int, message: str) -> JSONResponse:
    metrics.WEBHOOK_REQUESTS.labels(status=str(status)).inc()
    return JSONResponse({"message": message} if status != 200 else {}, status_code=status)


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing as soon as it passes `limit` bytes (never held whole in memory)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _events_of(body: bytes) -> list[dict[str, Any]] | None:
    """The events array of a webhook body, or None when the body is not a LINE webhook."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError: not JSON, not UTF-8/16/32 (UnicodeDecodeError), an integer past Python's 4,300-digit
        # limit. RecursionError: nesting deeper than the parser's stack (e.g. 100,000 "["). All are 400.
        return None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        return None
    if not all(isinstance(event, dict) for event in document["events"]):
        return None
    events: list[dict[str, Any]] = document["events"]
    return events


@router.post("/line/webhook")
async def line_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    queue: EventQueue = request.app.state.queue
    try:
        body = await read_capped(request, settings.webhook_max_body_bytes)
    except BodyTooLarge:
        return _answer(413, "request body is larger than 1 MiB")
    if not signature.is_valid(settings.channel_secret, body, request.headers.get("x-line-signature")):
        return _answer(401, "missing or invalid X-Line-Signature")
    raw_events = _events_of(body)
    if raw_events is None:
        return _answer(400, "body is not a LINE webhook (JSON object with an events array)")
    if raw_events:
        received_ms = int(time.time() * 1000)
        batch = [QueuedEvent(event_key(raw), user_key(raw), {**raw, "_receivedAt": received_ms}) for raw in raw_events]
        try:
            accepted = await queue.accept(batch)
        except Exception:
            # LINE redelivers on a non-2xx answer: better than losing the events.
            log.exception("could not enqueue webhook events")
            return _answer(503, "temporarily unable to accept events")
        for raw in raw_events:
            metrics.EVENTS.labels(type=str(raw.get("type", "unknown"))[:40], result="received").inc()
        if accepted < len(batch):
            metrics.EVENTS.labels(type="any", result="redelivery_dropped").inc(len(batch) - accepted)
    return _answer(200, "")
