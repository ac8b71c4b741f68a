"""Helpers shared by the tests that run `helpdesk` as real processes against the fake LINE."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.fake_line import FakeLine

REPLY_PATH = "/v2/bot/message/reply"


def eventually(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Poll until `predicate()` is truthy and return its value; fail naming `what` at the deadline."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def reply_calls(fake: FakeLine, token: str) -> int:
    """How many reply requests carried this reply token (accepted or not)."""
    return sum(1 for call in fake.calls_to(REPLY_PATH) if call.body.get("replyToken") == token)


def pushes_to(fake: FakeLine, uid: str) -> int:
    return sum(1 for call in fake.calls_to("/v2/bot/message/push") if call.body.get("to") == uid)


def processed_lines(process: Any) -> int:
    """How many events this process logged as processed (JSON log lines)."""
    return int(process.log_path.read_text(encoding="utf-8", errors="replace").count('"msg": "event processed"'))
