"""A fake LINE Messaging API for demo mode: the bot's SDK calls land here instead of api.line.me."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

JSON = dict[str, Any]

USER_ID_PATTERN = re.compile(r"^U[0-9a-f]{32}$")
RETRY_KEY_PATTERN = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "textV2": ("text",),
    "sticker": ("packageId", "stickerId"),
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "location": ("title", "address", "latitude", "longitude"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
}
QUOTABLE_TYPES = frozenset({"text", "textV2", "sticker"})
MAX_MESSAGES_PER_REQUEST = 5
MAX_QUICK_REPLY_ITEMS = 13
MAX_TEXT_CHARS = 5000
MAX_ALT_TEXT_CHARS = 1500
AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."


class InvalidReplyToken(Exception):
    """The reply token is unknown, expired or already used."""


class RetryKeyConflict(Exception):
    """The push retry key was already accepted once."""

    def __init__(self, accepted_request_id: str) -> None:
        super().__init__("The retry key is already accepted")
        self.accepted_request_id = accepted_request_id


@dataclass(frozen=True)
class TimelineEntry:
    """One message in a user's chat: from the user, from the bot, or a system note."""

    seq: int
    user_id: str
    side: str
    via: str
    timestamp_ms: int
    message: JSON
    message_id: str | None = None
    quote_token: str | None = None

    def to_json(self) -> JSON:
        """Return the entry as the simulator API shows it."""
        return {
            "seq": self.seq,
            "side": self.side,
            "via": self.via,
            "timestamp": self.timestamp_ms,
            "id": self.message_id,
            "quoteToken": self.quote_token,
            "message": self.message,
        }


@dataclass(frozen=True)
class StoredContent:
    """Bytes of a message the simulator user sent (an image), as the data API serves them."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class Delivery:
    """What the platform answers when it accepts a reply or push."""

    request_id: str
    sent_messages: list[JSON]


@dataclass
class _User:
    display_name: str | None
    followed: bool = False
    typing_until: float = 0.0
    timeline: deque[TimelineEntry] = field(default_factory=deque)
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=list)


def new_message_id() -> str:
    """Return a LINE-like numeric message id (18 digits)."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def new_quote_token() -> str:
    """Return an opaque quote token like LINE's."""
    return secrets.token_urlsafe(48)


def new_request_id() -> str:
    """Return an X-Line-Request-Id value."""
    return str(uuid.uuid4())


class FakeLinePlatform:
    """In-memory state of the fake LINE platform, shared by the fake API and the simulator."""

    def __init__(
        self,
        *,
        max_messages_per_user: int = 500,
        max_users: int = 1000,
        max_reply_tokens: int = 10_000,
        max_retry_keys: int = 10_000,
        max_content_bytes: int = 64 * 1024 * 1024,
        reply_token_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._max_messages = max_messages_per_user
        self._max_users = max_users
        self._max_reply_tokens = max_reply_tokens
        self._max_retry_keys = max_retry_keys
        self._max_content_bytes = max_content_bytes
        self._reply_ttl = reply_token_ttl_seconds
        self._seq = 0
        self._users: OrderedDict[str, _User] = OrderedDict()
        self._reply_tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._retry_keys: OrderedDict[str, str] = OrderedDict()
        self._contents: OrderedDict[str, StoredContent] = OrderedDict()
        self._content_bytes = 0

    # -- users -------------------------------------------------------------------------------------------

    def _user(self, user_id: str) -> _User:
        """Return (creating if needed) a user's state; caller holds the lock."""
        user = self._users.get(user_id)
        if user is None:
            user = _User(display_name=None, timeline=deque(maxlen=self._max_messages))
            self._users[user_id] = user
            while len(self._users) > self._max_users:
                self._users.popitem(last=False)
        self._users.move_to_end(user_id)
        return user

    def ensure_user(self, user_id: str, display_name: str) -> None:
        """Create or rename a simulated user."""
        with self._lock:
            self._user(user_id).display_name = display_name

    def mark_followed(self, user_id: str, *, followed: bool = True) -> bool:
        """Set whether the user has followed the bot; True when this call changed it."""
        with self._lock:
            user = self._user(user_id)
            changed = user.followed != followed
            user.followed = followed
            return changed

    def is_followed(self, user_id: str) -> bool:
        """Tell whether a follow event was already sent for the user."""
        with self._lock:
            user = self._users.get(user_id)
            return bool(user and user.followed)

    def profile(self, user_id: str) -> JSON | None:
        """Return the user's LINE profile, or None when the platform does not know the user."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None or user.display_name is None:
                return None
            return {"userId": user_id, "displayName": user.display_name, "language": "th"}

    # -- reply tokens, reply, push -----------------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        """Create a single-use reply token bound to the user."""
        token = uuid.uuid4().hex
        with self._lock:
            self._reply_tokens[token] = (user_id, self._clock())
            while len(self._reply_tokens) > self._max_reply_tokens:
                self._reply_tokens.popitem(last=False)
        return token

    def reply(self, reply_token: str, messages: list[JSON]) -> Delivery:
        """Consume a reply token and record the messages for its user."""
        with self._lock:
            issued = self._reply_tokens.pop(reply_token, None)
            if issued is None or self._clock() - issued[1] > self._reply_ttl:
                raise InvalidReplyToken(reply_token)
            return self._deliver(issued[0], messages, via="reply")

    def push(self, to: str, messages: list[JSON], retry_key: str | None = None) -> Delivery:
        """Record pushed messages; a retry key accepted before raises RetryKeyConflict."""
        with self._lock:
            if retry_key is not None and retry_key.lower() in self._retry_keys:
                raise RetryKeyConflict(self._retry_keys[retry_key.lower()])
            delivery = self._deliver(to, messages, via="push")
            if retry_key is not None:
                self._retry_keys[retry_key.lower()] = delivery.request_id
                while len(self._retry_keys) > self._max_retry_keys:
                    self._retry_keys.popitem(last=False)
            return delivery

    def _deliver(self, user_id: str, messages: list[JSON], via: str) -> Delivery:
        """Append bot messages to the user's timeline; caller holds the lock."""
        user = self._user(user_id)
        sent: list[JSON] = []
        for message in messages:
            entry = self._append(user_id, user, side="bot", via=via, message=message)
            sent.append({"id": entry.message_id, "quoteToken": entry.quote_token} if entry.quote_token
                        else {"id": entry.message_id})
        user.typing_until = 0.0
        self._notify(user)
        return Delivery(request_id=new_request_id(), sent_messages=sent)

    def _append(self, user_id: str, user: _User, *, side: str, via: str, message: JSON,
                message_id: str | None = None, quote_token: str | None = None) -> TimelineEntry:
        """Append one entry with the next sequence number; caller holds the lock."""
        self._seq += 1
        quotable = side != "system" and message.get("type") in QUOTABLE_TYPES
        entry = TimelineEntry(
            seq=self._seq,
            user_id=user_id,
            side=side,
            via=via,
            timestamp_ms=int(self._clock() * 1000),
            message=message,
            message_id=message_id or (new_message_id() if side != "system" else None),
            quote_token=quote_token or (new_quote_token() if quotable else None),
        )
        user.timeline.append(entry)
        return entry

    def record_user_event(self, user_id: str, message: JSON, *, via: str = "user", message_id: str | None = None,
                          quote_token: str | None = None, side: str = "user") -> TimelineEntry:
        """Echo what the simulated user did (or a system note) into their timeline."""
        with self._lock:
            user = self._user(user_id)
            entry = self._append(user_id, user, side=side, via=via, message=message, message_id=message_id,
                                 quote_token=quote_token)
            self._notify(user)
            return entry

    # -- loading indicator -------------------------------------------------------------------------------

    def start_loading(self, chat_id: str, seconds: int) -> None:
        """Show the typing indicator to the user for some seconds (until the bot sends)."""
        with self._lock:
            user = self._user(chat_id)
            user.typing_until = self._clock() + seconds
            self._notify(user)

    def typing_until(self, user_id: str) -> float | None:
        """Return when the user's typing indicator ends (epoch seconds), or None when it is off."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None or user.typing_until <= self._clock():
                return None
            return user.typing_until

    # -- content -----------------------------------------------------------------------------------------

    def store_content(self, data: bytes, content_type: str) -> str:
        """Keep the bytes of a user's message under a new message id and return the id."""
        message_id = new_message_id()
        with self._lock:
            self._contents[message_id] = StoredContent(data=data, content_type=content_type)
            self._content_bytes += len(data)
            while self._content_bytes > self._max_content_bytes and len(self._contents) > 1:
                _, dropped = self._contents.popitem(last=False)
                self._content_bytes -= len(dropped.data)
        return message_id

    def content(self, message_id: str) -> StoredContent | None:
        """Return stored message content, or None."""
        with self._lock:
            return self._contents.get(message_id)

    # -- timeline ----------------------------------------------------------------------------------------

    def timeline(self, user_id: str, after: int = 0) -> list[TimelineEntry]:
        """Return the user's entries with a sequence number greater than `after`, oldest first."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return []
            return [entry for entry in user.timeline if entry.seq > after]

    def last_seq(self, user_id: str) -> int:
        """Return the sequence number of the user's newest entry (0 when none)."""
        with self._lock:
            user = self._users.get(user_id)
            return user.timeline[-1].seq if user and user.timeline else 0

    async def wait_for_update(self, user_id: str, after: int, seconds: float) -> None:
        """Wait until the user has entries after `after`, their typing state changes, or the timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            user = self._user(user_id)
            if user.timeline and user.timeline[-1].seq > after:
                return
            user.waiters.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            with self._lock:
                if waiter in user.waiters:
                    user.waiters.remove(waiter)

    @staticmethod
    def _notify(user: _User) -> None:
        """Wake every long-poll waiting on the user, from any thread; caller holds the lock."""
        for loop, event in user.waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)


# -- request validation ---------------------------------------------------------------------------------


def _message_errors(index: int, message: Any) -> list[JSON]:
    """Return LINE-style error details for one outgoing message object."""
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        return [{"message": "Must be an object", "property": where}]
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in REQUIRED_FIELDS:
        return [{"message": "Must be one of the following values: " + ", ".join(REQUIRED_FIELDS),
                 "property": f"{where}.type"}]
    errors = [{"message": "May not be empty", "property": f"{where}.{name}"}
              for name in REQUIRED_FIELDS[kind] if message.get(name) in (None, "", [], {})]
    for name, limit in (("text", MAX_TEXT_CHARS), ("altText", MAX_ALT_TEXT_CHARS)):
        value = message.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append({"message": f"Length must be between 0 and {limit}", "property": f"{where}.{name}"})
    quick_reply = message.get("quickReply")
    items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
    if quick_reply is not None and not (isinstance(items, list) and 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS):
        errors.append({"message": f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}",
                       "property": f"{where}.quickReply.items"})
    return errors


def validate_messages(messages: Any) -> list[JSON]:
    """Return LINE-style error details for the `messages` property of a reply or push."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES_PER_REQUEST:
        return [{"message": f"Size must be between 1 and {MAX_MESSAGES_PER_REQUEST}", "property": "messages"}]
    return [detail for index, message in enumerate(messages) for detail in _message_errors(index, message)]


# -- HTTP -----------------------------------------------------------------------------------------------


def _json(status: int, body: JSON, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """Return a JSON response carrying an X-Line-Request-Id like LINE's."""
    all_headers = {"X-Line-Request-Id": new_request_id(), **(headers or {})}
    return JSONResponse(status_code=status, content=body, headers=all_headers)


def _error(status: int, message: str, details: list[JSON] | None = None) -> JSONResponse:
    """Return a LINE-style error body."""
    body: JSON = {"message": message}
    if details:
        body["details"] = details
    return _json(status, body)


def _sent(delivery: Delivery) -> JSONResponse:
    """Return LINE's 200 for an accepted reply or push."""
    return _json(200, {"sentMessages": delivery.sent_messages}, {"X-Line-Request-Id": delivery.request_id})


def _body_errors(details: list[JSON]) -> JSONResponse:
    """Return LINE's 400 for an invalid request body."""
    return _error(400, f"The request body has {len(details)} error(s)", details)


async def _read_object(request: Request) -> JSON | None:
    """Parse the request body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _authorized(request: Request, access_token: str) -> bool:
    """Check the bearer token in constant time."""
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {access_token}".encode())


def build_fake_line_router(platform: FakeLinePlatform, access_token: Callable[[], str]) -> APIRouter:
    """Return the `/fake-line` routes that behave like LINE's Messaging API and data API."""
    router = APIRouter(prefix="/fake-line", include_in_schema=False)

    async def guarded(request: Request) -> JSONResponse | None:
        """Return 401 unless the bearer token matches."""
        return None if _authorized(request, access_token()) else _error(401, AUTH_FAILED)

    @router.post("/v2/bot/message/reply")
    async def reply(request: Request) -> Response:
        """Send reply message."""
        if (denied := await guarded(request)) is not None:
            return denied
        body = await _read_object(request)
        if body is None:
            return _error(400, "The request body could not be parsed as JSON")
        token = body.get("replyToken")
        if not isinstance(token, str) or not token:
            return _body_errors([{"message": "May not be empty", "property": "replyToken"}])
        if details := validate_messages(body.get("messages")):
            return _body_errors(details)
        try:
            delivery = platform.reply(token, body["messages"])
        except InvalidReplyToken:
            return _error(400, "Invalid reply token")
        return _sent(delivery)

    @router.post("/v2/bot/message/push")
    async def push(request: Request) -> Response:
        """Send push message, honouring X-Line-Retry-Key."""
        if (denied := await guarded(request)) is not None:
            return denied
        retry_key = request.headers.get("x-line-retry-key")
        if retry_key is not None and not RETRY_KEY_PATTERN.match(retry_key):
            return _error(400, "The value of the X-Line-Retry-Key header is invalid")
        body = await _read_object(request)
        if body is None:
            return _error(400, "The request body could not be parsed as JSON")
        to = body.get("to")
        if not isinstance(to, str) or not USER_ID_PATTERN.match(to):
            return _error(400, "The property, 'to', in the request body is invalid (line: -, column: -)")
        if details := validate_messages(body.get("messages")):
            return _body_errors(details)
        try:
            delivery = platform.push(to, body["messages"], retry_key)
        except RetryKeyConflict as conflict:
            return _json(409, {"message": "The retry key is already accepted"},
                         {"X-Line-Accepted-Request-Id": conflict.accepted_request_id})
        return _sent(delivery)

    @router.post("/v2/bot/chat/loading/start")
    async def loading(request: Request) -> Response:
        """Display a loading animation."""
        if (denied := await guarded(request)) is not None:
            return denied
        body = await _read_object(request)
        if body is None:
            return _error(400, "The request body could not be parsed as JSON")
        chat_id = body.get("chatId")
        seconds = body.get("loadingSeconds", 20)
        if not isinstance(chat_id, str) or not USER_ID_PATTERN.match(chat_id):
            return _body_errors([{"message": "Invalid chatId", "property": "chatId"}])
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds % 5 or not 5 <= seconds <= 60:
            return _body_errors([{"message": "Must be a multiple of 5 between 5 and 60",
                                  "property": "loadingSeconds"}])
        platform.start_loading(chat_id, seconds)
        return _json(202, {})

    @router.get("/v2/bot/profile/{user_id}")
    async def profile(user_id: str, request: Request) -> Response:
        """Get profile."""
        if (denied := await guarded(request)) is not None:
            return denied
        found = platform.profile(user_id)
        return _json(200, found) if found else _error(404, "Not found")

    @router.get("/v2/bot/message/{message_id}/content")
    async def content(message_id: str, request: Request) -> Response:
        """Get content (data API)."""
        if (denied := await guarded(request)) is not None:
            return denied
        stored = platform.content(message_id)
        if stored is None:
            return _error(404, "Not found")
        return Response(content=stored.data, media_type=stored.content_type,
                        headers={"X-Line-Request-Id": new_request_id()})

    return router
