"""The demo's fake LINE Messaging API and the LINE simulator, tested without the bot's core."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import FollowEvent, ImageMessageContent, MessageEvent, PostbackEvent, TextMessageContent

from bot.demo import build_demo_router
from bot.demo.simulator import STATIC_DIR, build_simulator_router, new_webhook_event_id, user_id_for
from bot.line.fake import FakeLinePlatform, InvalidReplyToken, build_fake_line_router
from bot.settings import Settings

SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "demo-access-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


@dataclass
class Received:
    """What the stand-in webhook saw: raw bodies, headers and SDK-parsed events."""

    bodies: list[bytes] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)

    def raw_events(self) -> list[dict[str, Any]]:
        """Return every delivered event as the JSON dict LINE would send."""
        return [event for body in self.bodies for event in json.loads(body)["events"]]


def add_stand_in_webhook(app: FastAPI, received: Received) -> None:
    """Add a `/line/webhook` that checks the signature with the SDK, as the real one does, and records."""
    parser = WebhookParser(SECRET)

    @app.post("/line/webhook")
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        signature = request.headers.get("x-line-signature", "")
        try:
            events = parser.parse(body.decode("utf-8"), signature)
        except InvalidSignatureError:
            return JSONResponse(status_code=400, content={"message": "bad signature"})
        received.bodies.append(body)
        received.signatures.append(signature)
        received.events.extend(events)
        return JSONResponse({})


def make_settings() -> Settings:
    """Return demo settings with known secrets."""
    return Settings(demo=True, line_channel_secret=SECRET, line_channel_access_token=TOKEN)


@dataclass
class Harness:
    """A small app with the fake API, the simulator and the stand-in webhook, reached in-process."""

    client: httpx.AsyncClient
    platform: FakeLinePlatform
    received: Received


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """The harness with matching secrets."""
    async with open_harness(make_settings()) as h:
        yield h


@asynccontextmanager
async def open_harness(settings: Settings) -> AsyncIterator[Harness]:
    """Build the app; the simulator's webhook client goes through ASGI to this same app."""
    platform, received = FakeLinePlatform(), Received()
    app = FastAPI()

    def same_app_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    app.include_router(build_fake_line_router(platform, lambda: settings.access_token))
    app.include_router(build_simulator_router(platform, settings, client_factory=same_app_client))
    add_stand_in_webhook(app, received)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Harness(client, platform, received)


async def send_text(h: Harness, name: str, text: str) -> httpx.Response:
    """Send a text as a simulated user."""
    body = {"displayName": name, "message": {"type": "text", "text": text}}
    return await h.client.post("/simulator/api/send", json=body)


# -- fake Messaging API --------------------------------------------------------------------------------


async def test_reply_token_is_single_use(harness: Harness) -> None:
    user = user_id_for("สมศรี")
    token = harness.platform.issue_reply_token(user)
    body = {"replyToken": token, "messages": [{"type": "text", "text": "สวัสดีค่ะ"}]}

    first = await harness.client.post("/fake-line/v2/bot/message/reply", json=body, headers=AUTH)
    second = await harness.client.post("/fake-line/v2/bot/message/reply", json=body, headers=AUTH)
    unknown = await harness.client.post(
        "/fake-line/v2/bot/message/reply", json={**body, "replyToken": uuid.uuid4().hex}, headers=AUTH
    )

    assert first.status_code == 200
    assert first.json()["sentMessages"][0]["id"].isdigit()
    assert first.json()["sentMessages"][0]["quoteToken"]
    assert second.status_code == 400 and second.json() == {"message": "Invalid reply token"}
    assert unknown.status_code == 400 and unknown.json()["message"] == "Invalid reply token"
    assert [e.message["text"] for e in harness.platform.timeline(user)] == ["สวัสดีค่ะ"]


def test_reply_token_expires() -> None:
    now = [1000.0]
    platform = FakeLinePlatform(reply_token_ttl_seconds=60, clock=lambda: now[0])
    token = platform.issue_reply_token(user_id_for("a"))
    now[0] += 61
    with pytest.raises(InvalidReplyToken):
        platform.reply(token, [{"type": "text", "text": "late"}])


async def test_push_retry_key_conflicts_on_repeat(harness: Harness) -> None:
    user = user_id_for("มานี")
    headers = {**AUTH, "X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": user, "messages": [{"type": "text", "text": "เจ้าหน้าที่ตอบกลับค่ะ"}]}

    first = await harness.client.post("/fake-line/v2/bot/message/push", json=body, headers=headers)
    again = await harness.client.post("/fake-line/v2/bot/message/push", json=body, headers=headers)

    assert first.status_code == 200 and first.json()["sentMessages"][0]["id"]
    assert again.status_code == 409 and again.json() == {"message": "The retry key is already accepted"}
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert len(harness.platform.timeline(user)) == 1


async def test_push_rejects_bad_requests(harness: Harness) -> None:
    user = user_id_for("x")
    url = "/fake-line/v2/bot/message/push"
    bad_key = await harness.client.post(
        url, json={"to": user, "messages": [{"type": "text", "text": "a"}]}, headers={**AUTH, "X-Line-Retry-Key": "1"}
    )
    bad_to = await harness.client.post(url, json={"to": "nobody", "messages": [{"type": "text", "text": "a"}]},
                                       headers=AUTH)
    empty_text = await harness.client.post(url, json={"to": user, "messages": [{"type": "text", "text": ""}]},
                                           headers=AUTH)
    too_many = await harness.client.post(url, json={"to": user, "messages": [{"type": "text", "text": "a"}] * 6},
                                         headers=AUTH)

    assert bad_key.status_code == bad_to.status_code == empty_text.status_code == too_many.status_code == 400
    assert empty_text.json()["details"] == [{"message": "May not be empty", "property": "messages[0].text"}]
    assert harness.platform.timeline(user) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/fake-line/v2/bot/message/reply"),
        ("POST", "/fake-line/v2/bot/message/push"),
        ("POST", "/fake-line/v2/bot/chat/loading/start"),
        ("GET", "/fake-line/v2/bot/profile/U" + "0" * 32),
        ("GET", "/fake-line/v2/bot/message/123/content"),
    ],
)
async def test_every_endpoint_requires_the_bearer_token(harness: Harness, method: str, path: str) -> None:
    missing = await harness.client.request(method, path, json={})
    wrong = await harness.client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})

    assert missing.status_code == wrong.status_code == 401
    assert "access token" in missing.json()["message"]


async def test_loading_indicator_shows_until_the_bot_sends(harness: Harness) -> None:
    user = user_id_for("ชูใจ")
    url = "/fake-line/v2/bot/chat/loading/start"
    started = await harness.client.post(url, json={"chatId": user, "loadingSeconds": 20}, headers=AUTH)
    typing = (await harness.client.get("/simulator/api/timeline", params={"userId": user})).json()["typing"]
    await harness.client.post("/fake-line/v2/bot/message/push",
                              json={"to": user, "messages": [{"type": "text", "text": "ok"}]}, headers=AUTH)
    after = (await harness.client.get("/simulator/api/timeline", params={"userId": user})).json()["typing"]
    invalid = await harness.client.post(url, json={"chatId": user, "loadingSeconds": 7}, headers=AUTH)

    assert started.status_code == 202 and started.json() == {}
    assert typing is True and after is False
    assert invalid.status_code == 400


async def test_profile_has_the_chosen_name(harness: Harness) -> None:
    started = await harness.client.post("/simulator/api/users", json={"displayName": "ป้าแดง"})
    user = started.json()["userId"]

    profile = await harness.client.get(f"/fake-line/v2/bot/profile/{user}", headers=AUTH)
    unknown = await harness.client.get(f"/fake-line/v2/bot/profile/U{'f' * 32}", headers=AUTH)

    assert profile.status_code == 200
    assert profile.json() == {"userId": user, "displayName": "ป้าแดง", "language": "th"}
    assert unknown.status_code == 404


def test_timeline_is_bounded_per_user() -> None:
    platform = FakeLinePlatform(max_messages_per_user=3)
    user = user_id_for("b")
    for n in range(5):
        platform.push(user, [{"type": "text", "text": str(n)}])

    entries = platform.timeline(user)
    assert [e.message["text"] for e in entries] == ["2", "3", "4"]
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)


# -- simulator API --------------------------------------------------------------------------------------


async def test_first_use_sends_a_signed_follow_then_the_message(harness: Harness) -> None:
    response = await send_text(harness, "สมชาย", "อยากทราบเรื่องเบี้ยผู้สูงอายุ")

    assert response.status_code == 200
    assert response.json()["webhookStatus"] == 200
    assert [d["eventType"] for d in response.json()["deliveries"]] == ["follow", "message"]
    follow, message = harness.received.events
    assert isinstance(follow, FollowEvent) and follow.follow.is_unblocked is False
    assert isinstance(message, MessageEvent) and isinstance(message.message, TextMessageContent)
    assert message.message.text == "อยากทราบเรื่องเบี้ยผู้สูงอายุ"
    assert message.source.user_id == user_id_for("สมชาย") == response.json()["userId"]
    for body, signature in zip(harness.received.bodies, harness.received.signatures, strict=True):
        expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        assert hmac.compare_digest(signature, expected)
        assert re.fullmatch(r"U[0-9a-f]{32}", json.loads(body)["destination"])


async def test_events_look_like_line_events(harness: Harness) -> None:
    await send_text(harness, "นิด", "สวัสดี")

    follow, message = harness.received.raw_events()
    for event in (follow, message):
        assert ULID.match(event["webhookEventId"])
        assert event["deliveryContext"] == {"isRedelivery": False}
        assert event["mode"] == "active"
        assert event["source"] == {"type": "user", "userId": user_id_for("นิด")}
        assert re.fullmatch(r"[0-9a-f]{32}", event["replyToken"])
        assert abs(event["timestamp"] - time.time() * 1000) < 10_000
    assert follow["webhookEventId"] != message["webhookEventId"]
    assert message["message"]["id"].isdigit() and message["message"]["quoteToken"]
    echo = harness.platform.timeline(user_id_for("นิด"))[-1]
    assert (echo.side, echo.message_id, echo.quote_token) == ("user", message["message"]["id"],
                                                              message["message"]["quoteToken"])


async def test_the_event_reply_token_replies_to_that_user(harness: Harness) -> None:
    await send_text(harness, "แก้ว", "ขอบคุณค่ะ")
    token = harness.received.raw_events()[-1]["replyToken"]

    reply = await harness.client.post("/fake-line/v2/bot/message/reply", headers=AUTH,
                                      json={"replyToken": token, "messages": [{"type": "text", "text": "ยินดีค่ะ"}]})

    assert reply.status_code == 200
    last = harness.platform.timeline(user_id_for("แก้ว"))[-1]
    assert (last.side, last.via, last.message["text"]) == ("bot", "reply", "ยินดีค่ะ")


async def test_follow_only_once_per_user(harness: Harness) -> None:
    await harness.client.post("/simulator/api/users", json={"displayName": "เอ"})
    again = await harness.client.post("/simulator/api/users", json={"displayName": "เอ"})
    sent = await send_text(harness, "เอ", "สอบถามค่ะ")

    assert again.json()["deliveries"] == []
    assert [d["eventType"] for d in sent.json()["deliveries"]] == ["message"]
    assert [type(e) for e in harness.received.events] == [FollowEvent, MessageEvent]


async def test_postback_and_location_and_sticker(harness: Harness) -> None:
    name = "บี"
    await harness.client.post("/simulator/api/send", json={
        "displayName": name,
        "postback": {"data": "action=confirm", "displayText": "ยืนยัน", "params": {"date": "2026-12-01"}}})
    await harness.client.post("/simulator/api/send", json={
        "displayName": name, "message": {"type": "location", "title": "บ้าน", "latitude": 13.75, "longitude": 100.5}})
    await harness.client.post("/simulator/api/send", json={
        "displayName": name, "message": {"type": "sticker", "packageId": "446", "stickerId": "1988"}})

    postback = harness.received.events[1]
    assert isinstance(postback, PostbackEvent) and postback.postback.data == "action=confirm"
    assert harness.received.raw_events()[1]["postback"]["params"] == {"date": "2026-12-01"}
    location, sticker = (e["message"] for e in harness.received.raw_events()[2:])
    assert (location["type"], location["latitude"], location["longitude"]) == ("location", 13.75, 100.5)
    assert (sticker["packageId"], sticker["stickerId"], sticker["stickerResourceType"]) == ("446", "1988", "STATIC")
    shown = [e.message for e in harness.platform.timeline(user_id_for(name)) if e.side == "user"]
    assert shown[0] == {"type": "text", "text": "ยืนยัน"}
    assert [m["type"] for m in shown] == ["text", "location", "sticker"]


async def test_a_rejected_signature_is_reported() -> None:
    wrong = Settings(demo=True, line_channel_secret="f" * 32, line_channel_access_token=TOKEN)
    async with open_harness(wrong) as h:
        response = await send_text(h, "จี", "สวัสดี")
        assert response.status_code == 200
        assert response.json()["webhookStatus"] == 400
        assert [d["status"] for d in response.json()["deliveries"]] == [400, 400]
        assert h.received.events == []


async def test_bad_simulator_requests_are_rejected(harness: Harness) -> None:
    no_name = await harness.client.post("/simulator/api/send", json={"message": {"type": "text", "text": "a"}})
    empty = await send_text(harness, "ซี", "   ")
    nothing = await harness.client.post("/simulator/api/send", json={"displayName": "ซี"})
    bad_user = await harness.client.get("/simulator/api/timeline", params={"userId": "x"})

    assert no_name.status_code == empty.status_code == nothing.status_code == bad_user.status_code == 400
    assert harness.received.events == []


async def test_image_upload_is_served_by_the_data_api(harness: Harness) -> None:
    sent = await harness.client.post(
        "/simulator/api/image", params={"displayName": "ดี"}, content=PNG, headers={"Content-Type": "image/png"}
    )
    message_id = sent.json()["messageId"]
    event = harness.received.events[-1]

    content = await harness.client.get(f"/fake-line/v2/bot/message/{message_id}/content", headers=AUTH)
    anonymous = await harness.client.get(f"/fake-line/v2/bot/message/{message_id}/content")
    missing = await harness.client.get("/fake-line/v2/bot/message/999/content", headers=AUTH)
    not_image = await harness.client.post("/simulator/api/image", params={"displayName": "ดี"}, content=b"<svg/>",
                                          headers={"Content-Type": "image/svg+xml"})

    assert sent.status_code == 200 and sent.json()["webhookStatus"] == 200
    assert isinstance(event, MessageEvent) and isinstance(event.message, ImageMessageContent)
    assert event.message.id == message_id and event.message.content_provider.type == "line"
    assert content.status_code == 200 and content.content == PNG
    assert content.headers["content-type"] == "image/png"
    assert anonymous.status_code == 401 and missing.status_code == 404
    assert not_image.status_code == 415


async def test_timeline_is_ordered_and_filters_by_sequence(harness: Harness) -> None:
    await send_text(harness, "อี", "หนึ่ง")
    user = user_id_for("อี")
    await harness.client.post("/fake-line/v2/bot/message/push", headers=AUTH,
                              json={"to": user, "messages": [{"type": "text", "text": "สอง"}]})
    await send_text(harness, "อี", "สาม")

    full = (await harness.client.get("/simulator/api/timeline", params={"userId": user})).json()
    seqs = [e["seq"] for e in full["entries"]]
    later = (await harness.client.get("/simulator/api/timeline", params={"userId": user, "after": seqs[1]})).json()

    assert [(e["side"], e["message"].get("text")) for e in full["entries"]] == [
        ("system", "คุณเพิ่ม พม. ช่วยได้ เป็นเพื่อนแล้ว"), ("user", "หนึ่ง"), ("bot", "สอง"), ("user", "สาม"),
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert full["lastSeq"] == seqs[-1]
    assert [e["seq"] for e in later["entries"]] == seqs[2:]
    other = (await harness.client.get("/simulator/api/timeline", params={"userId": user_id_for("อื่น")})).json()
    assert other["entries"] == []


async def test_long_poll_wakes_when_the_bot_sends(harness: Harness) -> None:
    user = user_id_for("เอฟ")
    poll = asyncio.create_task(
        harness.client.get("/simulator/api/timeline", params={"userId": user, "after": 0, "wait": 5})
    )
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    harness.platform.push(user, [{"type": "text", "text": "มาแล้วค่ะ"}])

    data = (await asyncio.wait_for(poll, 3)).json()
    assert time.monotonic() - started < 2
    assert [e["message"]["text"] for e in data["entries"]] == ["มาแล้วค่ะ"]


# -- the page -------------------------------------------------------------------------------------------


async def test_page_and_static_files_use_no_external_hosts(harness: Harness) -> None:
    page = await harness.client.get("/simulator")
    assert page.status_code == 200
    assert "พม. ช่วยได้" in page.text and "โหมดสาธิต" in page.text and "พิมพ์ข้อความ…" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        served = await harness.client.get(f"/simulator/static/{name}")
        assert served.status_code == 200
        assert "http://" not in served.text and "https://" not in served.text
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, name
    assert not re.search(r"(src|href)\s*=", (STATIC_DIR / "bot-avatar.svg").read_text(encoding="utf-8"))
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(ref.startswith("/simulator/static/") for ref in refs)
    assert (await harness.client.get("/simulator/static/../simulator.py")).status_code == 404


def test_webhook_event_ids_are_ulids() -> None:
    ids = {new_webhook_event_id() for _ in range(200)}
    assert len(ids) == 200 and all(ULID.match(i) for i in ids)
    assert new_webhook_event_id(0).startswith("0000000000")


# -- end to end over real HTTP with the real SDK ----------------------------------------------------------


@pytest.fixture
def live_server() -> Iterator[tuple[str, Received]]:
    """Serve build_demo_router(settings) plus the stand-in webhook with uvicorn on a free port."""
    received = Received()
    app = FastAPI()
    app.include_router(build_demo_router(make_settings()))
    add_stand_in_webhook(app, received)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", received
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def test_the_line_sdk_talks_to_the_fake_over_http(live_server: tuple[str, Received]) -> None:
    base, received = live_server
    async with httpx.AsyncClient(base_url=base) as browser:
        started = await browser.post("/simulator/api/users", json={"displayName": "จันทร์"})
        image = await browser.post("/simulator/api/image", params={"displayName": "จันทร์"}, content=PNG,
                                   headers={"Content-Type": "image/png"})
        user = started.json()["userId"]
        token = received.raw_events()[-1]["replyToken"]

        config = Configuration(host=f"{base}/fake-line", access_token=TOKEN)
        async with AsyncApiClient(config) as api_client:
            api, blob = AsyncMessagingApi(api_client), AsyncMessagingApiBlob(api_client)
            answer = ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="รับทราบค่ะ")])
            reply = await api.reply_message(answer)
            with pytest.raises(ApiException) as used:
                await api.reply_message(answer)
            key = str(uuid.uuid4())
            push = PushMessageRequest(to=user, messages=[TextMessage(text="แจ้งความคืบหน้าค่ะ")])
            await api.push_message(push, x_line_retry_key=key)
            with pytest.raises(ApiException) as repeated:
                await api.push_message(push, x_line_retry_key=key)
            await api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=user, loading_seconds=10))
            profile = await api.get_profile(user)
            content = await blob.get_message_content(image.json()["messageId"])

        timeline = (await browser.get("/simulator/api/timeline", params={"userId": user})).json()

    assert started.json()["webhookStatus"] == 200 and image.json()["webhookStatus"] == 200
    assert reply.sent_messages[0].id
    assert used.value.status == 400 and repeated.value.status == 409
    assert profile.display_name == "จันทร์" and profile.user_id == user
    assert bytes(content) == PNG
    bot_texts = [e["message"]["text"] for e in timeline["entries"] if e["side"] == "bot"]
    assert bot_texts == ["รับทราบค่ะ", "แจ้งความคืบหน้าค่ะ"]
    assert timeline["typing"] is True
