"""The demo LINE simulator: a chat page whose messages reach the bot through its real webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.line.fake import JSON, USER_ID_PATTERN, FakeLinePlatform, new_message_id, new_quote_token

if TYPE_CHECKING:
    from bot.settings import Settings

ClientFactory = Callable[[], httpx.AsyncClient]

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "bot-avatar.svg": "image/svg+xml",
}
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
BOT_NAME = "พม. ช่วยได้"
MAX_NAME_CHARS = 20
MAX_TEXT_CHARS = 5000
MAX_LONG_POLL_SECONDS = 10.0
WEBHOOK_PATH = "/line/webhook"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob: https: http:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)


class SimulatorError(Exception):
    """A request to the simulator API that cannot be carried out."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class WebhookResult:
    """The outcome of delivering one event to the bot's webhook."""

    event_type: str
    webhook_event_id: str
    status: int

    def to_json(self) -> JSON:
        """Return the result as the simulator API shows it."""
        return {"eventType": self.event_type, "webhookEventId": self.webhook_event_id, "status": self.status}


# -- ids and signatures ---------------------------------------------------------------------------------


def user_id_for(display_name: str) -> str:
    """Return the stable fake LINE user id ("U" + 32 hex) for a display name."""
    digest = hashlib.sha256(("line-simulator:" + display_name.casefold()).encode("utf-8")).hexdigest()
    return "U" + digest[:32]


def bot_user_id(channel_secret: str) -> str:
    """Return the bot's own user id, the webhook `destination`."""
    return "U" + hashlib.sha256(("bot:" + channel_secret).encode("utf-8")).hexdigest()[:32]


def new_webhook_event_id(now_ms: int | None = None) -> str:
    """Return a ULID (26 Crockford base32 characters: 48-bit time, 80 random bits)."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    value = (stamp << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def sign(channel_secret: str, body: bytes) -> str:
    """Return the X-Line-Signature for a body: base64(HMAC-SHA256(secret, body))."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def clean_display_name(raw: Any) -> str:
    """Return a usable display name or raise SimulatorError."""
    if not isinstance(raw, str):
        raise SimulatorError(400, "กรุณาระบุชื่อผู้ใช้")
    name = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        raise SimulatorError(400, "กรุณาระบุชื่อผู้ใช้")
    return name[:MAX_NAME_CHARS]


# -- webhook events -------------------------------------------------------------------------------------


def base_event(event_type: str, user_id: str, reply_token: str | None) -> JSON:
    """Return the fields every webhook event from a one-to-one chat carries."""
    event: JSON = {
        "type": event_type,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": new_webhook_event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    return event


def follow_event(user_id: str, reply_token: str) -> JSON:
    """Return a follow event (the user added the bot as a friend)."""
    return {**base_event("follow", user_id, reply_token), "follow": {"isUnblocked": False}}


def postback_event(user_id: str, reply_token: str, data: str, params: JSON | None) -> JSON:
    """Return a postback event."""
    postback: JSON = {"data": data}
    if params:
        postback["params"] = params
    return {**base_event("postback", user_id, reply_token), "postback": postback}


def message_event(user_id: str, reply_token: str, content: JSON) -> JSON:
    """Return a message event with the given message content (already carrying its id)."""
    return {**base_event("message", user_id, reply_token), "message": content}


def message_content(raw: Any) -> JSON:
    """Turn the simulator's message payload into webhook message content, or raise SimulatorError."""
    if not isinstance(raw, dict):
        raise SimulatorError(400, "ข้อความไม่ถูกต้อง")
    kind = raw.get("type")
    builders: dict[str, Callable[[JSON], JSON]] = {
        "text": _text_content, "sticker": _sticker_content, "location": _location_content,
    }
    if not isinstance(kind, str) or kind not in builders:
        raise SimulatorError(400, "ชนิดข้อความไม่รองรับ")
    return {"id": new_message_id(), **builders[kind](raw)}


def _text_content(raw: JSON) -> JSON:
    """Return text message content."""
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise SimulatorError(400, "กรุณาพิมพ์ข้อความ")
    if len(text) > MAX_TEXT_CHARS:
        raise SimulatorError(400, f"ข้อความยาวเกิน {MAX_TEXT_CHARS:,} ตัวอักษร")
    return {"type": "text", "quoteToken": new_quote_token(), "text": text}


def _sticker_content(raw: JSON) -> JSON:
    """Return sticker message content."""
    package_id, sticker_id = str(raw.get("packageId", "")), str(raw.get("stickerId", ""))
    if not package_id.isdigit() or not sticker_id.isdigit():
        raise SimulatorError(400, "สติกเกอร์ไม่ถูกต้อง")
    content: JSON = {"type": "sticker", "quoteToken": new_quote_token(), "packageId": package_id,
                     "stickerId": sticker_id, "stickerResourceType": "STATIC"}
    keywords = raw.get("keywords")
    if isinstance(keywords, list) and all(isinstance(word, str) for word in keywords):
        content["keywords"] = keywords[:15]
    return content


def _is_number(value: Any) -> TypeGuard[float]:
    """Tell whether a JSON value is a finite number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _location_content(raw: JSON) -> JSON:
    """Return location message content."""
    latitude, longitude = raw.get("latitude"), raw.get("longitude")
    if not (_is_number(latitude) and _is_number(longitude)) or abs(latitude) > 90 or abs(longitude) > 180:
        raise SimulatorError(400, "ตำแหน่งไม่ถูกต้อง")
    content: JSON = {"type": "location", "latitude": latitude, "longitude": longitude}
    for key in ("title", "address"):
        if isinstance(raw.get(key), str) and raw[key]:
            content[key] = raw[key][:100]
    return content


def image_content(message_id: str) -> JSON:
    """Return image message content whose bytes the fake data API serves."""
    return {"id": message_id, "type": "image", "quoteToken": new_quote_token(),
            "contentProvider": {"type": "line"}}


def echo_of(content: JSON) -> JSON:
    """Return what the simulator page shows on the user's side for a message they sent."""
    return {key: value for key, value in content.items() if key not in ("id", "quoteToken")}


# -- the router -----------------------------------------------------------------------------------------


class Simulator:
    """Builds LINE webhook events for simulated users and delivers them to the bot's webhook."""

    def __init__(self, platform: FakeLinePlatform, settings: Settings, client_factory: ClientFactory) -> None:
        self.platform = platform
        self.settings = settings
        self.client_factory = client_factory

    def register(self, raw_name: Any, raw_user_id: Any = None) -> tuple[str, str]:
        """Return (userId, displayName) for a request, creating the user on the platform."""
        name = clean_display_name(raw_name)
        user_id = raw_user_id if isinstance(raw_user_id, str) and raw_user_id else user_id_for(name)
        if not USER_ID_PATTERN.match(user_id):
            raise SimulatorError(400, "userId ไม่ถูกต้อง")
        self.platform.ensure_user(user_id, name)
        return user_id, name

    async def deliver(self, base_url: str, event: JSON) -> WebhookResult:
        """POST one event to the webhook exactly as LINE does: compact UTF-8 JSON, signed."""
        payload = {"destination": bot_user_id(self.settings.channel_secret), "events": [event]}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
            "X-Line-Signature": sign(self.settings.channel_secret, body),
        }
        try:
            async with self.client_factory() as client:
                url = base_url.rstrip("/") + WEBHOOK_PATH
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SimulatorError(502, f"เชื่อมต่อ webhook ไม่ได้: {type(exc).__name__}") from exc
        return WebhookResult(event["type"], event["webhookEventId"], response.status_code)

    async def follow_if_new(self, base_url: str, user_id: str) -> list[WebhookResult]:
        """Send a follow event the first time a user is seen, so the bot greets them."""
        if not self.platform.mark_followed(user_id):
            return []
        self.platform.record_user_event(
            user_id, {"type": "system", "text": f"คุณเพิ่ม {BOT_NAME} เป็นเพื่อนแล้ว"}, via="follow", side="system"
        )
        token = self.platform.issue_reply_token(user_id)
        try:
            return [await self.deliver(base_url, follow_event(user_id, token))]
        except SimulatorError:
            self.platform.mark_followed(user_id, followed=False)
            raise

    async def send_message(self, base_url: str, user_id: str, content: JSON) -> list[WebhookResult]:
        """Echo a user's message into the timeline and deliver it as a message event."""
        results = await self.follow_if_new(base_url, user_id)
        self.platform.record_user_event(
            user_id, echo_of(content), message_id=content["id"], quote_token=content.get("quoteToken")
        )
        token = self.platform.issue_reply_token(user_id)
        return [*results, await self.deliver(base_url, message_event(user_id, token, content))]

    async def send_postback(self, base_url: str, user_id: str, raw: Any) -> list[WebhookResult]:
        """Deliver a postback; its displayText (if any) appears as the user's message."""
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), str):
            raise SimulatorError(400, "postback ต้องมี data")
        results = await self.follow_if_new(base_url, user_id)
        display = raw.get("displayText")
        if isinstance(display, str) and display:  # like LINE: without displayText nothing shows in the chat
            self.platform.record_user_event(user_id, {"type": "text", "text": display}, via="postback")
        params = raw.get("params") if isinstance(raw.get("params"), dict) else None
        token = self.platform.issue_reply_token(user_id)
        return [*results, await self.deliver(base_url, postback_event(user_id, token, raw["data"], params))]


def _result_body(user_id: str, results: list[WebhookResult], **extra: Any) -> JSON:
    """Return the simulator API's answer to a send: webhookStatus is the first failure, else the last status."""
    failed = [r.status for r in results if not 200 <= r.status < 300]
    status = failed[0] if failed else (results[-1].status if results else None)
    return {"userId": user_id, "webhookStatus": status, "deliveries": [r.to_json() for r in results], **extra}


def _base_url(request: Request) -> str:
    """Return this server's base URL as the browser reached it (root path included)."""
    return str(request.base_url)


def _timeline_body(platform: FakeLinePlatform, user_id: str, after: int) -> JSON:
    """Return the timeline answer: entries after a sequence number plus the typing state."""
    typing_until = platform.typing_until(user_id)
    return {
        "userId": user_id,
        "entries": [entry.to_json() for entry in platform.timeline(user_id, after)],
        "lastSeq": platform.last_seq(user_id),
        "typing": typing_until is not None,
        "typingUntil": int(typing_until * 1000) if typing_until else None,
        "serverTime": int(time.time() * 1000),
    }


async def _json_body(request: Request) -> JSON:
    """Return the request body as a JSON object or raise SimulatorError."""
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SimulatorError(400, "ข้อมูลไม่ใช่ JSON") from exc
    if not isinstance(body, dict):
        raise SimulatorError(400, "ข้อมูลต้องเป็น JSON object")
    return body


def _error(exc: SimulatorError) -> JSONResponse:
    """Return a simulator API error as JSON."""
    return JSONResponse(status_code=exc.status, content={"message": exc.message})


def _default_client() -> httpx.AsyncClient:
    """Return the HTTP client that reaches the webhook over the network."""
    return httpx.AsyncClient(timeout=httpx.Timeout(15.0), trust_env=False)


def build_simulator_router(
    platform: FakeLinePlatform, settings: Settings, client_factory: ClientFactory | None = None
) -> APIRouter:
    """Return the `/simulator` page, its static files and its JSON API."""
    simulator = Simulator(platform, settings, client_factory or _default_client)
    router = APIRouter(include_in_schema=False)
    _add_page_routes(router)
    _add_api_routes(router, simulator)
    return router


def _add_page_routes(router: APIRouter) -> None:
    """Add the page and its static files."""

    @router.get("/simulator")
    async def page(request: Request) -> HTMLResponse:
        """Serve the chat page."""
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        root = request.scope.get("root_path", "").rstrip("/")
        headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
        return HTMLResponse(html.replace("__ROOT__", root), headers=headers)

    @router.get("/", include_in_schema=False)
    async def home(request: Request) -> RedirectResponse:
        """The demo's front door is the simulator."""
        return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + "/simulator")

    @router.get("/simulator/")
    async def page_slash(request: Request) -> RedirectResponse:
        """Redirect to the page without the trailing slash."""
        return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + "/simulator")

    @router.get("/simulator/static/{name}")
    async def static(name: str) -> Response:
        """Serve one of the page's own files (nothing from other hosts)."""
        if name not in STATIC_FILES:
            return JSONResponse(status_code=404, content={"message": "ไม่พบไฟล์"})
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})


def _add_api_routes(router: APIRouter, simulator: Simulator) -> None:
    """Add the JSON API the page uses."""
    platform = simulator.platform

    @router.post("/simulator/api/users")
    async def start_user(request: Request) -> JSONResponse:
        """Pick a user name: returns its userId and sends the follow event the first time."""
        try:
            body = await _json_body(request)
            user_id, name = simulator.register(body.get("displayName"))
            results = await simulator.follow_if_new(_base_url(request), user_id)
        except SimulatorError as exc:
            return _error(exc)
        return JSONResponse(_result_body(user_id, results, displayName=name, botName=BOT_NAME))

    @router.post("/simulator/api/send")
    async def send(request: Request) -> JSONResponse:
        """Send a message, a postback or a follow as the user, through the signed webhook."""
        try:
            body = await _json_body(request)
            user_id, _ = simulator.register(body.get("displayName"), body.get("userId"))
            base_url = _base_url(request)
            if "message" in body:
                results = await simulator.send_message(base_url, user_id, message_content(body["message"]))
            elif "postback" in body:
                results = await simulator.send_postback(base_url, user_id, body["postback"])
            elif body.get("follow") is True:
                results = await simulator.follow_if_new(base_url, user_id)
            else:
                raise SimulatorError(400, "ต้องมี message, postback หรือ follow")
        except SimulatorError as exc:
            return _error(exc)
        return JSONResponse(_result_body(user_id, results))

    @router.post("/simulator/api/image")
    async def send_image(
        request: Request, user_id: str | None = Query(None, alias="userId"),
        display_name: str | None = Query(None, alias="displayName"),
    ) -> JSONResponse:
        """Store an uploaded image (raw bytes) and send it as an image message event."""
        try:
            user_id, _ = simulator.register(display_name, user_id)
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in IMAGE_TYPES:
                raise SimulatorError(415, "รองรับเฉพาะไฟล์รูปภาพ")
            limit = simulator.settings.attachment_max_bytes
            declared = request.headers.get("content-length", "")
            data = b"" if declared.isdigit() and int(declared) > limit else await request.body()
            if not data or len(data) > limit:
                raise SimulatorError(413, f"รูปภาพต้องมีขนาดไม่เกิน {limit // (1024 * 1024):,} MB")
            message_id = platform.store_content(data, content_type)
            results = await simulator.send_message(_base_url(request), user_id, image_content(message_id))
        except SimulatorError as exc:
            return _error(exc)
        return JSONResponse(_result_body(user_id, results, messageId=message_id))

    @router.get("/simulator/api/timeline")
    async def timeline(
        user_id: str = Query(..., alias="userId"), after: int = Query(0, ge=0),
        wait: float = Query(0.0, ge=0.0),
    ) -> JSONResponse:
        """Return the user's chat after a sequence number; `wait` long-polls up to 10 s."""
        if not USER_ID_PATTERN.match(user_id):
            return _error(SimulatorError(400, "userId ไม่ถูกต้อง"))
        if wait > 0:
            await platform.wait_for_update(user_id, after, min(wait, MAX_LONG_POLL_SECONDS))
        return JSONResponse(_timeline_body(platform, user_id, after), headers={"Cache-Control": "no-store"})

    @router.get("/simulator/api/content/{message_id}")
    async def content(message_id: str) -> Response:
        """Serve the bytes of an image the simulated user sent, for the page to show."""
        stored = platform.content(message_id)
        if stored is None:
            return JSONResponse(status_code=404, content={"message": "ไม่พบเนื้อหา"})
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"}
        return Response(content=stored.data, media_type=stored.content_type, headers=headers)
