"""The shared fake LINE platform (bot/line/fake.py) on its own port: error injection and the control routes."""

from __future__ import annotations

import math
import threading
import time
import uuid

import httpx

from bot.line.fake import FakeLinePlatform
from tests.support.fake_line import ACCESS_TOKEN, FakeLineServer, Fault

AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
USER = "U" + "a" * 32
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"
HELLO = [{"type": "text", "text": "สวัสดีค่ะ"}]


def push(url: str, key: str, timeout: float = 5) -> httpx.Response:
    return httpx.post(url + PUSH, json={"to": USER, "messages": HELLO}, timeout=timeout,
                      headers={**AUTH, "X-Line-Retry-Key": key})


def test_a_push_accepted_then_unanswered_is_a_409_on_retry() -> None:
    with FakeLineServer() as fake:
        fake.answers("push").append(Fault(200, delay=math.inf, after_accept=True))
        key = str(uuid.uuid4())
        try:
            push(fake.url, key, timeout=0.5)
            raise AssertionError("the hung push was answered")
        except httpx.TimeoutException:
            pass
        again = push(fake.url, key)
        statuses = [c.status for c in fake.calls_to(PUSH)]

    assert again.status_code == 409 and again.headers["x-line-accepted-request-id"]
    assert fake.pushes == [(USER, HELLO, key)]
    assert statuses == [0, 409]  # the first is still unanswered


def test_scripted_failures_deliver_nothing_and_are_used_up() -> None:
    with FakeLineServer() as fake:
        fake.push_statuses.extend([500, 429])
        statuses = [push(fake.url, str(uuid.uuid4())).status_code for _ in range(3)]
        unauthorised = httpx.post(fake.url + PUSH, json={"to": USER, "messages": HELLO})

    assert statuses == [500, 429, 200]
    assert len(fake.pushes) == 1
    assert unauthorised.status_code == 401


def test_a_standing_delay_holds_calls_until_it_is_lifted() -> None:
    with FakeLineServer() as fake:
        fake.delays["reply"] = math.inf
        answers: list[int] = []
        token = uuid.uuid4().hex
        thread = threading.Thread(target=lambda: answers.append(httpx.post(
            fake.url + REPLY, json={"replyToken": token, "messages": HELLO}, headers=AUTH, timeout=10).status_code))
        thread.start()
        assert fake.wait_for(lambda f: f.calls_to(REPLY), 5)
        time.sleep(0.3)
        assert answers == [] and token not in fake.replies
        fake.reply_delay = 0
        thread.join(5)

    assert answers == [200] and fake.replies[token] == HELLO


def test_control_routes_script_count_and_reset() -> None:
    with FakeLineServer() as fake:
        scripted = httpx.post(fake.url + "/_fake/script", json={"endpoint": "reply", "answers": [{"status": 500}]})
        token = uuid.uuid4().hex
        body = {"replyToken": token, "messages": HELLO}
        first = httpx.post(fake.url + REPLY, json=body, headers=AUTH)
        second = httpx.post(fake.url + REPLY, json=body, headers=AUTH)
        used = httpx.post(fake.url + REPLY, json=body, headers=AUTH)
        stats = httpx.get(fake.url + "/_fake/stats").json()
        replies = httpx.get(fake.url + "/_fake/replies").json()
        httpx.post(fake.url + "/_fake/reset")
        after = httpx.get(fake.url + "/_fake/stats").json()

    assert scripted.status_code == 200
    assert (first.status_code, second.status_code, used.status_code) == (500, 200, 400)
    assert stats == {"reply 500": 1, "reply": 1, "reply_messages": 1, "reply 400": 1}
    assert list(replies["replies"]) == [token] and replies["pushes"] == []
    assert after == {} and fake.calls == []


def test_lenient_and_strict_reply_tokens() -> None:
    strict = FakeLinePlatform()
    with FakeLineServer() as lenient:
        answered = httpx.post(lenient.url + REPLY, json={"replyToken": "never-issued", "messages": HELLO},
                              headers=AUTH)
        profile = httpx.get(f"{lenient.url}/v2/bot/profile/{USER}", headers=AUTH)
    with FakeLineServer(strict) as fake:
        refused = httpx.post(fake.url + REPLY, json={"replyToken": "never-issued", "messages": HELLO}, headers=AUTH)
        no_profile = httpx.get(f"{fake.url}/v2/bot/profile/{USER}", headers=AUTH)

    assert answered.status_code == 200 and profile.json()["displayName"]
    assert refused.status_code == 400 and no_profile.status_code == 404
