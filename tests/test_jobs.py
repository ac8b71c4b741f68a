"""The SLA job runner (bot/jobs.py, storage/sla_jobs.py) and the clocks on tickets, on SQLite and PostgreSQL;
two runners at once on PostgreSQL fire every breach once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.jobs import JobRunner
from knowledge.loader import get_knowledge
from storage import migrate, sla
from storage import tickets as t
from storage.base import utcnow
from storage.db import Database
from storage.sla import THAI_TIME
from tests.conftest import RunningApp, helpdesk_env, make_settings
from tests.support.fake_line import FakeLine

CHIANG_MAI = "50"
OFFICER = t.Scope(officer_id=7, role="officer", provinces=frozenset({CHIANG_MAI}))
TICKET_TABLES = ("ticket_events", "ticket_attachments", "transfers", "referrals", "collaborators", "tickets")


def th(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=THAI_TIME)


MONDAY_9 = th(2026, 11, 23, 9, 0)  # an ordinary working Monday


@pytest.fixture(scope="module")
def policy() -> Iterator[sla.SlaPolicy]:
    knowledge = get_knowledge()
    built = sla.build_policy(knowledge.sla, knowledge.holidays)
    sla.install(built)
    yield built
    sla.install(None)


@pytest.fixture
def db(migrated: Database, policy: sla.SlaPolicy) -> Database:
    sla.install(policy)  # as a running app does (another test's app may have come and gone)
    with migrated.session() as db_session:
        for table in TICKET_TABLES:
            db_session.execute(text(f"DELETE FROM {table}"))
    return migrated


def open_one(db: Database, *, kind: str = "complaint", urgency: str = "normal", at: datetime = MONDAY_9) -> str:
    with db.session() as db_session:
        return t.open_ticket(
            db_session=db_session,
            kind=kind,
            urgency=urgency,
            summary="ร้องเรียนเจ้าหน้าที่ไม่รับเรื่อง",
            line_user_id="U" + uuid.uuid4().hex,
            province_code=CHIANG_MAI,
            now=at,
        ).id


def events(db: Database, ticket_id: str, type_: str | None = None) -> list[t.TicketEvent]:
    with db.session() as db_session:
        query = select(t.TicketEvent).where(t.TicketEvent.ticket_id == ticket_id).order_by(t.TicketEvent.id)
        found = list(db_session.scalars(query))
    return [e for e in found if type_ is None or e.type == type_]


def ticket(db: Database, ticket_id: str) -> t.Ticket:
    with db.session() as db_session:
        found = db_session.get(t.Ticket, ticket_id)
        assert found is not None
        return found


def status(db: Database, ticket_id: str, wanted: str, at: datetime) -> None:
    with db.session() as db_session:
        t.change_status(
            db_session=db_session, scope=OFFICER, ticket_id=ticket_id, status=wanted, actor="officer:a", now=at
        )


# --- due times on opening ------------------------------------------------------------------------------


def test_open_ticket_sets_due_and_reminder_times(db: Database, policy: sla.SlaPolicy) -> None:
    opened = ticket(db, open_one(db))
    assert opened.first_response_due_at == th(2026, 11, 24, 9, 0)  # one working day
    assert opened.resolution_due_at == th(2026, 12, 8, 9, 0)  # ten working days: 7 December is a holiday
    assert opened.first_response_remind_at == policy.remind_at("complaint", "normal", th(2026, 11, 24, 9, 0), "50")
    emergency = ticket(db, open_one(db, kind="emergency", urgency="urgent", at=th(2026, 11, 28, 23, 0)))
    assert emergency.first_response_due_at == th(2026, 11, 29, 0, 0)  # Saturday night: around the clock


# --- breaches and reminders -----------------------------------------------------------------------------


def test_a_breach_fires_once(db: Database) -> None:
    ticket_id = open_one(db, kind="emergency", urgency="urgent")
    runner = JobRunner(db=db)
    assert runner.run_once(MONDAY_9 + timedelta(minutes=59)).breaches == []
    report = runner.run_once(MONDAY_9 + timedelta(minutes=61))
    assert report.breaches == [(ticket_id, "first_response")]
    assert runner.run_once(MONDAY_9 + timedelta(minutes=90)).breaches == []
    [breach] = events(db, ticket_id, "sla_breached")
    assert breach.notify_staff and breach.visibility == "internal" and breach.data["clock"] == "first_response"
    # The resolution clock (a day, around the clock) breaches separately, also once.
    assert runner.run_once(MONDAY_9 + timedelta(days=2)).breaches == [(ticket_id, "resolution")]
    assert runner.run_once(MONDAY_9 + timedelta(days=3)).breaches == []
    assert len(events(db, ticket_id, "sla_breached")) == 2


def test_reminders_go_to_staff_before_the_due_time_once(db: Database) -> None:
    ticket_id = open_one(db, kind="emergency", urgency="urgent")  # due 10:00, reminded 15 minutes before
    runner = JobRunner(db=db)
    assert runner.run_once(MONDAY_9 + timedelta(minutes=44)).reminders == []
    assert runner.run_once(MONDAY_9 + timedelta(minutes=45)).reminders == [(ticket_id, "first_response")]
    assert runner.run_once(MONDAY_9 + timedelta(minutes=50)).reminders == []
    [reminder] = events(db, ticket_id, "sla_reminder")
    assert reminder.notify_staff and reminder.data["clock"] == "first_response"


def test_no_reminder_or_breach_once_answered_in_time(db: Database) -> None:
    ticket_id = open_one(db, kind="emergency", urgency="urgent")
    status(db, ticket_id, "acknowledged", MONDAY_9 + timedelta(minutes=20))
    [met] = events(db, ticket_id, "sla_met")
    assert met.data["clock"] == "first_response"
    report = JobRunner(db=db).run_once(MONDAY_9 + timedelta(minutes=70))
    assert report.reminders == [] and report.breaches == []


def test_a_late_answer_records_the_breach_the_runner_had_not_seen(db: Database) -> None:
    ticket_id = open_one(db, kind="emergency", urgency="urgent")
    status(db, ticket_id, "acknowledged", MONDAY_9 + timedelta(minutes=75))
    [late] = events(db, ticket_id, "sla_breached")
    assert late.data == {"clock": "first_response", "due_at": "2026-11-23T03:00:00+00:00", "late": True}
    assert JobRunner(db=db).run_once(MONDAY_9 + timedelta(minutes=80)).breaches == []


# --- pause and resume ------------------------------------------------------------------------------------


def test_waiting_for_the_citizen_pauses_and_their_reply_resumes_the_clock(db: Database) -> None:
    ticket_id = open_one(db)  # complaint, resolution due Tuesday 8 December 09:00
    status(db, ticket_id, "acknowledged", MONDAY_9 + timedelta(hours=1))
    paused_at = th(2026, 12, 4, 15, 30)  # Friday; Monday 7 December is a holiday
    status(db, ticket_id, "waiting_citizen", paused_at)
    assert [e.type for e in events(db, ticket_id)][-2:] == ["sla_paused", "status_changed"]
    # Paused past the due time: no breach.
    runner = JobRunner(db=db)
    assert runner.run_once(th(2026, 12, 9, 12, 0)).breaches == []
    with db.session() as db_session:
        current = db_session.get(t.Ticket, ticket_id)
        assert current is not None
        t.citizen_message(db_session=db_session, ticket=current, text="ส่งเอกสารให้แล้วค่ะ", now=th(2026, 12, 9, 12, 0))
    resumed = ticket(db, ticket_id)
    assert resumed.status is t.Status.in_progress and resumed.sla_paused_at is None
    # Paused working time: Friday 1 hour, Tuesday 8 hours, Wednesday 3½ hours = 12½ hours; the due time
    # Tuesday 8 December 09:00 moves by as much: 7½ hours on Tuesday, 5 on Wednesday → Wednesday 13:30 (the
    # 1½ hours that were left when the clock paused, counted from the reply).
    assert resumed.resolution_due_at == th(2026, 12, 9, 13, 30)
    [event] = events(db, ticket_id, "sla_resumed")
    assert event.data["paused_minutes"] == 750
    assert runner.run_once(th(2026, 12, 9, 13, 30)).breaches == []
    assert runner.run_once(th(2026, 12, 9, 13, 31)).breaches == [(ticket_id, "resolution")]


def test_resolved_in_time_is_met(db: Database) -> None:
    ticket_id = open_one(db)
    status(db, ticket_id, "in_progress", MONDAY_9 + timedelta(hours=1))
    status(db, ticket_id, "resolved", MONDAY_9 + timedelta(days=2))
    assert [e.data["clock"] for e in events(db, ticket_id, "sla_met")] == ["first_response", "resolution"]
    resolved = ticket(db, ticket_id)
    assert resolved.first_response_remind_at is None and resolved.resolution_remind_at is None


def test_a_reopened_ticket_gets_a_fresh_resolution_clock(db: Database, policy: sla.SlaPolicy) -> None:
    ticket_id = open_one(db)
    status(db, ticket_id, "in_progress", MONDAY_9 + timedelta(hours=1))
    status(db, ticket_id, "resolved", MONDAY_9 + timedelta(days=2))
    reopened_at = th(2026, 12, 14, 10, 0)  # after the first resolution due time (8 December)
    status(db, ticket_id, "in_progress", reopened_at)
    row = ticket(db, ticket_id)
    assert row.resolution_due_at == policy.opened("complaint", "normal", reopened_at, CHIANG_MAI).resolution_due_at
    assert row.resolution_remind_at is not None and row.resolved_at is None
    [event] = events(db, ticket_id, "sla_resumed")
    assert event.data["reopened"] is True
    assert JobRunner(db=db).run_once(reopened_at + timedelta(hours=1)).breaches == []


# --- auto-close and transfers ----------------------------------------------------------------------------


def test_resolved_tickets_close_after_the_window_unless_reopened(db: Database) -> None:
    quiet, reopened = open_one(db), open_one(db)
    for ticket_id in (quiet, reopened):
        status(db, ticket_id, "in_progress", MONDAY_9 + timedelta(hours=1))
        status(db, ticket_id, "resolved", MONDAY_9 + timedelta(days=1))
    status(db, reopened, "in_progress", MONDAY_9 + timedelta(days=3))  # "ยังไม่ได้รับการแก้ไข"
    runner = JobRunner(db=db)
    assert runner.run_once(MONDAY_9 + timedelta(days=7, hours=23)).closed == []
    assert runner.run_once(MONDAY_9 + timedelta(days=8, minutes=1)).closed == [quiet]
    assert runner.run_once(MONDAY_9 + timedelta(days=9)).closed == []
    assert ticket(db, quiet).status is t.Status.closed and ticket(db, reopened).status is t.Status.in_progress
    [closing] = [e for e in events(db, quiet, "status_changed") if e.data.get("to") == "closed"]
    assert closing.actor == "system" and closing.notify_citizen and closing.data["auto_closed_after_days"] == 7


def test_a_transfer_not_accepted_in_working_time_expires_to_an_administrator(db: Database) -> None:
    ticket_id = open_one(db)
    friday = th(2026, 11, 27, 15, 0)
    with db.session() as db_session:
        transfer = t.request_transfer(
            db_session=db_session,
            scope=OFFICER,
            ticket_id=ticket_id,
            to_province="ลำพูน",
            reason="ผู้ร้องย้ายบ้าน",
            actor="officer:a",
            now=friday,
        )
        transfer_id = transfer.id
        # One working day for a normal complaint: 1½ hours on Friday, 6½ on Monday.
        assert transfer.expires_at == th(2026, 11, 30, 15, 0)
    runner = JobRunner(db=db)
    assert runner.run_once(th(2026, 11, 30, 14, 59)).expired_transfers == []
    assert runner.run_once(th(2026, 11, 30, 15, 1)).expired_transfers == [transfer_id]
    [expired] = events(db, ticket_id, "transfer_expired")
    assert expired.notify_staff and expired.data["escalated_to"] == "admin"


# --- several runners ------------------------------------------------------------------------------------


def test_two_runners_at_once_fire_each_breach_once(postgres_url: str, policy: sla.SlaPolicy) -> None:
    # Two runners as two processes would be: each its own engine and connections, on one PostgreSQL database.
    migrate.upgrade(postgres_url)
    db = Database(postgres_url)
    ids = [open_one(db, kind="emergency", urgency="urgent") for _ in range(40)]
    runners = [JobRunner(db=Database(postgres_url), batch=7) for _ in range(2)]
    start = threading.Barrier(2)
    reports: list[list[tuple[str, str]]] = [[], []]

    def run(index: int) -> None:
        start.wait()
        for _ in range(15):
            reports[index] += runners[index].run_once(MONDAY_9 + timedelta(days=2)).breaches

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for runner in runners:
        runner.db.dispose()
    fired = reports[0] + reports[1]
    assert Counter(fired) == Counter({(i, clock): 1 for i in ids for clock in ("first_response", "resolution")})
    with db.session() as db_session:
        counts = Counter(
            db_session.scalars(select(t.TicketEvent.ticket_id).where(t.TicketEvent.type == "sla_breached"))
        )
    assert counts == Counter({i: 2 for i in ids})
    assert reports[0] and reports[1], "both runners took a share (SKIP LOCKED passes over the other's rows)"
    db.dispose()


def test_serve_and_worker_processes_fire_each_breach_once(
    postgres_url: str, redis_url: str, fake_line: FakeLine, helpdesk: Any
) -> None:
    """The real wiring: `helpdesk serve` and `helpdesk worker` each run a job runner (every 0.2 s here) on one
    PostgreSQL database; tickets that come due while both run are breached once each."""
    env = {**helpdesk_env(postgres_url, fake_line, redis_url), "SLA_JOB_INTERVAL_SECONDS": "0.2"}
    helpdesk(["serve"], env)
    worker = helpdesk(["worker"], env)
    deadline = time.time() + 60
    while "worker running" not in worker.log_path.read_text() and time.time() < deadline:
        time.sleep(0.1)  # its job runner starts with its queue workers, after the language model is built
    db = Database(postgres_url)
    past = utcnow() - timedelta(hours=3)
    ids: list[str] = []
    for _ in range(5):
        with db.session() as db_session:
            for _ in range(6):
                ids.append(
                    t.open_ticket(
                        db_session=db_session,
                        kind="emergency",
                        urgency="urgent",
                        summary="มีคนทำร้ายร่างกาย",
                        line_user_id="U" + uuid.uuid4().hex,
                        province_code=CHIANG_MAI,
                        first_response_due_at=past,
                        resolution_due_at=past + timedelta(hours=1),
                        now=past - timedelta(hours=1),
                    ).id
                )
        time.sleep(0.1)

    def breaches() -> Counter[tuple[str, str]]:
        with db.session() as db_session:
            rows = db_session.execute(
                select(t.TicketEvent.ticket_id, t.TicketEvent.data).where(t.TicketEvent.type == "sla_breached")
            )
            return Counter((ticket_id, str(data["clock"])) for ticket_id, data in rows)

    deadline = time.time() + 30
    while len(breaches()) < 2 * len(ids) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # a few more passes of both runners: nothing fires twice
    assert breaches() == Counter({(i, clock): 1 for i in ids for clock in ("first_response", "resolution")})
    db.dispose()


def test_the_embedded_app_installs_the_policy_and_runs_the_jobs(sqlite_url: str, fake_line: FakeLine) -> None:
    """`helpdesk serve` embedded (SQLite): while it runs, tickets get due times and overdue ones are breached."""
    sla.install(None)
    with RunningApp(make_settings(sqlite_url, fake_line, sla_job_interval_seconds=0.1)):
        db = Database(sqlite_url)
        assert sla.installed() is not None
        opened_at = utcnow() - timedelta(hours=2)
        ticket_id = open_one(db, kind="emergency", urgency="urgent", at=opened_at)
        assert ticket(db, ticket_id).first_response_due_at == opened_at + timedelta(hours=1)
        deadline = time.time() + 10
        while not events(db, ticket_id, "sla_breached") and time.time() < deadline:
            time.sleep(0.1)
        [breach] = events(db, ticket_id, "sla_breached")
        assert breach.data["clock"] == "first_response"
        db.dispose()
    assert sla.installed() is None, "a stopped app leaves no policy behind"
