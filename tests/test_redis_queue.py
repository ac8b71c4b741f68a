"""Redis mode with real processes: dedup across web processes, per-user order across workers, dedup TTL, /readyz.

Every test starts real `helpdesk serve|worker` processes (or the real app in this process) against the real
PostgreSQL and Redis, and watches what the fake LINE receives and what the database holds.
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bot.queue.base import partition_of
from tests.conftest import (
    HelpdeskProcess,
    RunningApp,
    helpdesk_env,
    make_settings,
    post_webhook,
    text_event,
    user_id,
)
from tests.support.db_checks import query as db_query
from tests.support.fake_line import FakeLine
from tests.support.processes import eventually, processed_lines, pushes_to, reply_calls

PARTITIONS = 8  # QUEUE_PARTITIONS in helpdesk_env and make_settings
PROFILE_PATH = "/v2/bot/profile/"


# --- helpers -------------------------------------------------------------------------------------


def query(database_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def scalar(database_url: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return query(database_url, sql, params)[0][0]


def events_counted(processes: list[HelpdeskProcess], result: str) -> float:
    """helpdesk_events_total{result=...} summed over the processes' /metrics."""
    total = 0.0
    for process in processes:
        page = httpx.get(f"{process.url}/metrics", timeout=5).text
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                if sample.name == "helpdesk_events_total" and sample.labels.get("result") == result:
                    total += sample.value
    return total


def redelivery_of(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as LINE redelivers it: same webhookEventId, flagged, with a new reply token."""
    again = copy.deepcopy(event)
    again["deliveryContext"] = {"isRedelivery": True}
    again["replyToken"] = uuid.uuid4().hex
    return again


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def leases_by_pid(url: str, partitions: int = PARTITIONS) -> dict[int, int]:
    """How many partition leases each worker process holds (consumer names are host-pid-random)."""
    client = redis_client(url)
    try:
        held: dict[int, int] = defaultdict(int)
        for owner in client.mget([f"helpdesk:lease:{p}" for p in range(partitions)]):
            if owner:
                held[int(owner.rsplit("-", 2)[1])] += 1
        return dict(held)
    finally:
        client.close()


def inbound_count(database_url: str, event_id: str) -> int:
    return int(
        scalar(
            database_url,
            "SELECT count(*) FROM conversation_messages WHERE direction = 'inbound' AND webhook_event_id = %s",
            (event_id,),
        )
    )


def processed_count(database_url: str, event_id: str) -> int:
    return int(scalar(database_url, "SELECT count(*) FROM processed_events WHERE webhook_event_id = %s", (event_id,)))


def answered_after(fake: FakeLine, base_url: str, uid: str) -> None:
    """Send one more message from `uid` and wait for its answer.

    A user's events are worked one after another in one partition, so once this one is answered, anything
    queued earlier for the same user has been worked too: a deterministic way to wait for "nothing more".
    """
    sentinel = text_event(uid, "ขอบคุณค่ะ")
    assert post_webhook(base_url, [sentinel]).status_code == 200
    assert fake.wait_reply(sentinel["replyToken"], timeout=20) is not None, "the sentinel message was not answered"


def users_in_distinct_partitions(prefix: str, count: int = PARTITIONS, partitions: int = PARTITIONS) -> list[str]:
    """Users whose events land in `count` different partitions (all of them by default)."""
    chosen: dict[int, str] = {}
    n = 0
    while len(chosen) < count:
        uid = user_id(f"{prefix}-{n}")
        chosen.setdefault(partition_of(uid, partitions), uid)
        n += 1
    return list(chosen.values())


@contextlib.contextmanager
def every_turn_slow(fake: FakeLine, seconds: float) -> Iterator[None]:
    """Make every turn take about `seconds`: a worker awaits LINE's answer to the reply before it takes
    the user's next event, so a slow fake LINE makes work pile up in the partitions, which is when
    handing one over to another worker is delicate."""
    fake.reply_delay = seconds
    try:
        yield
    finally:
        fake.reply_delay = 0


def processing_order(database_url: str) -> dict[str, list[int]]:
    """Per user, the numbers of their messages in the order they were processed (inbound rows by id)."""
    rows = query(
        database_url, "SELECT line_user_id, text FROM conversation_messages WHERE direction = 'inbound' ORDER BY id"
    )
    order: dict[str, list[int]] = defaultdict(list)
    for line_user_id, text in rows:
        order[line_user_id].append(int(re.findall(r"\d+", text)[-1]))
    return dict(order)


def processed_events(database_url: str) -> int:
    return int(scalar(database_url, "SELECT count(*) FROM processed_events"))


# --- deduplication across web processes ---------------------------------------------------------


def test_a_redelivery_to_another_serve_process_is_answered_only_once(
    postgres_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(postgres_url, fake_line, redis_url)
    first_process = helpdesk(["serve"], env)
    second_process = helpdesk(["serve"], env)
    uid = user_id("redelivery")
    first = text_event(uid, "สวัสดีค่ะ")
    again = redelivery_of(first)

    assert post_webhook(first_process.url, [first]).status_code == 200
    assert post_webhook(second_process.url, [again]).status_code == 200

    assert fake_line.wait_reply(first["replyToken"], timeout=15) is not None, "the first delivery was not answered"
    answered_after(fake_line, second_process.url, uid)
    assert reply_calls(fake_line, first["replyToken"]) == 1
    assert reply_calls(fake_line, again["replyToken"]) == 0, "the redelivery was answered as well"
    assert pushes_to(fake_line, uid) == 0
    assert processed_count(postgres_url, first["webhookEventId"]) == 1
    assert inbound_count(postgres_url, first["webhookEventId"]) == 1
    # Dropped at the webhook by the shared Redis dedup key, not merely caught later by the processed-event ledger.
    assert events_counted([first_process, second_process], "redelivery_dropped") == 1
    assert events_counted([first_process, second_process], "duplicate") == 0


def test_concurrent_copies_of_events_at_two_serve_processes_are_each_answered_once(
    postgres_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(postgres_url, fake_line, redis_url)
    processes = [helpdesk(["serve"], env), helpdesk(["serve"], env)]
    users = [user_id(f"concurrent-{n}") for n in range(6)]
    originals = [text_event(users[n % len(users)], f"สวัสดีค่ะ ขอถามเรื่องที่ {n}") for n in range(24)]
    copies = [redelivery_of(event) for event in originals]
    # Each event goes to both processes at the same moment, the original to one and the copy to the other.
    deliveries = [
        (processes[n % 2].url, originals[n]) if phase == 0 else (processes[(n + 1) % 2].url, copies[n])
        for n in range(len(originals))
        for phase in (0, 1)
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda d: post_webhook(d[0], [d[1]]).status_code, deliveries))
    assert statuses == [200] * len(deliveries)

    def answered() -> bool:
        with fake_line.lock:
            tokens = set(fake_line.replies)
        return all(
            o["replyToken"] in tokens or c["replyToken"] in tokens for o, c in zip(originals, copies, strict=True)
        )

    eventually(answered, 20, "every event to be answered")
    for n, uid in enumerate(users):
        answered_after(fake_line, processes[n % 2].url, uid)
    for original, copied in zip(originals, copies, strict=True):
        calls = reply_calls(fake_line, original["replyToken"]) + reply_calls(fake_line, copied["replyToken"])
        assert calls == 1, f"event {original['webhookEventId']} was answered {calls} times"
        assert processed_count(postgres_url, original["webhookEventId"]) == 1
        assert inbound_count(postgres_url, original["webhookEventId"]) == 1
    assert sum(pushes_to(fake_line, uid) for uid in users) == 0
    assert events_counted(processes, "redelivery_dropped") == len(copies)
    assert events_counted(processes, "duplicate") == 0


# --- per-user order across workers ---------------------------------------------------------------


def test_each_users_messages_are_processed_in_order_across_two_workers(
    postgres_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(postgres_url, fake_line, redis_url)
    ingest = helpdesk(["serve", "--no-worker"], env)
    worker_a = helpdesk(["worker"], env)
    worker_b = helpdesk(["worker"], env)

    def shared() -> bool:
        held = leases_by_pid(redis_url)
        return bool(held.get(worker_a.proc.pid) and held.get(worker_b.proc.pid) and sum(held.values()) == PARTITIONS)

    eventually(shared, 30, "the two workers to share the partitions")
    users = users_in_distinct_partitions("order")  # one per partition: both workers get some of them
    per_user = 15
    sent: dict[str, list[dict[str, Any]]] = {uid: [] for uid in users}

    def converse(uid: str) -> None:
        for n in range(1, per_user + 1):
            message = text_event(uid, f"สวัสดีค่ะ ข้อความที่ {n}")
            assert post_webhook(ingest.url, [message]).status_code == 200
            sent[uid].append(message)

    with every_turn_slow(fake_line, 0.3):
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            list(pool.map(converse, users))
        all_events = [message for messages in sent.values() for message in messages]
        assert len(all_events) == len(users) * per_user
        # Worker B shuts down mid-backlog: worker A takes its partitions over, with what B had read but not done.
        eventually(lambda: processed_lines(worker_b) >= PARTITIONS, 20, "worker B to get going")
        worker_b.proc.terminate()
        eventually(lambda: processed_events(postgres_url) >= len(all_events), 40, "every message to be processed")

    order = processing_order(postgres_url)
    for uid in users:
        assert order[uid] == list(range(1, per_user + 1)), f"{uid} was processed out of order: {order[uid]}"
    eventually(lambda: all(m["replyToken"] in fake_line.replies for m in all_events), 15, "every reply")
    assert all(reply_calls(fake_line, m["replyToken"]) == 1 for m in all_events)
    assert processed_lines(ingest) == 0, "the --no-worker process processed events"
    eventually(lambda: processed_lines(worker_a) + processed_lines(worker_b) >= len(all_events), 5, "the workers' logs")
    done_by_a, done_by_b = processed_lines(worker_a), processed_lines(worker_b)
    assert done_by_b < len(all_events) // 2, f"worker B did {done_by_b}: it left before its partitions were done"
    # More would mean two workers worked one partition at once (the ledger then hides the second turn).
    assert done_by_a + done_by_b == len(all_events), f"worker A processed {done_by_a}, worker B {done_by_b}"
    assert worker_b.proc.wait(15) == 0


def test_order_holds_while_a_worker_joins_with_the_default_32_partitions(
    postgres_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    """A second worker joins while users are talking. With many partitions, handing half of them over must not
    let the first worker's other leases lapse while it still works them (two consumers on one partition)."""
    partitions = 32  # Settings.queue_partitions' default
    env = {**helpdesk_env(postgres_url, fake_line, redis_url), "QUEUE_PARTITIONS": str(partitions)}
    ingest = helpdesk(["serve", "--no-worker"], env)
    worker_a = helpdesk(["worker"], env)
    eventually(
        lambda: leases_by_pid(redis_url, partitions).get(worker_a.proc.pid) == partitions, 30, "worker A to hold all"
    )
    users = users_in_distinct_partitions("join", 8, partitions)
    sent: dict[str, list[dict[str, Any]]] = {uid: [] for uid in users}
    talk = threading.Event()
    stop_talking = threading.Event()

    def converse(uid: str) -> None:
        talk.wait(60)
        while not stop_talking.is_set():
            message = text_event(uid, f"สวัสดีค่ะ ข้อความที่ {len(sent[uid]) + 1}")
            assert post_webhook(ingest.url, [message]).status_code == 200
            sent[uid].append(message)
            time.sleep(0.15)  # a little faster than the turns: each partition keeps a backlog

    def has_heartbeat(pid: int) -> bool:
        client = redis_client(redis_url)
        try:
            return any(client.scan_iter(match=f"helpdesk:worker:*-{pid}-*"))
        finally:
            client.close()

    with every_turn_slow(fake_line, 0.2), ThreadPoolExecutor(max_workers=len(users)) as pool:
        talking = [pool.submit(converse, uid) for uid in users]
        try:
            worker_b = helpdesk(["worker"], env)
            eventually(lambda: has_heartbeat(worker_b.proc.pid), 40, "worker B to start", interval=0.1)
            talk.set()  # from the moment worker A starts giving partitions back
            eventually(
                lambda: leases_by_pid(redis_url, partitions).get(worker_b.proc.pid, 0) >= partitions // 2,
                30,
                "worker B to take its share",
                interval=0.2,
            )
            time.sleep(4)  # keep talking through the hand-over
        finally:
            talk.set()
            stop_talking.set()
        for future in talking:
            future.result()
        all_events = [message for messages in sent.values() for message in messages]
        eventually(lambda: processed_events(postgres_url) >= len(all_events), 25, "every message to be processed")

    order = processing_order(postgres_url)
    for uid in users:
        assert order[uid] == sorted(order[uid]), f"{uid} was processed out of order: {order[uid]}"
    eventually(lambda: processed_lines(worker_a) + processed_lines(worker_b) >= len(all_events), 5, "the workers' logs")
    done = processed_lines(worker_a) + processed_lines(worker_b)
    assert done == len(all_events), f"{done} turns for {len(all_events)} events: partitions were worked twice"


# --- dedup memory and readiness ------------------------------------------------------------------


def test_an_accepted_event_id_is_remembered_in_redis_for_at_least_a_day(
    sqlite_url: str, redis_url: str, fake_line: FakeLine
) -> None:
    event = text_event(user_id("ttl"), "สวัสดีค่ะ")
    client = redis_client(redis_url)
    try:
        # Accepting only (no workers): whatever is accepted stays visible in the streams.
        with RunningApp(make_settings(sqlite_url, fake_line, redis_url), run_workers=False) as app:
            assert post_webhook(app.url, [event]).status_code == 200
            ttl = client.ttl(f"helpdesk:seen:{event['webhookEventId']}")
            assert post_webhook(app.url, [redelivery_of(event)]).status_code == 200
        queued = sum(client.xlen(f"helpdesk:events:{p}") for p in range(PARTITIONS))
    finally:
        client.close()
    assert ttl >= 86_400, f"the dedup key lives {ttl}s"
    assert queued == 1, f"{queued} entries queued for one event delivered twice"


def test_readyz_reports_database_and_redis_ready_in_redis_mode(
    postgres_url: str, redis_url: str, fake_line: FakeLine
) -> None:
    with RunningApp(make_settings(postgres_url, fake_line, redis_url), run_workers=False) as app:
        response = httpx.get(f"{app.url}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "redis": True}


@pytest.mark.parametrize("workers", [[], ["--no-worker"]], ids=["with-workers", "no-worker"])
def test_readyz_is_503_and_webhook_refuses_events_when_redis_is_unreachable(
    postgres_url: str, fake_line: FakeLine, helpdesk: Any, workers: list[str]
) -> None:
    # The process starts all the same (its workers keep retrying) and says it is not ready.
    web = helpdesk(["serve", *workers], helpdesk_env(postgres_url, fake_line, "redis://127.0.0.1:1/0"))
    response = httpx.get(f"{web.url}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "redis": False}
    # LINE redelivers on a non-2xx answer, so refusing is better than a 200 that loses the event.
    assert post_webhook(web.url, [text_event(user_id("no-redis"), "สวัสดีค่ะ")]).status_code == 503


def test_the_screener_survives_a_web_process_restart_its_state_committed_with_the_turn(
    sqlite_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    env = helpdesk_env(sqlite_url, fake_line, redis_url)
    uid = user_id("screener-restart")

    def say(process: Any, text: str) -> str:
        event = text_event(uid, text)
        assert post_webhook(process.url, [event]).status_code == 200
        reply = fake_line.wait_reply(event["replyToken"], timeout=20)
        assert reply is not None
        return str(reply[0].get("text", ""))

    first = helpdesk(["serve"], env)
    assert "ข้อมูลอ่อนไหว" in say(first, "เช็คสิทธิให้แม่ อายุ 78")
    assert "บัตรประจำตัวคนพิการ" in say(first, "ยินยอม")
    rows = db_query(sqlite_url, "SELECT state FROM dialogue_states WHERE line_user_id = :uid", uid=uid)
    assert len(rows) == 1 and "eligibility" in str(rows[0]["state"]), "the state is committed with the turn"
    first.kill()
    second = helpdesk(["serve"], env)
    say(second, "ไม่มีค่ะ")
    say(second, "ไม่ค่ะ")
    result = say(second, "ไม่มีรายได้เลย")
    assert "เบี้ยยังชีพผู้สูงอายุ" in result and "700" in result
