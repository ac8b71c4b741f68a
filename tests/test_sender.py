"""The outbound sender against the fake LINE: retries with one retry key, 409s, failures, reply vs push, relay."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.line.client import LineClient
from bot.sender import FRESH_CLAIM, Sender, answer_unknown
from storage import migrate, outbox
from storage.base import utcnow
from storage.db import Database
from storage.outbox import OutboxMessage
from tests.conftest import TOKEN, RunningApp, make_settings, post_webhook, text_event, user_id
from tests.support.db_checks import outbox_rows, query, wait_outbox_settled
from tests.support.fake_line import Call, FakeLine, FakeLineServer, Fault

PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"
LOADING = "/v2/bot/chat/loading/start"
HELLO = [{"type": "text", "text": "สวัสดีค่ะ"}]


@pytest.fixture
def quick_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay's pass interval (a tuning constant, 2 s) shortened so relay tests take a fraction of it."""
    monkeypatch.setattr("bot.sender.RELAY_INTERVAL_SECONDS", 0.1)


def header(call: Call, name: str) -> str | None:
    return next((v for k, v in call.headers.items() if k.lower() == name.lower()), None)


# --- the sender on its own ------------------------------------------------------------------------------


@pytest.fixture
def db(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    """SQLite, or PostgreSQL where a test asks for both (`both_backends`): claims and leases differ most there."""
    backend = getattr(request, "param", "sqlite")
    url = str(request.getfixturevalue("postgres_url")) if backend == "postgresql" else sqlite_url
    migrate.upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


both_backends = pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeLine]:
    with FakeLineServer() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeLine) -> FakeLine:
    """The module's fake LINE, forgetting earlier tests' calls and scripts (a server per test is slow to stop)."""
    fake_server.reset()
    return fake_server


@pytest.fixture
async def line(fake: FakeLine) -> AsyncIterator[LineClient]:
    client = LineClient(access_token=TOKEN, api_base_url=fake.url, data_api_base_url=fake.url, timeout=5)
    yield client
    await client.close()


@pytest.fixture
async def sender(db: Database, line: LineClient) -> AsyncIterator[Sender]:
    instance = Sender(db=db, line=line, max_attempts=5, backoff_base=0.01)
    yield instance
    await instance.stop()


def enqueue(
    db: Database,
    *,
    claim_for: timedelta | None = FRESH_CLAIM,
    reply_token: str | None = None,
    reply_in: float | None = None,
) -> OutboxMessage:
    """A committed outbox row for one push (or a reply, with a token valid for `reply_in` seconds).

    By default the row is born claimed, as the event processor writes it before handing it to `deliver`.
    """
    with db.session() as db_session:
        row = outbox.enqueue(
            db_session=db_session,
            line_user_id=user_id("sender"),
            messages=HELLO,
            reply_token=reply_token,
            reply_deadline=utcnow() + timedelta(seconds=reply_in) if reply_in is not None else None,
            claim_for=claim_for,
        )
    assert row.id is not None
    return row


def stored(db: Database, outbox_id: int) -> dict[str, Any]:
    """The row as stored (status by its enum NAME, as SQLAlchemy writes it)."""
    return query(db.url, "SELECT * FROM outbox WHERE id = :id", id=outbox_id)[0]


async def wait_status(db: Database, outbox_id: int, *statuses: str, within: float = 10.0) -> dict[str, Any]:
    """The row once its status is one of `statuses`, or as it is after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        row = await asyncio.to_thread(stored, db, outbox_id)
        if row["status"] in statuses or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.02)


@both_backends
async def test_push_retried_after_5xx_with_the_same_retry_key(db: Database, sender: Sender, fake: FakeLine) -> None:
    fake.push_statuses.extend([500, 500])
    row = enqueue(db)
    outbox_id, retry_key = row.id, row.retry_key

    await sender.deliver([row])
    after = await wait_status(db, outbox_id, "sent", "failed")

    assert after["status"] == "sent"
    assert after["attempts"] == 3
    assert after["sent_via"] == "push"
    calls = fake.calls_to(PUSH)
    assert [header(c, "X-Line-Retry-Key") for c in calls] == [retry_key] * 3
    assert fake.pushes == [(user_id("sender"), HELLO, retry_key)]  # exactly one message accepted


async def test_retry_answered_409_means_line_had_accepted_it(db: Database, sender: Sender, fake: FakeLine) -> None:
    row = enqueue(db)
    outbox_id, retry_key = row.id, row.retry_key
    # LINE accepted the first push but the answer was lost (a 500 after accepting): the retry gets 409.
    fake.push_statuses.append(Fault(500, after_accept=True))

    await sender.deliver([row])
    after = await wait_status(db, outbox_id, "sent", "failed")

    assert after["status"] == "sent"
    assert after["attempts"] == 2
    assert after["last_error"] is None
    assert len(fake.calls_to(PUSH)) == 2
    assert fake.pushes == [(user_id("sender"), HELLO, retry_key)]  # the 409 added nothing: it was already there


async def test_push_400_fails_with_lines_reason_and_is_not_retried(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    fake.push_statuses.append(400)
    row = enqueue(db)
    outbox_id = row.id

    await sender.deliver([row])
    await asyncio.sleep(0.3)  # backoff here is ~10 ms: a retry would have happened by now

    after = stored(db, outbox_id)
    assert after["status"] == "failed"
    assert "400" in after["last_error"] and "scripted 400" in after["last_error"]
    assert after["attempts"] == 1
    assert len(fake.calls_to(PUSH)) == 1


async def test_push_429_is_retried(db: Database, sender: Sender, fake: FakeLine) -> None:
    fake.push_statuses.append(429)
    row = enqueue(db)
    outbox_id, retry_key = row.id, row.retry_key

    await sender.deliver([row])
    after = await wait_status(db, outbox_id, "sent", "failed")

    assert after["status"] == "sent"
    assert after["attempts"] == 2
    assert [header(c, "X-Line-Retry-Key") for c in fake.calls_to(PUSH)] == [retry_key, retry_key]


async def test_persistent_5xx_gives_up_after_max_attempts(db: Database, sender: Sender, fake: FakeLine) -> None:
    fake.push_statuses.extend([503] * 10)
    row = enqueue(db)
    outbox_id = row.id

    await sender.deliver([row])
    after = await wait_status(db, outbox_id, "failed", "sent")

    assert after["status"] == "failed"
    assert after["attempts"] == 5
    assert "503" in after["last_error"]
    assert len(fake.calls_to(PUSH)) == 5
    assert fake.pushes == []


async def test_fresh_reply_token_uses_the_reply_api(db: Database, sender: Sender, fake: FakeLine) -> None:
    row = enqueue(db, reply_token="fresh-token", reply_in=30)
    outbox_id = row.id

    await sender.deliver([row])

    assert stored(db, outbox_id)["sent_via"] == "reply"
    assert fake.replies == {"fresh-token": HELLO}
    assert fake.calls_to(PUSH) == []


async def test_past_reply_deadline_goes_by_push(db: Database, sender: Sender, fake: FakeLine) -> None:
    row = enqueue(db, reply_token="stale-token", reply_in=-1)
    outbox_id, retry_key = row.id, row.retry_key

    await sender.deliver([row])

    assert stored(db, outbox_id)["sent_via"] == "push"
    assert fake.calls_to(REPLY) == []
    assert fake.pushes == [(user_id("sender"), HELLO, retry_key)]


async def test_relay_delivers_a_pending_row_nobody_sent(
    db: Database, sender: Sender, fake: FakeLine, quick_relay: None
) -> None:
    """A row committed to the outbox without anyone calling deliver: the relay finds it."""
    row = enqueue(db, claim_for=None)

    sender.start()
    stored_row = await wait_status(db, row.id, "sent", within=3)

    assert stored_row["status"] == "sent"
    assert fake.pushes == [(user_id("sender"), HELLO, row.retry_key)]


@both_backends
async def test_relay_takes_over_a_row_whose_writer_died_before_sending(
    db: Database, sender: Sender, fake: FakeLine, quick_relay: None
) -> None:
    """A crash between the turn's commit and the send: the row was born claimed, and the claim runs out."""
    row = enqueue(db, claim_for=timedelta(milliseconds=300))

    sender.start()
    await asyncio.sleep(0.15)
    assert fake.pushes == []  # still claimed by the (dead) writer: nobody else may send it yet
    stored_row = await wait_status(db, row.id, "sent", within=3)

    assert stored_row["status"] == "sent"
    assert stored_row["attempts"] == 2
    assert fake.pushes == [(user_id("sender"), HELLO, row.retry_key)]


# --- exactly once across a lost answer: the attempt log decides -------------------------------------------


def attempt_log(db: Database, outbox_id: int) -> list[dict[str, Any]]:
    value = stored(db, outbox_id)["attempt_log"]
    log: list[dict[str, Any]] = json.loads(value) if isinstance(value, str) else value
    return log


def expire(db: Database, outbox_id: int, *, lease: bool = True, reply_window: bool = False) -> None:
    """What time does to a row whose sender died: its claim runs out (and perhaps the reply window too)."""
    past = utcnow() - timedelta(seconds=1)
    with db.session() as db_session:
        values: dict[str, Any] = {}
        if lease:
            values["lease_until"] = past
        if reply_window:
            values["reply_deadline"] = past
        db_session.query(OutboxMessage).filter(OutboxMessage.id == outbox_id).update(values)


def a_sender_died_waiting_for_its_reply(db: Database, token: str) -> OutboxMessage:
    """A row born claimed whose first reply call went out and whose answer nobody read."""
    row = enqueue(db, reply_token=token, reply_in=30)
    assert [(a["n"], a["via"], a["key"], a["status"]) for a in attempt_log(db, row.id)] == [(1, "reply", token, None)]
    expire(db, row.id)
    return row


@both_backends
async def test_a_reply_spent_by_an_earlier_call_whose_answer_was_lost_is_not_sent_again(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    row = a_sender_died_waiting_for_its_reply(db, "spent-by-us")
    fake.replies["spent-by-us"] = HELLO  # LINE had accepted that first call: the citizen has the message

    await sender.attempt(row.id)

    after = stored(db, row.id)
    assert (after["status"], after["sent_via"], after["attempts"]) == ("sent", "reply", 2)
    assert "delivered by attempt 1" in after["last_error"]
    assert [(a["n"], a["via"], a["status"]) for a in attempt_log(db, row.id)] == [(1, "reply", None), (2, "reply", 400)]
    assert len(fake.calls_to(REPLY)) == 1 and fake.calls_to(PUSH) == []


async def test_an_unanswered_reply_that_never_reached_line_is_delivered_by_the_next_attempt(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    row = a_sender_died_waiting_for_its_reply(db, "never-arrived")

    await sender.attempt(row.id)

    assert stored(db, row.id)["sent_via"] == "reply"
    assert fake.replies == {"never-arrived": HELLO}
    assert fake.calls_to(PUSH) == []


async def test_past_the_reply_window_an_unanswered_reply_is_followed_by_push(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    """The token may have expired rather than been spent: we cannot tell, and a late answer beats none."""
    row = a_sender_died_waiting_for_its_reply(db, "too-late")
    expire(db, row.id, reply_window=True)

    await sender.attempt(row.id)

    assert stored(db, row.id)["sent_via"] == "push"
    assert fake.calls_to(REPLY) == []
    assert fake.pushes == [(user_id("sender"), HELLO, row.retry_key)]
    assert [(a["via"], a["status"]) for a in attempt_log(db, row.id)] == [("reply", None), ("push", 200)]


async def test_invalid_token_after_a_reply_line_refused_goes_by_push(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    """LINE answered the first call (500: not taken), so a later 400 says nothing about our own calls."""
    fake.reply_statuses.append(500)
    fake.replies["refused-then-invalid"] = []  # spent elsewhere: the second reply gets "Invalid reply token"
    row = enqueue(db, reply_token="refused-then-invalid", reply_in=30)

    await sender.deliver([row])
    after = await wait_status(db, row.id, "sent", "failed")

    assert (after["status"], after["sent_via"]) == ("sent", "push")
    assert fake.pushes == [(user_id("sender"), HELLO, row.retry_key)]
    assert [(a["via"], a["status"]) for a in attempt_log(db, row.id)] == [
        ("reply", 500),
        ("reply", 400),
        ("push", 200),
    ]


async def test_a_recorded_reply_plan_overtaken_by_the_deadline_is_marked_never_made(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    """Born claimed with a reply planned, but the window closed before the call: the log says it was not made."""
    row = enqueue(db, reply_token="overtaken", reply_in=30)
    with db.session() as db_session:
        fresh = db_session.get(OutboxMessage, row.id)
        assert fresh is not None
        fresh.reply_deadline = utcnow() - timedelta(seconds=1)
        row = fresh

    await sender.deliver([row])

    log = attempt_log(db, row.id)
    assert [(a["via"], a.get("skipped", False), a["status"]) for a in log] == [
        ("reply", True, None),
        ("push", False, 200),
    ]
    assert fake.calls_to(REPLY) == []


# --- through the running app ------------------------------------------------------------------------------


def app_db(app: RunningApp) -> str:
    url: str = app.app.state.settings.database_url
    return url


def test_normal_event_is_answered_with_the_reply_api(running_app: RunningApp, fake_line: FakeLine) -> None:
    event = text_event(user_id("fresh"), "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [event]).status_code == 200
    assert fake_line.wait_reply(event["replyToken"]) is not None
    assert wait_outbox_settled(app_db(running_app))

    assert fake_line.calls_to(PUSH) == []
    assert [r["sent_via"] for r in outbox_rows(app_db(running_app), event["webhookEventId"])] == ["reply"]


def test_event_older_than_the_reply_window_is_answered_by_push(running_app: RunningApp, fake_line: FakeLine) -> None:
    uid = user_id("old-event")
    event = text_event(uid, "สวัสดีค่ะ", timestamp_ms=int((time.time() - 60) * 1000))
    assert post_webhook(running_app.url, [event]).status_code == 200
    assert fake_line.wait_for(lambda f: any(to == uid for to, _, _ in f.pushes))
    assert wait_outbox_settled(app_db(running_app))

    assert fake_line.calls_to(REPLY) == []
    [row] = outbox_rows(app_db(running_app), event["webhookEventId"])
    [push] = fake_line.calls_to(PUSH)
    assert header(push, "X-Line-Retry-Key") == row["retry_key"]
    assert row["sent_via"] == "push"


def test_invalid_reply_token_falls_back_to_push_with_the_same_messages(
    running_app: RunningApp, fake_line: FakeLine
) -> None:
    uid = user_id("spent-token")
    event = text_event(uid, "สวัสดีค่ะ")
    fake_line.replies[event["replyToken"]] = []  # the token was used already: LINE says "Invalid reply token"
    assert post_webhook(running_app.url, [event]).status_code == 200
    assert fake_line.wait_for(lambda f: any(to == uid for to, _, _ in f.pushes))
    assert wait_outbox_settled(app_db(running_app))

    [reply] = fake_line.calls_to(REPLY)
    [push] = fake_line.calls_to(PUSH)
    assert push.body["messages"] == reply.body["messages"]
    assert push.body["to"] == uid
    assert header(push, "X-Line-Retry-Key")
    [row] = outbox_rows(app_db(running_app), event["webhookEventId"])
    assert (row["status"], row["sent_via"], row["attempts"]) == ("sent", "push", 2)


def test_slow_turn_shows_the_loading_animation(running_app: RunningApp, fake_line: FakeLine) -> None:
    fake_line.profile_delay = 1.5  # a new user: the turn waits for LINE's profile API
    uid = user_id("slow")
    event = text_event(uid, "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [event]).status_code == 200
    assert fake_line.wait_reply(event["replyToken"], timeout=10) is not None

    loading = fake_line.calls_to(LOADING)
    assert [c.body["chatId"] for c in loading] == [uid]
    assert loading[0].at < fake_line.calls_to(REPLY)[0].at


def test_quick_turn_shows_no_loading_animation(running_app: RunningApp, fake_line: FakeLine) -> None:
    event = text_event(user_id("quick"), "สวัสดีค่ะ")
    assert post_webhook(running_app.url, [event]).status_code == 200
    assert fake_line.wait_reply(event["replyToken"]) is not None
    time.sleep(0.5)  # past the moment the animation would have been asked for
    assert fake_line.calls_to(LOADING) == []


def test_sender_delivers_rows_left_by_a_previous_process(
    sqlite_url: str, fake_line: FakeLine, quick_relay: None
) -> None:
    """Rows committed before a restart are delivered by the next process's relay, without any new event."""
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    try:
        row = enqueue(database, claim_for=None)
    finally:
        database.dispose()

    with RunningApp(make_settings(sqlite_url, fake_line)):
        assert fake_line.wait_for(lambda f: any(key == row.retry_key for _, _, key in f.pushes), timeout=6)
    assert query(sqlite_url, "SELECT status FROM outbox WHERE id = :id", id=row.id) == [{"status": "sent"}]


@pytest.mark.parametrize(
    ("status", "reason", "unknown"),
    [
        (None, None, True),  # the process died waiting for the answer
        (0, "TimeoutError: ", True),  # the request may have reached LINE
        (0, "ServerDisconnectedError: Server disconnected", True),
        (0, "ClientConnectorError: Cannot connect to host api.line.me:443", False),  # never left
        (500, "scripted 500", False),  # LINE answered: not taken
        (200, "", False),
    ],
)
def test_which_earlier_answers_count_as_unknown(status: int | None, reason: str | None, unknown: bool) -> None:
    entry = {"n": 1, "via": "reply", "key": "t", "at": "2026-12-02T00:00:00+00:00", "status": status, "reason": reason}
    assert answer_unknown(entry) is unknown
