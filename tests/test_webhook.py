"""POST /line/webhook over real HTTP: signatures, body limits, redeliveries, every LINE event type, ops endpoints."""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.line.signature import sign
from knowledge.loader import get_knowledge
from tests.conftest import SECRET, RunningApp, make_settings, post_webhook, text_event, user_id, webhook_body
from tests.support.db_checks import outbox_rows, processed_ids, query, wait_outbox_settled, wait_processed
from tests.support.fake_line import FakeLine, FakeLineServer

FIXTURE = Path(__file__).parent / "fixtures" / "line-sdk-webhook.json"
ONE_MIB = 1024 * 1024


def signed_post(base_url: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/line/webhook",
        content=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": sign(SECRET, body), **headers},
        timeout=10,
    )


def inbox_ids(database_url: str) -> set[str]:
    return {r["webhook_event_id"] for r in query(database_url, "SELECT webhook_event_id FROM inbox_events")}


def calls_mentioning(fake: FakeLine, needle: str) -> list[Any]:
    with fake.lock:
        return [c for c in fake.calls if needle in c.path or needle in json.dumps(c.body or {})]


@pytest.fixture
def app_db(running_app: RunningApp) -> str:
    url: str = running_app.app.state.settings.database_url
    return url


@dataclass
class Shared:
    """One app for the tests that only send requests it must refuse (starting an app per test is slow)."""

    url: str
    fake: FakeLine
    database_url: str


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('webhook')}/helpdesk.db"
    with FakeLineServer() as fake, RunningApp(make_settings(database_url, fake)) as app:
        yield Shared(app.url, fake, database_url)


# --- signatures ------------------------------------------------------------------------------------


def test_forged_signature_is_refused_and_nothing_is_done(
    running_app: RunningApp, fake_line: FakeLine, app_db: str
) -> None:
    forged = text_event(user_id("forger"), "สวัสดีค่ะ")
    response = post_webhook(running_app.url, [forged], secret="not-the-channel-secret")
    assert response.status_code == 401
    assert "signature" in response.json()["message"].lower()

    # A genuine event afterwards is answered: by then the forged one would have been, had it been accepted.
    genuine = text_event(user_id("genuine"), "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [genuine]).status_code == 200
    assert fake_line.wait_reply(genuine["replyToken"]) is not None

    assert inbox_ids(app_db) == {genuine["webhookEventId"]}
    assert calls_mentioning(fake_line, forged["replyToken"]) == []
    assert calls_mentioning(fake_line, forged["source"]["userId"]) == []
    assert fake_line.pushes == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-Line-Signature": ""}, id="empty"),
        pytest.param({"X-Line-Signature": sign(SECRET, b'{"events":[]}')}, id="of-another-body"),
        pytest.param({"X-Line-Signature": "not base64 at all ✗".encode()}, id="not-ascii"),
    ],
)
def test_webhook_without_the_right_signature_is_refused(shared: Shared, headers: dict[str, str | bytes]) -> None:
    refused = text_event(user_id("nosig"), "สวัสดีค่ะ")
    body = webhook_body([refused])
    response = httpx.post(
        f"{shared.url}/line/webhook",
        content=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=10,
    )
    assert response.status_code in (400, 401, 403)
    assert refused["webhookEventId"] not in inbox_ids(shared.database_url)


# --- body shape --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"events": [', id="truncated-json"),
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b'{"destination": "U0"}', id="no-events"),
        pytest.param(b'{"events": {"type": "message"}}', id="events-not-a-list"),
        pytest.param(b'["events"]', id="not-an-object"),
        pytest.param(b'{"events": ["message"]}', id="event-not-an-object"),
    ],
)
def test_signed_body_that_is_not_a_webhook_is_400(shared: Shared, body: bytes) -> None:
    before = inbox_ids(shared.database_url)
    response = signed_post(shared.url, body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert inbox_ids(shared.database_url) == before


BIG_INT = b"1" + b"0" * 5000  # past Python's 4,300-digit limit for int(str)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000, id="100k-nested-arrays"),
        pytest.param(b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", id="nested-inside-events"),
        pytest.param(
            b'{"events": [{"type": "message", "a": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001 + b"]}",
            id="nested-objects-in-an-event",
        ),
        pytest.param(b'{"events": [], "n": ' + BIG_INT + b"}", id="huge-integer"),
        pytest.param(b'{"events": [{"type": "message", "timestamp": ' + BIG_INT + b"}]}", id="huge-int-in-event"),
        pytest.param(b'{"events": [], "text": "' + bytes([0xE0, 0xB8]) + b'"}', id="truncated-utf8-thai"),
        pytest.param(b'{"events": [], "text": "' + bytes([0xC0, 0xAF]) + b'"}', id="overlong-utf8"),
        pytest.param(b"\x00\x00\x00{", id="utf32-looking-garbage"),
    ],
)
def test_signed_body_json_cannot_parse_is_400_not_500(shared: Shared, body: bytes) -> None:
    before = inbox_ids(shared.database_url)
    response = signed_post(shared.url, body)
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert inbox_ids(shared.database_url) == before
    assert httpx.get(f"{shared.url}/healthz", timeout=5).status_code == 200  # the process is fine


def test_get_root_outside_the_demo_is_a_short_json(shared: Shared) -> None:
    response = httpx.get(f"{shared.url}/", timeout=5)
    assert response.status_code == 200
    assert response.json()["webhook"] == "/line/webhook"


def test_get_root_in_the_demo_leads_to_the_simulator(sqlite_url: str, fake_line: FakeLine) -> None:
    with RunningApp(make_settings(sqlite_url, fake_line, demo=True)) as app:
        response = httpx.get(f"{app.url}/", timeout=5)
        assert response.status_code in (302, 303, 307)
        assert response.headers["location"].endswith("/simulator")
        page = httpx.get(f"{app.url}/", timeout=5, follow_redirects=True)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_verify_button_empty_events_is_200(running_app: RunningApp, fake_line: FakeLine) -> None:
    response = signed_post(running_app.url, b'{"destination": "U0000", "events": []}')
    assert response.status_code == 200
    assert fake_line.calls == []


# --- body size ---------------------------------------------------------------------------------------


def test_body_over_one_mib_with_content_length_is_413(shared: Shared) -> None:
    body = b'{"events": [], "pad": "' + b"x" * ONE_MIB + b'"}'
    response = signed_post(shared.url, body)
    assert response.request.headers["content-length"] == str(len(body))
    assert response.status_code == 413
    assert httpx.get(f"{shared.url}/healthz", timeout=5).status_code == 200


def test_chunked_body_over_one_mib_is_413(shared: Shared) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"events": [], "pad": "'
        for _ in range(40):  # 40 × 64 KiB = 2.5 MiB, never announced in a Content-Length
            yield b"x" * (64 * 1024)
        yield b'"}'

    response = httpx.post(
        f"{shared.url}/line/webhook",
        content=chunks(),
        headers={"Content-Type": "application/json", "X-Line-Signature": "irrelevant"},
        timeout=10,
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413

    # Still serving, and still processing webhooks.
    assert httpx.get(f"{shared.url}/healthz", timeout=5).status_code == 200
    after = text_event(user_id("after-413"), "สวัสดีค่ะ")
    assert post_webhook(shared.url, [after]).status_code == 200
    assert shared.fake.wait_reply(after["replyToken"]) is not None


def test_body_of_exactly_one_mib_is_accepted(shared: Shared) -> None:
    event = text_event(user_id("big-but-ok"), "สวัสดีค่ะ")
    body = webhook_body([event])
    body = body[:-1] + b" " * (ONE_MIB - len(body)) + b"}"
    assert len(body) == ONE_MIB
    assert signed_post(shared.url, body).status_code == 200
    assert shared.fake.wait_reply(event["replyToken"]) is not None


# --- redelivery ----------------------------------------------------------------------------------------


def test_redelivered_event_is_answered_once(running_app: RunningApp, fake_line: FakeLine, app_db: str) -> None:
    uid = user_id("redelivery")
    first = text_event(uid, "สวัสดีค่ะ")
    again = copy.deepcopy(first)
    again["deliveryContext"] = {"isRedelivery": True}

    assert post_webhook(running_app.url, [first]).status_code == 200
    assert fake_line.wait_reply(first["replyToken"]) is not None
    assert post_webhook(running_app.url, [again]).status_code == 200
    # The same user's next event goes through the same lane, after anything queued before it.
    follow_up = text_event(uid, "ขอบคุณค่ะ")
    assert post_webhook(running_app.url, [follow_up]).status_code == 200
    assert fake_line.wait_reply(follow_up["replyToken"]) is not None

    assert (
        len([c for c in fake_line.calls_to("/v2/bot/message/reply") if c.body["replyToken"] == first["replyToken"]])
        == 1
    )
    assert fake_line.pushes == []
    assert len(outbox_rows(app_db, first["webhookEventId"])) == 1


def test_redelivery_inside_one_request_is_answered_once(
    running_app: RunningApp, fake_line: FakeLine, app_db: str
) -> None:
    first = text_event(user_id("same-batch"), "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [first, copy.deepcopy(first)]).status_code == 200
    assert fake_line.wait_reply(first["replyToken"]) is not None
    assert wait_processed(app_db, [first["webhookEventId"]])
    assert wait_outbox_settled(app_db)
    assert len(fake_line.calls_to("/v2/bot/message/reply")) == 1
    assert len(outbox_rows(app_db, first["webhookEventId"])) == 1


# --- every event LINE can send --------------------------------------------------------------------------

ANSWERED = {
    0: "text from a user",
    2: "video",
    3: "audio",
    4: "location",
    5: "sticker",
    6: "follow",
    10: "postback",
    16: "postback (date)",
    17: "postback (time)",
    18: "postback (datetime)",
    21: "file",
    24: "image from LINE",
    25: "text flagged as redelivered (but a new event ID)",
}
GROUP_JOIN = 8


def fixture_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["events"]
    assert len(events) == 28
    for raw in events:
        raw["webhookEventId"] = uuid.uuid4().hex.upper()[:26]
        if "replyToken" in raw:
            raw["replyToken"] = uuid.uuid4().hex
    return events


def test_every_sdk_fixture_event_is_acknowledged_and_handled_or_ignored_on_purpose(
    running_app: RunningApp, fake_line: FakeLine, app_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    events = fixture_events()
    for raw in events:
        response = post_webhook(running_app.url, [raw])
        assert response.status_code == 200, (raw["type"], response.text)

    ids = [raw["webhookEventId"] for raw in events]
    assert wait_processed(app_db, ids), f"never processed: {set(ids) - processed_ids(app_db)}"
    assert wait_outbox_settled(app_db)

    with fake_line.lock:
        pushed_keys = {key for _, _, key in fake_line.pushes}
        replied_tokens = set(fake_line.replies)
    for index, raw in enumerate(events):
        rows = outbox_rows(app_db, raw["webhookEventId"])
        label = f"#{index} {raw['type']}/{raw.get('message', {}).get('type')} from {raw['source']['type']}"
        if index in ANSWERED or index == GROUP_JOIN:
            assert rows, f"{label} got no answer"
            for row in rows:
                assert row["status"] == "sent", label
                delivered = row["retry_key"] in pushed_keys or raw.get("replyToken") in replied_tokens
                assert delivered, f"{label}: the fake never received the answer"
        else:
            assert rows == [], f"{label} should be ignored but was answered: {rows}"

    join_text = get_knowledge().replies.group_not_supported
    group_id = events[GROUP_JOIN]["source"]["groupId"]
    to_group = fake_line.messages_to(group_id) + fake_line.replies.get(events[GROUP_JOIN]["replyToken"], [])
    assert [m["text"] for m in to_group] == [join_text]
    assert "ส่วนตัว" in join_text

    sorry = get_knowledge().replies.sorry_error
    answered_texts = [m.get("text") for _, msgs, _ in fake_line.pushes for m in msgs]
    assert sorry not in answered_texts  # no event ended in the give-up apology

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_standby_event_is_ignored(running_app: RunningApp, fake_line: FakeLine, app_db: str) -> None:
    uid = user_id("standby")
    standby = text_event(uid, "สวัสดีค่ะ")
    standby["mode"] = "standby"
    assert post_webhook(running_app.url, [standby]).status_code == 200
    sentinel = text_event(uid, "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [sentinel]).status_code == 200
    assert fake_line.wait_reply(sentinel["replyToken"]) is not None

    assert standby["webhookEventId"] in processed_ids(app_db)
    assert outbox_rows(app_db, standby["webhookEventId"]) == []
    assert calls_mentioning(fake_line, standby["replyToken"]) == []
    assert len(fake_line.calls_to("/v2/bot/message/reply")) == 1


# --- never processing inside the request -----------------------------------------------------------------


def test_webhook_answers_before_processing(running_app: RunningApp, fake_line: FakeLine) -> None:
    fake_line.profile_delay = 3.0  # a new user's turn first asks LINE for the profile
    event = text_event(user_id("slow-profile"), "สวัสดีค่ะ")
    started = time.monotonic()
    response = post_webhook(running_app.url, [event])
    answered_in = time.monotonic() - started
    assert response.status_code == 200
    assert answered_in < 1.0, f"the webhook took {answered_in:.2f}s: it processed inside the request"

    assert fake_line.wait_reply(event["replyToken"], timeout=15) is not None
    reply_call = fake_line.calls_to("/v2/bot/message/reply")[0]
    assert reply_call.at - started >= 2.5  # the answer came after the slow profile call, not before


# --- operations endpoints ------------------------------------------------------------------------------


def test_healthz_and_readyz(shared: Shared) -> None:
    health = httpx.get(f"{shared.url}/healthz", timeout=5)
    assert health.status_code == 200
    ready = httpx.get(f"{shared.url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}


def scrape(base_url: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def grew(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_count_requests_events_and_calls(running_app: RunningApp, fake_line: FakeLine, app_db: str) -> None:
    _, before = scrape(running_app.url)
    event = text_event(user_id("metrics"), "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [event]).status_code == 200
    assert post_webhook(running_app.url, [event]).status_code == 200  # a redelivery
    assert post_webhook(running_app.url, [event], secret="forged").status_code == 401
    assert signed_post(running_app.url, b"{").status_code == 400
    assert fake_line.wait_reply(event["replyToken"]) is not None
    assert wait_outbox_settled(app_db)

    text, after = scrape(running_app.url)
    assert "# TYPE helpdesk_webhook_requests_total counter" in text
    assert "# TYPE helpdesk_queue_depth gauge" in text
    assert "# TYPE helpdesk_event_processing_seconds histogram" in text
    assert grew(before, after, "helpdesk_webhook_requests_total", status="200") == 2
    assert grew(before, after, "helpdesk_webhook_requests_total", status="401") == 1
    assert grew(before, after, "helpdesk_webhook_requests_total", status="400") == 1
    assert grew(before, after, "helpdesk_events_total", type="message", result="received") == 2
    assert grew(before, after, "helpdesk_events_total", type="any", result="redelivery_dropped") == 1
    assert grew(before, after, "helpdesk_events_total", type="message", result="handled") == 1
    assert grew(before, after, "helpdesk_event_processing_seconds_count") == 1
    assert grew(before, after, "helpdesk_outbound_calls_total", endpoint="reply", status="200") == 1
    assert ("helpdesk_queue_depth", ()) in after
