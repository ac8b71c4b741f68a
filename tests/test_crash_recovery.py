"""Crashes at the worst moments: a worker killed mid-event, a process killed before its reply went out.

The design promises at-least-once processing with effects exactly once (the processed-event ledger) and
that nothing is lost if a process dies between steps (the queue and the outbox are replayed).
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from typing import Any

import redis
from sqlalchemy import create_engine, text

from bot.queue.base import partition_of
from bot.runtime import Runtime
from storage.db import normalise_url
from tests.conftest import helpdesk_env, make_settings, post_webhook, text_event, user_id
from tests.support.fake_line import FakeLine, Fault
from tests.support.processes import eventually, processed_lines, pushes_to, reply_calls

PARTITIONS = 8  # QUEUE_PARTITIONS in helpdesk_env and make_settings
PROFILE_PATH = "/v2/bot/profile/"
SLOW_PROFILE_SECONDS = 5.0


def count(database_url: str, sql: str, **params: Any) -> int:
    """A count from either backend, through a short-lived engine of our own."""
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def effects(database_url: str, event_id: str) -> dict[str, int]:
    """What one event left behind: ledger rows, inbound messages and outbox rows."""
    return {
        "processed": count(
            database_url, "SELECT count(*) FROM processed_events WHERE webhook_event_id = :e", e=event_id
        ),
        "inbound": count(
            database_url,
            "SELECT count(*) FROM conversation_messages WHERE direction = 'inbound' AND webhook_event_id = :e",
            e=event_id,
        ),
        "outbox": count(database_url, "SELECT count(*) FROM outbox WHERE source_event_id = :e", e=event_id),
    }


def sqlite_rows(sqlite_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def partition_owner(redis_url: str, partition: int) -> str | None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return client.get(f"helpdesk:lease:{partition}")
    finally:
        client.close()


# --- Redis mode: a worker dies holding an event ---------------------------------------------------


def test_an_event_held_by_a_killed_worker_is_finished_once_by_the_next_worker(
    postgres_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(postgres_url, fake_line, redis_url)
    ingest = helpdesk(["serve", "--no-worker"], env)
    worker_a = helpdesk(["worker"], env)
    uid = user_id("killed-worker")
    partition = partition_of(uid, PARTITIONS)
    eventually(lambda: partition_owner(redis_url, partition), 20, "worker A to take the user's partition")
    fake_line.profile_delay = SLOW_PROFILE_SECONDS  # a first-seen user's profile is fetched before the commit
    event = text_event(uid, "สวัสดีค่ะ อยากสอบถามเรื่องเบี้ยผู้สูงอายุ")

    assert post_webhook(ingest.url, [event]).status_code == 200
    eventually(lambda: fake_line.calls_to(PROFILE_PATH + uid), 15, "worker A to start on the event")
    worker_a.kill()
    fake_line.profile_delay = 0
    worker_b = helpdesk(["worker"], env)

    # Worker A's partition lease runs out (10 s) and worker B takes the event A was holding.
    assert fake_line.wait_reply(event["replyToken"], timeout=30) is not None, "the event was never finished"
    assert effects(postgres_url, event["webhookEventId"]) == {"processed": 1, "inbound": 1, "outbox": 1}
    assert reply_calls(fake_line, event["replyToken"]) == 1
    assert pushes_to(fake_line, uid) == 0
    assert processed_lines(worker_a) == 0 and processed_lines(worker_b) == 1
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        stream = f"helpdesk:events:{partition}"
        eventually(lambda: client.xpending(stream, "workers")["pending"] == 0, 5, "the entry to be acknowledged")
        assert client.xlen(stream) == 0
    finally:
        client.close()


# --- the processor itself: a redelivered or concurrently duplicated event -------------------------


async def test_processing_the_same_event_twice_has_its_effects_once(database_url: str, fake_line: FakeLine) -> None:
    runtime = Runtime(make_settings(database_url, fake_line))
    await runtime.start(workers=False)
    assert runtime.processor is not None
    try:
        # The queue hands the event over again after it committed (a worker died before acknowledging).
        again = text_event(user_id("twice"), "สวัสดีค่ะ")
        await runtime.processor.process(again)
        await runtime.processor.process(copy.deepcopy(again))
        # Two holders work the same event at the same moment (a lease taken over from a stalled worker).
        racing = text_event(user_id("racing"), "สวัสดีค่ะ")
        await asyncio.gather(runtime.processor.process(racing), runtime.processor.process(copy.deepcopy(racing)))
    finally:
        await runtime.stop()

    for event in (again, racing):
        assert effects(database_url, event["webhookEventId"]) == {"processed": 1, "inbound": 1, "outbox": 1}
        assert reply_calls(fake_line, event["replyToken"]) == 1
        assert pushes_to(fake_line, event["source"]["userId"]) == 0


# --- embedded mode: the inbox and the outbox survive a SIGKILL ------------------------------------


def test_an_event_interrupted_by_a_crash_is_replayed_from_the_inbox_after_restart(
    sqlite_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(sqlite_url, fake_line, None)
    first = helpdesk(["serve"], env)
    uid = user_id("embedded-crash")
    fake_line.profile_delay = SLOW_PROFILE_SECONDS
    event = text_event(uid, "สวัสดีค่ะ")

    assert post_webhook(first.url, [event]).status_code == 200
    eventually(lambda: fake_line.calls_to(PROFILE_PATH + uid), 15, "the worker to start on the event")
    first.kill()
    assert effects(sqlite_url, event["webhookEventId"])["processed"] == 0
    fake_line.profile_delay = 0
    helpdesk(["serve"], env)  # the restart

    assert fake_line.wait_reply(event["replyToken"], timeout=20) is not None, "the event was not replayed"
    assert effects(sqlite_url, event["webhookEventId"]) == {"processed": 1, "inbound": 1, "outbox": 1}
    assert reply_calls(fake_line, event["replyToken"]) == 1
    assert pushes_to(fake_line, uid) == 0
    eventually(
        lambda: (
            sqlite_rows(
                sqlite_url, "SELECT done FROM inbox_events WHERE webhook_event_id = ?", (event["webhookEventId"],)
            )
            == [(1,)]
        ),
        5,
        "the inbox row to be marked done",
    )


def test_a_committed_reply_that_was_not_delivered_is_sent_once_after_restart(
    sqlite_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(sqlite_url, fake_line, None)
    first = helpdesk(["serve"], env)
    uid = user_id("outbox-crash")
    event = text_event(uid, "สวัสดีค่ะ")
    with fake_line.lock:
        fake_line.reply_statuses.extend([500] * 20)  # LINE is failing: the turn commits, the reply waits

    assert post_webhook(first.url, [event]).status_code == 200
    outbox_row = "SELECT status, last_error FROM outbox WHERE source_event_id = ?"
    eventually(
        lambda: any(
            status == "pending" and error
            for status, error in sqlite_rows(sqlite_url, outbox_row, (event["webhookEventId"],))
        ),
        15,
        "the first reply attempt to fail and be scheduled again",
        interval=0.005,
    )
    first.kill()
    # Killed between attempts, or (rarely) during one: then its send lease (60 s) has to run out first.
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE outbox SET lease_until = '2000-01-01 00:00:00.000000' WHERE status = 'sending'")
    conn.close()
    with fake_line.lock:
        fake_line.reply_statuses.clear()
    helpdesk(["serve"], env)  # the restart

    assert fake_line.wait_reply(event["replyToken"], timeout=20) is not None, "the outbox was not replayed"
    assert effects(sqlite_url, event["webhookEventId"]) == {"processed": 1, "inbound": 1, "outbox": 1}
    sent = "SELECT status, sent_via FROM outbox WHERE source_event_id = ?"
    # LINE has the reply; the sender marks the row a moment after LINE's answer reaches it.
    eventually(
        lambda: sqlite_rows(sqlite_url, sent, (event["webhookEventId"],)) == [("sent", "reply")],
        10,
        "the replayed row to be marked sent via reply",
    )
    assert pushes_to(fake_line, uid) == 0, "the message went out a second time by push"


def test_a_reply_line_accepted_from_a_process_killed_before_it_heard_back_reaches_the_citizen_once(
    sqlite_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    """Killed after LINE took the reply but before the row was marked sent: the spent token must not
    make the next process push the same message again."""
    env = helpdesk_env(sqlite_url, fake_line, None)
    first = helpdesk(["serve"], env)
    uid = user_id("killed-after-accept")
    event = text_event(uid, "สวัสดีค่ะ")
    token = event["replyToken"]
    # LINE delivers the reply; its answer does not come back.
    fake_line.answers("reply").append(Fault(200, delay=30.0, after_accept=True))

    assert post_webhook(first.url, [event]).status_code == 200
    delivered = fake_line.wait_reply(token, timeout=15)
    assert delivered, "the reply never reached LINE"
    first.kill()
    outbox_row = "SELECT status, attempt_log, sent_via, last_error FROM outbox WHERE source_event_id = ?"
    [(status, log, _, _)] = sqlite_rows(sqlite_url, outbox_row, (event["webhookEventId"],))
    assert status == "sending"
    assert [(a["via"], a["key"], a["status"]) for a in json.loads(log)] == [("reply", token, None)]
    # The dead process's claim on the row (20 s) runs out: shortened, the reply token's age stays ~1 s.
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE outbox SET lease_until = '2000-01-01 00:00:00.000000' WHERE status = 'sending'")
    conn.close()
    second = helpdesk(["serve"], env)  # the restart: its relay takes the row over

    settled = eventually(
        lambda: [
            row for row in sqlite_rows(sqlite_url, outbox_row, (event["webhookEventId"],)) if row[0] != "sending"
        ],
        20,
        "the restarted process to settle the row",
    )
    assert [(s, via) for s, _, via, _ in settled] == [("sent", "reply")]
    assert "delivered by attempt 1" in settled[0][3]
    assert reply_calls(fake_line, token) == 2  # the second call learnt that the first one had spent the token
    assert pushes_to(fake_line, uid) == 0, "the citizen got the message a second time by push"
    assert fake_line.replies[token] == delivered  # what the citizen has: the one reply, once
    assert processed_lines(first) == 1 and processed_lines(second) == 0


# --- Redis restarts without its data ----------------------------------------------------------------


def test_messages_are_still_answered_after_redis_restarts_without_its_data(
    sqlite_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    serve = helpdesk(["serve"], helpdesk_env(sqlite_url, fake_line, redis_url))
    before = text_event(user_id("before-flush"), "สวัสดีค่ะ")
    assert post_webhook(serve.url, [before]).status_code == 200
    assert fake_line.wait_reply(before["replyToken"], timeout=15) is not None

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()  # what a Redis restart without persistence leaves behind
    finally:
        client.close()
    after = text_event(user_id("after-flush"), "สวัสดีค่ะ")
    assert post_webhook(serve.url, [after]).status_code == 200
    assert fake_line.wait_reply(after["replyToken"], timeout=10) is not None, "nothing is answered any more"
