"""The harness itself: an app in this process answers a text through the fake LINE."""

from __future__ import annotations

from tests.conftest import RunningApp, post_webhook, text_event, user_id
from tests.support.fake_line import FakeLine


def test_text_is_answered_through_reply_api(running_app: RunningApp, fake_line: FakeLine) -> None:
    event = text_event(user_id(1), "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [event]).status_code == 200
    reply = fake_line.wait_reply(event["replyToken"])
    assert reply is not None
    assert "สวัสดีค่ะ" in reply[0]["text"]
