"""The tests' fake LINE: bot/line/fake.py (the one the demo and the benchmarks use), lenient, on a free port.

`FakeLineServer()` serves a fresh `lenient_platform()` on 127.0.0.1 in a background thread, requiring the
tests' access token, and, as a context manager, gives the platform (`FakeLine`): `url`, `calls`,
`calls_to`, `replies`, `pushes`, `messages_to`, `wait_for`, `wait_reply`, `contents`, and the error
injection (`answers(endpoint)`, `push_statuses`, `reply_statuses`, `delays`, `profile_delay`,
`reply_delay`, `Fault`); see the module docstring there.
"""

from __future__ import annotations

import socket

from bot.line import fake
from bot.line.fake import PNG_1PX, Call, Fault, StoredContent
from bot.line.fake import FakeLinePlatform as FakeLine

__all__ = ["ACCESS_TOKEN", "PNG_1PX", "Call", "FakeLine", "FakeLineServer", "Fault", "StoredContent", "free_port"]

ACCESS_TOKEN = "test-access-token"  # the bearer token every test's settings carry (conftest.TOKEN)


class FakeLineServer(fake.FakeLineServer):
    """bot.line.fake.FakeLineServer requiring the tests' access token."""

    def __init__(self, platform: FakeLine | None = None, *, access_token: str | None = ACCESS_TOKEN) -> None:
        super().__init__(platform, access_token=access_token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
