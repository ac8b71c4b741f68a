"""A fake LINE platform: the Messaging API and data API endpoints the bot calls, answered from memory.

One implementation serves three uses:

* the demo (`helpdesk demo`) mounts it at `/fake-line` next to the simulator (`build_fake_line_router`);
  there it is strict, like LINE: reply tokens must have been issued by the simulator, unknown users have
  no profile, unknown message ids have no content;
* the tests run it on its own port in a background thread (`FakeLineServer`), lenient: any reply token
  not used before is accepted (the tests write their own webhook events), every user has a profile and
  every message id some content;
* the benchmark runs it as its own process (`python -m bot.line.fake --port N`), lenient too, and reads
  its counters and reply times over HTTP (`/_fake/...`, only when run that way).

It lives in `bot/line/` next to the real client because it is the other side of the same contract, and
the installed package needs it (the demo); `bot/demo/` keeps only the simulator.

What it serves (paths relative to its base URL, which is both LINE_API_BASE_URL and
LINE_DATA_API_BASE_URL): `POST /v2/bot/message/reply`, `POST /v2/bot/message/push` (with
`X-Line-Retry-Key`: a key accepted before answers 409 with `X-Line-Accepted-Request-Id` and delivers
nothing), `POST /v2/bot/chat/loading/start`, `GET /v2/bot/profile/{userId}` and
`GET /v2/bot/message/{messageId}/content`. Requests are validated as LINE does (bearer token when one is
set, message objects, at most 5 messages, retry key format, ...), errors have LINE's body shape.

What it records, under `lock`: `calls` (every request, with its answer's status), `replies`
(reply token → messages accepted), `pushes` ((to, messages, retry key) accepted), `accepted_retry_keys`
(key → request id), `contents` (message id → (bytes, content type)), and a per-user `timeline` for the
simulator.

Error injection, for the tests (see `Fault`); endpoint names are "reply", "push", "loading", "profile",
"content":

    fake.answers("push").extend([500, 500])      # the next two pushes answer 500 and deliver nothing
    fake.answers("reply").append(Fault(200, delay=math.inf, after_accept=True))
                                                 # the next reply is delivered, then never answered
    fake.delays["profile"] = 3.0                 # every profile call waits 3 s (math.inf: hang);
                                                 # setting it back to 0 releases the waiting calls
    fake.reset()                                 # forget every call, delivery and script

`push_statuses`, `reply_statuses` (= `answers("push")`, `answers("reply")`), `profile_delay` and
`reply_delay` (= `delays[...]`) are the same knobs under the names the tests used first.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import json
import math
import re
import secrets
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import Response

JSON = dict[str, Any]
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]

USER_ID_PATTERN = re.compile(r"^U[0-9a-f]{32}$")
CHAT_ID_PATTERN = re.compile(r"^[UCR][0-9a-f]{32}$")  # a user, a group or a room
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
ENDPOINTS = ("reply", "push", "loading", "profile", "content")
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CONTROL_PREFIX = "/_fake/"
_POLL_SECONDS = 0.02


class InvalidReplyToken(Exception):
    """The reply token is unknown (strict mode), expired or already used."""


class RetryKeyConflict(Exception):
    """The push retry key was already accepted once."""

    def __init__(self, accepted_request_id: str) -> None:
        super().__init__("The retry key is already accepted")
        self.accepted_request_id = accepted_request_id


@dataclass(frozen=True)
class Fault:
    """A scripted answer for one call to an endpoint (a bare int in the `answers` deque means Fault(int)).

    `status`: what to answer; 2xx means "behave normally". `delay`: seconds to wait before answering
    (math.inf hangs until the client gives up or the server stops). `after_accept`: do the work first
    (the message is delivered, the retry key accepted), then wait and answer `status`: LINE took the
    message but the bot never heard so.
    """

    status: int = 200
    delay: float = 0.0
    after_accept: bool = False

    @classmethod
    def of(cls, scripted: int | Fault | Mapping[str, Any]) -> Fault:
        """Return a Fault from an int, a Fault, or its JSON form ({"status", "delay", "afterAccept"})."""
        if isinstance(scripted, Fault):
            return scripted
        if isinstance(scripted, int):
            return cls(status=scripted)
        delay = scripted.get("delay")
        return cls(
            status=int(scripted.get("status", 200)),
            delay=math.inf if delay is None and scripted.get("hang") else float(delay or 0.0),
            after_accept=bool(scripted.get("afterAccept", False)),
        )


@dataclass
class Call:
    """One request the fake received; `status` is filled in when it has answered (0 until then)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.time()
    monotonic: float  # time.monotonic(), comparable across processes on one machine
    endpoint: str | None = None
    status: int = 0


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


class StoredContent(NamedTuple):
    """Bytes of a message a user sent (an image, a file), as the data API serves them."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class Delivery:
    """What the platform answers when it accepts a reply or push."""

    request_id: str
    sent_messages: list[JSON]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, independent of the server that sends it."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


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


def _trim(mapping: OrderedDict[str, Any], limit: int) -> None:
    while len(mapping) > limit:
        mapping.popitem(last=False)


class FakeLinePlatform:
    """The fake platform's state and behaviour; thread-safe (the HTTP server and the tests share it)."""

    def __init__(
        self,
        *,
        strict: bool = True,
        default_display_name: str | None = None,
        default_content: StoredContent | None = None,
        max_messages_per_user: int = 500,
        max_users: int = 1000,
        max_reply_tokens: int = 10_000,
        max_retry_keys: int = 10_000,
        max_records: int = 10_000,
        max_content_bytes: int = 64 * 1024 * 1024,
        reply_token_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`strict`: only reply tokens from `issue_reply_token` are valid (the demo); otherwise any token
        not used before is (tests, benchmarks). `default_display_name` / `default_content`: the profile
        of an unknown user and the content of an unknown message id (None: 404, as LINE)."""
        self.lock = threading.RLock()
        self.strict = strict
        self.default_display_name = default_display_name
        self.default_content = default_content
        self.url = ""  # set by FakeLineServer: the base URL for LINE_API_BASE_URL and LINE_DATA_API_BASE_URL
        self._clock = clock
        self._max_messages = max_messages_per_user
        self._max_users = max_users
        self._max_reply_tokens = max_reply_tokens
        self._max_retry_keys = max_retry_keys
        self._max_records = max_records
        self._max_content_bytes = max_content_bytes
        self._reply_ttl = reply_token_ttl_seconds
        self._seq = 0
        self._users: OrderedDict[str, _User] = OrderedDict()
        self._reply_tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._content_bytes = 0
        self.closing = False  # set when the server stops: waiting calls give up
        self.reset()

    def reset(self) -> None:
        """Forget every recorded call and delivery, every accepted retry key and every script.

        Users, their timelines and issued reply tokens stay (the demo's simulator owns them)."""
        with self.lock:
            self.calls: list[Call] = []
            self.counts: Counter[str] = Counter()
            self.replies: OrderedDict[str, list[JSON]] = OrderedDict()
            self.pushes: list[tuple[str, list[JSON], str | None]] = []
            self.accepted_retry_keys: OrderedDict[str, str] = OrderedDict()
            self.contents: OrderedDict[str, StoredContent] = OrderedDict()
            self._content_bytes = 0
            self._answers: dict[str, deque[int | Fault]] = {name: deque() for name in ENDPOINTS}
            self.delays: dict[str, float] = dict.fromkeys(ENDPOINTS, 0.0)

    # -- error injection -----------------------------------------------------------------------------------

    def answers(self, endpoint: str) -> deque[int | Fault]:
        """The scripted answers for the next calls to an endpoint, first first (hold `lock` to change)."""
        return self._answers[endpoint]

    @property
    def push_statuses(self) -> deque[int | Fault]:
        return self._answers["push"]

    @property
    def reply_statuses(self) -> deque[int | Fault]:
        return self._answers["reply"]

    @property
    def profile_delay(self) -> float:
        return self.delays["profile"]

    @profile_delay.setter
    def profile_delay(self, seconds: float) -> None:
        self.delays["profile"] = seconds

    @property
    def reply_delay(self) -> float:
        return self.delays["reply"]

    @reply_delay.setter
    def reply_delay(self, seconds: float) -> None:
        self.delays["reply"] = seconds

    def _next_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            scripted = self._answers[endpoint]
            return Fault.of(scripted.popleft()) if scripted else None

    async def _wait(self, seconds: Callable[[], float]) -> None:
        """Sleep until `seconds()` have passed since the call (re-read while waiting) or the server stops."""
        started = time.monotonic()
        while not self.closing:
            left = seconds() - (time.monotonic() - started)
            if left <= 0:
                return
            await asyncio.sleep(min(left, _POLL_SECONDS * 5))

    # -- reading what happened (tests) ----------------------------------------------------------------------

    def calls_to(self, path_prefix: str) -> list[Call]:
        """Every call whose path starts with the prefix, oldest first."""
        with self.lock:
            return [c for c in self.calls if c.path.startswith(path_prefix)]

    def messages_to(self, chat_id: str) -> list[JSON]:
        """Every message pushed to this chat (a reply's recipient is known only for issued tokens)."""
        with self.lock:
            return [m for to, msgs, _ in self.pushes if to == chat_id for m in msgs]

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 10.0) -> bool:
        """Poll predicate(self) under the lock until it holds (True) or the timeout passes (False)."""
        deadline = time.time() + timeout
        while True:
            with self.lock:
                if predicate(self):
                    return True
            if time.time() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)

    def wait_reply(self, token: str, timeout: float = 10.0) -> list[JSON] | None:
        """The messages accepted for a reply token, waiting for them up to `timeout` seconds."""
        if self.wait_for(lambda f: token in f.replies, timeout):
            with self.lock:
                return self.replies[token]
        return None

    # -- users ---------------------------------------------------------------------------------------------

    def _user(self, user_id: str) -> _User:
        """Return (creating if needed) a user's state; caller holds the lock."""
        user = self._users.get(user_id)
        if user is None:
            user = _User(display_name=None, timeline=deque(maxlen=self._max_messages))
            self._users[user_id] = user
            _trim(self._users, self._max_users)
        self._users.move_to_end(user_id)
        return user

    def ensure_user(self, user_id: str, display_name: str) -> None:
        """Create or rename a simulated user."""
        with self.lock:
            self._user(user_id).display_name = display_name

    def mark_followed(self, user_id: str, *, followed: bool = True) -> bool:
        """Set whether the user has followed the bot; True when this call changed it."""
        with self.lock:
            user = self._user(user_id)
            changed = user.followed != followed
            user.followed = followed
            return changed

    def is_followed(self, user_id: str) -> bool:
        """Tell whether a follow event was already sent for the user."""
        with self.lock:
            user = self._users.get(user_id)
            return bool(user and user.followed)

    def profile(self, user_id: str) -> JSON | None:
        """Return the user's LINE profile, or None when the platform does not know the user."""
        with self.lock:
            user = self._users.get(user_id)
            name = user.display_name if user is not None and user.display_name else self.default_display_name
        if name is None or not CHAT_ID_PATTERN.match(user_id):
            return None
        return {"userId": user_id, "displayName": name, "language": "th"}

    # -- reply tokens, reply, push -------------------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        """Create a single-use reply token bound to the user."""
        token = uuid.uuid4().hex
        with self.lock:
            self._reply_tokens[token] = (user_id, self._clock())
            _trim(self._reply_tokens, self._max_reply_tokens)
        return token

    def reply(self, reply_token: str, messages: list[JSON]) -> Delivery:
        """Consume a reply token and record the messages (in its user's timeline when it was issued)."""
        with self.lock:
            if reply_token in self.replies:
                raise InvalidReplyToken(reply_token)
            issued = self._reply_tokens.pop(reply_token, None)
            if issued is None and self.strict:
                raise InvalidReplyToken(reply_token)
            if issued is not None and self._clock() - issued[1] > self._reply_ttl:
                raise InvalidReplyToken(reply_token)
            self.replies[reply_token] = messages
            _trim(self.replies, self._max_records)
            return self._deliver(issued[0] if issued else None, messages, via="reply")

    def push(self, to: str, messages: list[JSON], retry_key: str | None = None) -> Delivery:
        """Record pushed messages; a retry key accepted before raises RetryKeyConflict."""
        with self.lock:
            key = retry_key.lower() if retry_key is not None else None
            if key is not None and key in self.accepted_retry_keys:
                raise RetryKeyConflict(self.accepted_retry_keys[key])
            delivery = self._deliver(to, messages, via="push")
            if key is not None:
                self.accepted_retry_keys[key] = delivery.request_id
                _trim(self.accepted_retry_keys, self._max_retry_keys)
            self.pushes.append((to, messages, retry_key))
            if len(self.pushes) > self._max_records:
                del self.pushes[: len(self.pushes) - self._max_records]
            return delivery

    def _deliver(self, user_id: str | None, messages: list[JSON], via: str) -> Delivery:
        """Append bot messages to the user's timeline (if known); caller holds the lock."""
        user = self._user(user_id) if user_id is not None else None
        sent: list[JSON] = []
        for message in messages:
            if user is not None and user_id is not None:
                entry = self._append(user_id, user, side="bot", via=via, message=message)
                message_id, quote_token = entry.message_id, entry.quote_token
            else:
                message_id = new_message_id()
                quote_token = new_quote_token() if message.get("type") in QUOTABLE_TYPES else None
            sent.append({"id": message_id, "quoteToken": quote_token} if quote_token else {"id": message_id})
        if user is not None:
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
        with self.lock:
            user = self._user(user_id)
            entry = self._append(user_id, user, side=side, via=via, message=message, message_id=message_id,
                                 quote_token=quote_token)
            self._notify(user)
            return entry

    # -- loading indicator ---------------------------------------------------------------------------------

    def start_loading(self, chat_id: str, seconds: int) -> None:
        """Show the typing indicator to the user for some seconds (until the bot sends)."""
        with self.lock:
            user = self._user(chat_id)
            user.typing_until = self._clock() + seconds
            self._notify(user)

    def typing_until(self, user_id: str) -> float | None:
        """Return when the user's typing indicator ends (epoch seconds), or None when it is off."""
        with self.lock:
            user = self._users.get(user_id)
            if user is None or user.typing_until <= self._clock():
                return None
            return user.typing_until

    # -- content -------------------------------------------------------------------------------------------

    def store_content(self, data: bytes, content_type: str) -> str:
        """Keep the bytes of a user's message under a new message id and return the id."""
        message_id = new_message_id()
        with self.lock:
            self.contents[message_id] = StoredContent(data, content_type)
            self._content_bytes += len(data)
            while self._content_bytes > self._max_content_bytes and len(self.contents) > 1:
                _, dropped = self.contents.popitem(last=False)
                self._content_bytes -= len(dropped[0])
        return message_id

    def content(self, message_id: str) -> StoredContent | None:
        """Return stored message content (or the default content), or None."""
        with self.lock:
            stored = self.contents.get(message_id)
        if stored is None:
            return self.default_content
        return StoredContent(*stored)  # the tests may store plain (bytes, content type) tuples

    # -- timeline ------------------------------------------------------------------------------------------

    def timeline(self, user_id: str, after: int = 0) -> list[TimelineEntry]:
        """Return the user's entries with a sequence number greater than `after`, oldest first."""
        with self.lock:
            user = self._users.get(user_id)
            if user is None:
                return []
            return [entry for entry in user.timeline if entry.seq > after]

    def last_seq(self, user_id: str) -> int:
        """Return the sequence number of the user's newest entry (0 when none)."""
        with self.lock:
            user = self._users.get(user_id)
            return user.timeline[-1].seq if user and user.timeline else 0

    async def wait_for_update(self, user_id: str, after: int, seconds: float) -> None:
        """Wait until the user has entries after `after`, their typing state changes, or the timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self.lock:
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
            with self.lock:
                if waiter in user.waiters:
                    user.waiters.remove(waiter)

    @staticmethod
    def _notify(user: _User) -> None:
        """Wake every long-poll waiting on the user, from any thread; caller holds the lock."""
        for loop, event in user.waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    # -- HTTP ----------------------------------------------------------------------------------------------

    async def handle(self, method: str, path: str, headers: Mapping[str, str], raw: bytes,
                     access_token: str | None = None) -> Answer:
        """Answer one HTTP request (path relative to the API base; header names lower case) and record it.

        `access_token`: the bearer token to require (None: any)."""
        body = _parse(raw) if method == "POST" else None
        endpoint, param = _route(method, path)
        call = Call(method, path, dict(headers), body, time.time(), time.monotonic(), endpoint)
        with self.lock:
            self.calls.append(call)
            if len(self.calls) > self._max_records:
                del self.calls[: len(self.calls) - self._max_records]
        answer = await self._answer(endpoint, param, headers, raw, body, access_token)
        call.status = answer.status
        with self.lock:
            name = endpoint or "unknown"
            self.counts[name if 200 <= answer.status < 300 else f"{name} {answer.status}"] += 1
            if endpoint == "reply" and answer.status == 200 and isinstance(body, dict):
                self.counts["reply_messages"] += len(body.get("messages") or [])
        return answer

    async def _answer(self, endpoint: str | None, param: str, headers: Mapping[str, str], raw: bytes,
                      body: Any, access_token: str | None) -> Answer:
        if endpoint is None:
            return _error(404, "Not found")
        if access_token is not None and not hmac.compare_digest(
            headers.get("authorization", "").encode(), f"Bearer {access_token}".encode()
        ):
            return _error(401, AUTH_FAILED)
        await self._wait(lambda: self.delays[endpoint])
        fault = self._next_fault(endpoint)
        if fault is not None and not fault.after_accept:
            await self._wait(lambda: fault.delay)
            if not 200 <= fault.status < 300:
                return _error(fault.status, f"scripted {fault.status}")
        answer = self._serve(endpoint, param, headers, raw, body)
        if fault is not None and fault.after_accept:
            await self._wait(lambda: fault.delay)
            if not 200 <= fault.status < 300:
                return _error(fault.status, f"scripted {fault.status} after accepting")
        return answer

    def _serve(self, endpoint: str, param: str, headers: Mapping[str, str], raw: bytes, body: Any) -> Answer:
        """The platform's own answer to a well-addressed, authorised call."""
        if endpoint == "profile":
            found = self.profile(param)
            return _json(200, found) if found else _error(404, "Not found")
        if endpoint == "content":
            stored = self.content(param)
            if stored is None:
                return _error(404, "Not found")
            return Answer(200, stored.data, stored.content_type, (("X-Line-Request-Id", new_request_id()),))
        if not isinstance(body, dict):
            return _error(400, "The request body could not be parsed as JSON")
        if endpoint == "reply":
            return self._serve_reply(body)
        if endpoint == "push":
            return self._serve_push(body, headers.get("x-line-retry-key"))
        return self._serve_loading(body)

    def _serve_reply(self, body: JSON) -> Answer:
        token = body.get("replyToken")
        if not isinstance(token, str) or not token:
            return _body_errors([{"message": "May not be empty", "property": "replyToken"}])
        if details := validate_messages(body.get("messages")):
            return _body_errors(details)
        try:
            delivery = self.reply(token, body["messages"])
        except InvalidReplyToken:
            return _error(400, "Invalid reply token")
        return _sent(delivery)

    def _serve_push(self, body: JSON, retry_key: str | None) -> Answer:
        if retry_key is not None and not RETRY_KEY_PATTERN.match(retry_key):
            return _error(400, "The value of the X-Line-Retry-Key header is invalid")
        to = body.get("to")
        if not isinstance(to, str) or not CHAT_ID_PATTERN.match(to):
            return _error(400, "The property, 'to', in the request body is invalid (line: -, column: -)")
        if details := validate_messages(body.get("messages")):
            return _body_errors(details)
        try:
            delivery = self.push(to, body["messages"], retry_key)
        except RetryKeyConflict as conflict:
            return _json(409, {"message": "The retry key is already accepted"},
                         {"X-Line-Accepted-Request-Id": conflict.accepted_request_id})
        return _sent(delivery)

    def _serve_loading(self, body: JSON) -> Answer:
        chat_id = body.get("chatId")
        seconds = body.get("loadingSeconds", 20)
        if not isinstance(chat_id, str) or not USER_ID_PATTERN.match(chat_id):
            return _body_errors([{"message": "Invalid chatId", "property": "chatId"}])
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds % 5 or not 5 <= seconds <= 60:
            return _body_errors([{"message": "Must be a multiple of 5 between 5 and 60",
                                  "property": "loadingSeconds"}])
        self.start_loading(chat_id, seconds)
        return _json(202, {})

    def control(self, method: str, path: str, raw: bytes) -> Answer:
        """The `/_fake/` endpoints of a fake run as its own process (benchmarks, other processes' tests):

        GET stats (counts per endpoint, "<endpoint> <status>" for refusals), GET replies ({"replies":
        {token: monotonic arrival}, "pushes": [[to, monotonic arrival], ...]}), GET calls (every call),
        POST reset, POST script ({"endpoint": "push", "answers": [500, {"status": 200, "delay": 5,
        "afterAccept": true}], "delay": seconds}), GET healthz."""
        name = path[len(CONTROL_PREFIX):]
        with self.lock:
            if method == "GET" and name == "stats":
                return _json(200, dict(self.counts))
            if method == "GET" and name == "replies":
                accepted = [c for c in self.calls if c.status == 200 and isinstance(c.body, dict)]
                return _json(200, {
                    "replies": {c.body["replyToken"]: c.monotonic for c in accepted if c.endpoint == "reply"},
                    "pushes": [[c.body.get("to"), c.monotonic] for c in accepted if c.endpoint == "push"],
                })
            if method == "GET" and name == "calls":
                return _json(200, {"calls": [
                    {"method": c.method, "path": c.path, "headers": c.headers, "body": c.body, "at": c.at,
                     "endpoint": c.endpoint, "status": c.status} for c in self.calls]})
            if method == "GET" and name == "healthz":
                return _json(200, {"status": "ok"})
        if method == "POST" and name == "reset":
            self.reset()
            return _json(200, {})
        if method == "POST" and name == "script":
            spec = _parse(raw)
            if not isinstance(spec, dict) or spec.get("endpoint") not in ENDPOINTS:
                return _error(400, f"endpoint must be one of {', '.join(ENDPOINTS)}")
            with self.lock:
                self._answers[spec["endpoint"]].extend(Fault.of(a) for a in spec.get("answers") or [])
                if spec.get("delay") is not None:
                    self.delays[spec["endpoint"]] = float(spec["delay"])
            return _json(200, {})
        return _error(404, "Not found")


# -- request parsing and validation ---------------------------------------------------------------------


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _route(method: str, path: str) -> tuple[str | None, str]:
    """(endpoint name, path parameter) of a Messaging/data API path, or (None, "") when not served."""
    if method == "POST":
        if path == "/v2/bot/message/reply":
            return "reply", ""
        if path == "/v2/bot/message/push":
            return "push", ""
        if path == "/v2/bot/chat/loading/start":
            return "loading", ""
    elif method == "GET":
        parts = path.split("/")
        if len(parts) == 5 and path.startswith("/v2/bot/profile/"):
            return "profile", parts[4]
        if len(parts) == 6 and path.startswith("/v2/bot/message/") and parts[5] == "content":
            return "content", parts[4]
    return None, ""


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


def _json(status: int, body: JSON, headers: Mapping[str, str] | None = None) -> Answer:
    """Return a JSON answer carrying an X-Line-Request-Id like LINE's."""
    all_headers = {"X-Line-Request-Id": new_request_id(), **(headers or {})}
    return Answer(status, json.dumps(body, ensure_ascii=False).encode(), "application/json",
                  tuple(all_headers.items()))


def _error(status: int, message: str, details: list[JSON] | None = None) -> Answer:
    """Return a LINE-style error body."""
    body: JSON = {"message": message}
    if details:
        body["details"] = details
    return _json(status, body)


def _sent(delivery: Delivery) -> Answer:
    """Return LINE's 200 for an accepted reply or push."""
    return _json(200, {"sentMessages": delivery.sent_messages}, {"X-Line-Request-Id": delivery.request_id})


def _body_errors(details: list[JSON]) -> Answer:
    """Return LINE's 400 for an invalid request body."""
    return _error(400, f"The request body has {len(details)} error(s)", details)


# -- serving it -----------------------------------------------------------------------------------------


def build_fake_line_router(platform: FakeLinePlatform, access_token: Callable[[], str]) -> APIRouter:
    """Return `/fake-line/...` routes serving the platform inside a FastAPI app (demo mode)."""
    router = APIRouter(prefix="/fake-line", include_in_schema=False)

    async def fake_line(path: str, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer = await platform.handle(request.method, "/" + path, headers, await request.body(), access_token())
        return Response(answer.body, answer.status, dict(answer.headers), media_type=answer.content_type)

    router.add_api_route("/{path:path}", fake_line, methods=["GET", "POST"])
    return router


class FakeLineApp:
    """The platform as a bare ASGI app of its own (tests, benchmarks), with the `/_fake/` control routes."""

    def __init__(self, platform: FakeLinePlatform, access_token: str | None = None) -> None:
        self.platform = platform
        self.access_token = access_token

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        method, path = scope["method"], scope["path"]
        try:
            if path.startswith(CONTROL_PREFIX):
                answer = self.platform.control(method, path, raw)
            else:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                answer = await self.platform.handle(method, path, headers, raw, self.access_token)
        except Exception as exc:  # a fake must answer, and say why
            answer = _error(500, f"fake LINE failed: {exc!r}")
        head = [(b"content-type", answer.content_type.encode()), (b"content-length", str(len(answer.body)).encode())]
        head += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": head})
        await send({"type": "http.response.body", "body": answer.body})


def lenient_platform(**options: Any) -> FakeLinePlatform:
    """A platform for tests and benchmarks: any unused reply token, a profile for everyone, content for
    every message id (a 1-pixel PNG)."""
    options.setdefault("strict", False)
    options.setdefault("default_display_name", "สมศรี")
    options.setdefault("default_content", StoredContent(PNG_1PX, "image/png"))
    options.setdefault("max_users", 100_000)
    options.setdefault("max_records", 1_000_000)
    return FakeLinePlatform(**options)


def _uvicorn_config(app: FakeLineApp, **options: Any) -> Any:
    import uvicorn

    return uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", **options)


class FakeLineServer:
    """A fake on a free local port, served by uvicorn in a background thread; a context manager that
    gives the platform (its `url` set).

        with FakeLineServer() as fake:            # lenient_platform(), no token check
            settings.line_api_base_url = fake.url
    """

    def __init__(self, platform: FakeLinePlatform | None = None, *, access_token: str | None = None,
                 host: str = "127.0.0.1") -> None:
        import uvicorn

        self.platform = platform if platform is not None else lenient_platform()
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, 0))
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self.platform.url = self.url
        self.server = uvicorn.Server(_uvicorn_config(FakeLineApp(self.platform, access_token)))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="fake-line", daemon=True)

    def start(self) -> FakeLinePlatform:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake LINE server did not start")
            time.sleep(0.01)
        return self.platform

    def stop(self) -> None:
        self.platform.closing = True  # calls told to hang give up, so the server can stop
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
        self.platform.closing = False

    def __enter__(self) -> FakeLinePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.line.fake --port N`: a lenient fake in its own process (the benchmark's)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bot.line.fake", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--access-token", default=None, help="the bearer token to require (default: any)")
    args = parser.parse_args(argv)
    app = FakeLineApp(lenient_platform(), args.access_token)
    uvicorn.Server(_uvicorn_config(app, host=args.host, port=args.port)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
