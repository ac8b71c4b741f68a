"""Storage on both backends (SQLite and PostgreSQL): migrations, users, consent, inbox, ledger, outbox, time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from storage import attachments, conversations, dialogue, events, migrate, outbox, privacy, users
from storage.base import utcnow
from storage.conversations import Direction
from storage.db import Database
from storage.dialogue import DialogueStateRow
from storage.events import InboxEvent, ProcessedEvent
from storage.models import Base
from storage.users import ConsentPurpose, ConsentRecord, ConsentState, LineUser
from tests.conftest import emptied
from tests.support.db_checks import query


@pytest.fixture
def db(migrated: Database) -> Database:
    """The module's database (conftest), emptied for this test."""
    return emptied(migrated)


# --- migrations -------------------------------------------------------------------------------------


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_bring_an_empty_database_to_head(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert inspect(database.engine).get_table_names() == []
        migrate.upgrade(database_url)

        head = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_current_head()
        assert current_revision(database) == head
        assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())
        with database.engine.connect() as conn:  # the migrations build exactly what the models describe
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        database.dispose()


def test_upgrading_twice_is_a_no_op(db: Database) -> None:
    with db.session() as db_session:
        users.get_or_create(db_session=db_session, line_user_id="U-kept")
    before = current_revision(db)

    migrate.upgrade(db.url)

    assert current_revision(db) == before
    assert query(db.url, "SELECT line_user_id FROM line_users") == [{"line_user_id": "U-kept"}]


# --- users and consent ------------------------------------------------------------------------------


def test_get_or_create_user_is_idempotent(db: Database) -> None:
    with db.session() as db_session:
        first, created = users.get_or_create(db_session=db_session, line_user_id="U1")
        assert created
    with db.session() as db_session:
        again, created_again = users.get_or_create(db_session=db_session, line_user_id="U1")
        assert not created_again
        assert again.id == first.id
    rows = query(db.url, "SELECT line_user_id, consent_state, is_following FROM line_users")
    assert len(rows) == 1
    assert rows[0]["consent_state"] == "unknown"
    assert bool(rows[0]["is_following"]) is True


def test_consent_decisions_are_appended_not_overwritten(db: Database) -> None:
    with db.session() as db_session:
        user, _ = users.get_or_create(db_session=db_session, line_user_id="U-consent")
        users.set_consent(db_session=db_session, user=user, state=ConsentState.given, notice_version="v1")
    with db.session() as db_session:
        user, _ = users.get_or_create(db_session=db_session, line_user_id="U-consent")
        users.set_consent(db_session=db_session, user=user, state=ConsentState.withdrawn, notice_version="v2")

    with db.session() as db_session:
        records = db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
        assert [(r.state, r.notice_version) for r in records] == [
            (ConsentState.given, "v1"),
            (ConsentState.withdrawn, "v2"),
        ]
        stored_user = db_session.scalars(select(LineUser)).one()
        assert (stored_user.consent_state, stored_user.consent_version) == (ConsentState.withdrawn, "v2")
    assert [r["state"] for r in query(db.url, "SELECT state FROM consent_records ORDER BY id")] == [
        "given",
        "withdrawn",
    ]


# --- inbox and processed-event ledger -----------------------------------------------------------------


def test_inbox_refuses_a_second_copy_of_an_event(db: Database) -> None:
    with db.session() as db_session:
        first = events.accept_into_inbox(db_session=db_session, webhook_event_id="E1", user_key="U1", payload={"n": 1})
    with db.session() as db_session:
        second = events.accept_into_inbox(db_session=db_session, webhook_event_id="E1", user_key="U1", payload={"n": 2})
    assert isinstance(first, int)
    assert second is None
    with db.session() as db_session:
        [row] = events.pending_inbox(db_session=db_session)
        assert row.payload == {"n": 1}


def test_pending_inbox_is_oldest_first_and_forgets_done_events(db: Database) -> None:
    with db.session() as db_session:
        for event_id in ("E1", "E2", "E3"):
            events.accept_into_inbox(db_session=db_session, webhook_event_id=event_id, user_key="U", payload={})
        events.mark_inbox_done(db_session=db_session, webhook_event_id="E2")
    with db.session() as db_session:
        assert [r.webhook_event_id for r in events.pending_inbox(db_session=db_session)] == ["E1", "E3"]


def test_record_processed_only_once(db: Database) -> None:
    with db.session() as db_session:
        assert events.record_processed(db_session=db_session, webhook_event_id="E1", event_type="message")
    with db.session() as db_session:
        assert not events.record_processed(db_session=db_session, webhook_event_id="E1", event_type="message")
        assert events.was_processed(db_session=db_session, webhook_event_id="E1")
        assert not events.was_processed(db_session=db_session, webhook_event_id="E2")


def test_purge_removes_only_old_finished_records(db: Database) -> None:
    old = utcnow() - timedelta(days=10)
    with db.session() as db_session:
        db_session.add_all(
            [
                ProcessedEvent(webhook_event_id="old", event_type="message", processed_at=old),
                ProcessedEvent(webhook_event_id="new", event_type="message", processed_at=utcnow()),
                InboxEvent(webhook_event_id="old-done", user_key="U", payload={}, received_at=old, done=True),
                InboxEvent(webhook_event_id="old-pending", user_key="U", payload={}, received_at=old, done=False),
                InboxEvent(webhook_event_id="new-done", user_key="U", payload={}, received_at=utcnow(), done=True),
            ]
        )
    with db.session() as db_session:
        removed = events.purge_older_than(db_session=db_session, age=timedelta(days=7))

    assert removed == 2
    assert {r["webhook_event_id"] for r in query(db.url, "SELECT webhook_event_id FROM processed_events")} == {"new"}
    assert {r["webhook_event_id"] for r in query(db.url, "SELECT webhook_event_id FROM inbox_events")} == {
        "old-pending",  # never processed: kept, whatever its age
        "new-done",
    }


# --- outbox -------------------------------------------------------------------------------------------


def new_outbox_row(db: Database, claim_for: timedelta | None = None) -> int:
    with db.session() as db_session:
        row = outbox.enqueue(
            db_session=db_session, line_user_id="U1", messages=[{"type": "text", "text": "hi"}], claim_for=claim_for
        )
    return row.id


def claim(db: Database, outbox_id: int, lease: timedelta) -> outbox.OutboxMessage | None:
    with db.session() as db_session:
        return outbox.claim(db_session=db_session, outbox_id=outbox_id, lease=lease)


def test_outbox_claim_is_exclusive_while_the_lease_lasts(db: Database) -> None:
    outbox_id = new_outbox_row(db)

    first = claim(db, outbox_id, timedelta(seconds=60))
    assert first is not None
    assert first.attempts == 1
    assert claim(db, outbox_id, timedelta(seconds=60)) is None
    assert query(db.url, "SELECT status FROM outbox") == [{"status": "sending"}]


def test_outbox_row_is_claimable_again_after_its_lease_expires(db: Database) -> None:
    outbox_id = new_outbox_row(db)
    assert claim(db, outbox_id, timedelta(milliseconds=200)) is not None
    assert claim(db, outbox_id, timedelta(seconds=60)) is None

    time.sleep(0.3)

    taken_over = claim(db, outbox_id, timedelta(seconds=60))
    assert taken_over is not None
    assert taken_over.attempts == 2
    with db.session() as db_session:
        assert outbox.due_ids(db_session=db_session) == []


def test_row_born_claimed_is_not_claimable_until_its_lease_runs_out(db: Database) -> None:
    outbox_id = new_outbox_row(db, claim_for=timedelta(milliseconds=200))
    assert query(db.url, "SELECT status, attempts FROM outbox") == [{"status": "sending", "attempts": 1}]
    assert claim(db, outbox_id, timedelta(seconds=60)) is None
    with db.session() as db_session:
        assert outbox.due_ids(db_session=db_session) == []

    time.sleep(0.3)

    with db.session() as db_session:
        assert outbox.due_ids(db_session=db_session) == [outbox_id]
    taken_over = claim(db, outbox_id, timedelta(seconds=60))
    assert taken_over is not None
    assert taken_over.attempts == 2


def test_sent_and_not_yet_due_rows_are_not_claimed(db: Database) -> None:
    sent_id, later_id = new_outbox_row(db), new_outbox_row(db)
    with db.session() as db_session:
        outbox.mark_sent(db_session=db_session, outbox_id=sent_id, via="push")
        outbox.schedule_retry(
            db_session=db_session, outbox_id=later_id, delay=timedelta(minutes=5), error="HTTP 500", drop_reply=False
        )
    with db.session() as db_session:
        assert outbox.due_ids(db_session=db_session) == []
    assert claim(db, sent_id, timedelta(seconds=60)) is None
    assert claim(db, later_id, timedelta(seconds=60)) is None


def test_outbox_retry_key_is_fixed_per_row(db: Database) -> None:
    first, second = new_outbox_row(db), new_outbox_row(db)
    keys = {r["id"]: r["retry_key"] for r in query(db.url, "SELECT id, retry_key FROM outbox")}
    assert keys[first] != keys[second]
    claim(db, first, timedelta(milliseconds=1))
    with db.session() as db_session:
        outbox.schedule_retry(db_session=db_session, outbox_id=first, delay=timedelta(0), error="e", drop_reply=True)
    assert query(db.url, "SELECT retry_key FROM outbox WHERE id = :id", id=first) == [{"retry_key": keys[first]}]


# --- time ---------------------------------------------------------------------------------------------


def test_datetimes_come_back_timezone_aware_in_utc(db: Database) -> None:
    bangkok = timezone(timedelta(hours=7))
    moment = datetime(2026, 11, 22, 9, 30, tzinfo=bangkok)
    with db.session() as db_session:
        db_session.add(ProcessedEvent(webhook_event_id="E", event_type="message", processed_at=moment))
    with db.session() as db_session:
        stored = db_session.get(ProcessedEvent, "E")
        assert stored is not None
        assert stored.processed_at.tzinfo is not None
        assert stored.processed_at.utcoffset() == timedelta(0)
        assert stored.processed_at == datetime(2026, 11, 22, 2, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.session() as db_session:
        db_session.add(ProcessedEvent(webhook_event_id="E", event_type="message", processed_at=datetime(2026, 1, 1)))
        db_session.flush()


# --- privacy: consent per purpose, what is stored, erasure ------------------------------------------


def test_consent_is_recorded_per_purpose_and_the_current_state_is_on_the_user(db: Database) -> None:
    with db.session() as db_session:
        user, _ = users.get_or_create(db_session=db_session, line_user_id="U-purposes")
        users.set_consent(db_session=db_session, user=user, state=ConsentState.given, notice_version="v1")
        users.set_consent(
            db_session=db_session,
            user=user,
            state=ConsentState.given,
            notice_version="v1",
            purpose=ConsentPurpose.sensitive,
        )
        users.set_consent(
            db_session=db_session,
            user=user,
            state=ConsentState.declined,
            notice_version="v1",
            purpose=ConsentPurpose.sensitive,
        )
    rows = query(db.url, "SELECT purpose, state FROM consent_records ORDER BY id")
    assert [(r["purpose"], r["state"]) for r in rows] == [
        ("general", "given"),
        ("sensitive", "given"),
        ("sensitive", "declined"),
    ]
    [user_row] = query(db.url, "SELECT consent_state, sensitive_consent_state FROM line_users")
    assert user_row == {"consent_state": "given", "sensitive_consent_state": "declined"}
    with db.session() as db_session:
        stored = privacy.summary(db_session=db_session, line_user_id="U-purposes")
    assert stored.consent("general").state == "given"
    assert stored.consent("sensitive").state == "declined"
    assert stored.consent("sensitive").decided_at is not None and stored.consent("sensitive").decided_at.tzinfo


def test_declining_forgets_the_profile_name_and_keeps_it_forgotten(db: Database) -> None:
    with db.session() as db_session:
        user, _ = users.get_or_create(db_session=db_session, line_user_id="U-decliner")
        users.record_profile(db_session=db_session, user=user, display_name="สมศรี", language="th")
        assert users.keeps_content(user)
        users.set_consent(db_session=db_session, user=user, state=ConsentState.declined, notice_version="v1")
        assert not users.keeps_content(user)
        users.record_profile(db_session=db_session, user=user, display_name="สมศรี", language="th")
    [row] = query(db.url, "SELECT display_name, language, profile_fetched_at FROM line_users")
    assert (row["display_name"], row["language"]) == (None, None)
    assert row["profile_fetched_at"] is not None


def as_json(value: Any) -> Any:
    """A JSON column as read by raw SQL: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def fill_someone(db_session: Session, line_user_id: str) -> None:
    user, _ = users.get_or_create(db_session=db_session, line_user_id=line_user_id)
    users.record_profile(db_session=db_session, user=user, display_name="สมชาย", language="th")
    users.set_consent(db_session=db_session, user=user, state=ConsentState.given, notice_version="v1")
    for kind in ("follow", "text", "text"):
        conversations.add_message(
            db_session=db_session, line_user_id=line_user_id, direction=Direction.inbound, kind=kind, text="x"
        )
    conversations.add_message(
        db_session=db_session, line_user_id=line_user_id, direction=Direction.outbound, kind="text", text="y"
    )
    attachments.save(
        db_session=db_session,
        line_user_id=line_user_id,
        line_message_id=f"m-{line_user_id}",
        kind="image",
        file_name=None,
        content_type="image/png",
        content=b"png",
        size_bytes=3,
        too_large=False,
    )
    events.accept_into_inbox(
        db_session=db_session, webhook_event_id=f"e-{line_user_id}", user_key=line_user_id, payload={"t": "secret"}
    )
    events.mark_inbox_done(db_session=db_session, webhook_event_id=f"e-{line_user_id}")
    events.accept_into_inbox(
        db_session=db_session, webhook_event_id=f"p-{line_user_id}", user_key=line_user_id, payload={"t": "next"}
    )
    sent = outbox.enqueue(db_session=db_session, line_user_id=line_user_id, messages=[{"type": "text", "text": "z"}])
    outbox.enqueue(db_session=db_session, line_user_id=line_user_id, messages=[{"type": "text", "text": "later"}])
    db_session.flush()
    outbox.mark_sent(db_session=db_session, outbox_id=sent.id, via="push")


def test_summary_counts_what_is_stored(db: Database) -> None:
    with db.session() as db_session:
        fill_someone(db_session, "U-summary")
        fill_someone(db_session, "U-other")
    with db.session() as db_session:
        stored = privacy.summary(db_session=db_session, line_user_id="U-summary")
        nobody = privacy.summary(db_session=db_session, line_user_id="U-never-seen")
    assert (stored.messages, stored.attachments, stored.profile_name) == (2, 1, True)  # follow events not counted
    assert stored.messages_since is not None and stored.messages_since.tzinfo is not None
    assert stored.attachments_since is not None and stored.erased_at is None and stored.tickets == 0
    assert (nobody.messages, nobody.attachments, nobody.consent("general").state) == (0, 0, "unknown")


def test_erase_removes_content_and_keeps_the_proof(db: Database) -> None:
    with db.session() as db_session:
        fill_someone(db_session, "U-erase")
        fill_someone(db_session, "U-bystander")
    with db.session() as db_session:
        erased = privacy.erase(db_session=db_session, line_user_id="U-erase", notice_version="v2")
    assert (erased.messages, erased.attachments, erased.inbox_payloads, erased.outbox_rows) == (4, 1, 1, 1)

    def count(sql: str, uid: str) -> int:
        return len(query(db.url, sql, uid=uid))

    assert count("SELECT id FROM conversation_messages WHERE line_user_id = :uid", "U-erase") == 0
    assert count("SELECT id FROM attachments WHERE line_user_id = :uid", "U-erase") == 0
    payloads = {
        r["webhook_event_id"]: as_json(r["payload"])
        for r in query(db.url, "SELECT webhook_event_id, payload FROM inbox_events WHERE user_key = 'U-erase'")
    }
    assert payloads == {"e-U-erase": {}, "p-U-erase": {"t": "next"}}  # a pending event is still to be answered
    assert [r["status"] for r in query(db.url, "SELECT status FROM outbox WHERE line_user_id = 'U-erase'")] == [
        "pending"
    ]
    [user] = query(
        db.url,
        "SELECT id, display_name, consent_state, sensitive_consent_state FROM line_users "
        "WHERE line_user_id = 'U-erase'",
    )
    assert (user["display_name"], user["consent_state"], user["sensitive_consent_state"]) == (
        None,
        "withdrawn",
        "withdrawn",
    )
    history = query(
        db.url,
        "SELECT purpose, state, notice_version FROM consent_records WHERE user_id = :id ORDER BY id",
        id=user["id"],
    )
    assert [(r["purpose"], r["state"]) for r in history] == [
        ("general", "given"),
        ("general", "withdrawn"),
        ("sensitive", "withdrawn"),
    ]
    [proof] = query(
        db.url, "SELECT messages, attachments, erased_at FROM erasure_records WHERE user_id = :id", id=user["id"]
    )
    assert (proof["messages"], proof["attachments"]) == (4, 1) and proof["erased_at"] is not None
    # Someone else's data is untouched.
    assert count("SELECT id FROM conversation_messages WHERE line_user_id = :uid", "U-bystander") == 4
    assert count("SELECT id FROM attachments WHERE line_user_id = :uid", "U-bystander") == 1
    with db.session() as db_session:
        assert privacy.summary(db_session=db_session, line_user_id="U-erase").erased_at is not None


def test_a_finished_inbox_event_keeps_its_id_but_not_its_body(db: Database) -> None:
    with db.session() as db_session:
        events.accept_into_inbox(
            db_session=db_session, webhook_event_id="E-body", user_key="U", payload={"text": "เบอร์ 0812345678"}
        )
        events.mark_inbox_done(db_session=db_session, webhook_event_id="E-body")
    assert as_json(query(db.url, "SELECT payload FROM inbox_events")[0]["payload"]) == {}
    with db.session() as db_session:  # a redelivery is still refused
        again = events.accept_into_inbox(db_session=db_session, webhook_event_id="E-body", user_key="U", payload={})
        assert again is None


def test_migration_keeps_earlier_consent_as_the_general_purpose(database_url: str) -> None:
    config = migrate.alembic_config(database_url)
    command.upgrade(config, "9c3e51d7a2b4")
    database = Database(database_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO line_users (id, line_user_id, consent_state, is_following, created_at, updated_at)"
                    " VALUES (1, 'U-old', 'given', true, :now, :now)"
                ),
                {"now": utcnow()},
            )
            conn.execute(
                text(
                    "INSERT INTO consent_records (user_id, state, notice_version, recorded_at)"
                    " VALUES (1, 'given', '2569-11', :now)"
                ),
                {"now": utcnow()},
            )
        migrate.upgrade(database_url)
        assert query(database_url, "SELECT purpose, state FROM consent_records") == [
            {"purpose": "general", "state": "given"}
        ]
        assert query(database_url, "SELECT consent_state, sensitive_consent_state FROM line_users") == [
            {"consent_state": "given", "sensitive_consent_state": "unknown"}
        ]
        command.downgrade(config, "9c3e51d7a2b4")  # and back
        assert "erasure_records" not in inspect(database.engine).get_table_names()
    finally:
        database.dispose()


def test_finished_outbox_rows_are_purged_after_the_retention_window(db: Database) -> None:
    old = utcnow() - timedelta(days=10)
    with db.session() as db_session:
        rows = [
            outbox.enqueue(db_session=db_session, line_user_id="U", messages=[{"type": "text", "text": t}])
            for t in ("old-sent", "old-failed", "old-pending", "new-sent")
        ]
        db_session.flush()
        outbox.mark_sent(db_session=db_session, outbox_id=rows[0].id, via="push")
        outbox.mark_failed(db_session=db_session, outbox_id=rows[1].id, error="400")
        outbox.mark_sent(db_session=db_session, outbox_id=rows[3].id, via="reply")
        for row in rows[:3]:
            row.created_at = old
    with db.session() as db_session:
        assert outbox.purge_finished_older_than(db_session=db_session, age=timedelta(days=7)) == 2
    left = query(db.url, "SELECT messages FROM outbox ORDER BY id")
    assert [as_json(r["messages"])[0]["text"] for r in left] == ["old-pending", "new-sent"]


def test_idle_dialogue_states_are_forgotten(db: Database) -> None:
    with db.session() as db_session:
        dialogue.save(db_session=db_session, line_user_id="U-idle", state={"form": "eligibility"})
        dialogue.save(db_session=db_session, line_user_id="U-active", state={"topic": "elderly_allowance"})
    with db.session() as db_session:
        idle = db_session.get(DialogueStateRow, "U-idle")
        assert idle is not None
        idle.updated_at = utcnow() - timedelta(days=8)
    with db.session() as db_session:
        assert dialogue.forget_idle(db_session=db_session, age=timedelta(days=7)) == 1
    assert [r["line_user_id"] for r in query(db.url, "SELECT line_user_id FROM dialogue_states")] == ["U-active"]
