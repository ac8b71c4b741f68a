"""A programmable stand-in for the LINE Messaging API and data API, on a real local HTTP port.

The bot's SDK client talks to it over HTTP exactly as it would to LINE; tests script its answers
(e.g. "answer the next two pushes with 500") and read back every call it received.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class FakeLine:
    """State and scripted behaviour; `url` is both LINE_API_BASE_URL and LINE_DATA_API_BASE_URL."""

    calls: list[Call] = field(default_factory=list)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pushes: list[tuple[str, list[dict[str, Any]], str | None]] = field(default_factory=list)
    accepted_retry_keys: set[str] = field(default_factory=set)
    push_statuses: deque[int] = field(default_factory=deque)  # scripted answers for the next pushes
    reply_statuses: deque[int] = field(default_factory=deque)
    profile_delay: float = 0.0
    reply_delay: float = 0.0  # seconds before answering a reply call (the sender awaits it in the turn)
    # Seconds to hold the answer to a reply LINE has already accepted (the message is delivered, the
    # caller does not know yet): a test kills the caller in that gap.
    reply_hang_after_accept: float = 0.0
    contents: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls_to(self, path_prefix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path.startswith(path_prefix)]

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        """Every message the bot delivered to this user (replies by token owner unknown: pushes only)."""
        with self.lock:
            return [m for to, msgs, _ in self.pushes if to == user_id for m in msgs]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.02)
        return False

    def wait_reply(self, token: str, timeout: float = 10.0) -> list[dict[str, Any]] | None:
        if self.wait_for(lambda f: token in f.replies, timeout):
            return self.replies[token]
        return None


def _handler(fake: FakeLine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes = b"{}", content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, body: Any) -> None:
            with fake.lock:
                fake.calls.append(Call(self.command, self.path, dict(self.headers), body, time.time()))

        def do_GET(self) -> None:
            self._record(None)
            if self.path.startswith("/v2/bot/profile/"):
                if fake.profile_delay:
                    time.sleep(fake.profile_delay)
                user_id = self.path.rsplit("/", 1)[-1]
                body = {"userId": user_id, "displayName": "สมศรี", "language": "th"}
                return self._send(200, json.dumps(body).encode())
            if self.path.startswith("/v2/bot/message/") and self.path.endswith("/content"):
                message_id = self.path.split("/")[4]
                data, content_type = fake.contents.get(message_id, (PNG_1PX, "image/png"))
                return self._send(200, data, content_type)
            return self._send(404, b'{"message":"Not found"}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._send(400, b'{"message":"bad json"}')
            self._record(body)
            if self.path == "/v2/bot/message/reply" and fake.reply_delay:
                time.sleep(fake.reply_delay)
            if self.path == "/v2/bot/message/reply":
                with fake.lock:
                    if fake.reply_statuses:
                        status = fake.reply_statuses.popleft()
                        if status != 200:
                            return self._send(status, json.dumps({"message": f"scripted {status}"}).encode())
                    token = body.get("replyToken")
                    if token in fake.replies:
                        return self._send(400, b'{"message":"Invalid reply token"}')
                    fake.replies[token] = body.get("messages", [])
                    hang = fake.reply_hang_after_accept
                if hang:
                    time.sleep(hang)  # accepted and delivered; the answer is late (or never read)
                return self._send(200, b'{"sentMessages":[]}')
            if self.path == "/v2/bot/message/push":
                with fake.lock:
                    key = self.headers.get("X-Line-Retry-Key")
                    if fake.push_statuses:
                        status = fake.push_statuses.popleft()
                        if status != 200:
                            return self._send(status, json.dumps({"message": f"scripted {status}"}).encode())
                    if key and key in fake.accepted_retry_keys:
                        return self._send(409, b'{"message":"The retry key is already accepted"}')
                    if key:
                        fake.accepted_retry_keys.add(key)
                    fake.pushes.append((body.get("to"), body.get("messages", []), key))
                    return self._send(200, b'{"sentMessages":[]}')
            if self.path.startswith("/v2/bot/chat/loading/start"):
                return self._send(202)
            return self._send(404, b'{"message":"Not found"}')

    return Handler


class FakeLineServer:
    """Runs a FakeLine on a free port in a background thread (use as a context manager)."""

    def __init__(self) -> None:
        self.fake = FakeLine()
        self.fake.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.fake.port), _handler(self.fake))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeLine:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
