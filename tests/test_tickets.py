"""Ticket storage on both backends: IDs, idempotency, transitions, scope isolation, transfers, referrals,
the handlers' port (SQL and fake alike), phone encryption and erasure; concurrent IDs on PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geothai
import pytest
from sqlalchemy import update

from bot.ticket_port import SqlTicketPort
from handlers.base import LocationInfo, NewTicket, TicketPort
from storage import migrate, privacy, users
from storage import tickets as T
from storage.db import Database
from storage.tickets import Scope, Status, Ticket
from storage.users import ConsentState
from tests.conftest import emptied
from tests.support.db_checks import query
from tests.support.fake_line import FakeLineServer
from tests.support.fake_tickets import FakeTicketPort, FakeTicketStore
from tests.support.ticket_creators import create_tickets
from tests.test_conversation import Chat, follow, start_chat
from tests.test_privacy import postback

KEY = "test-secret-key"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok, 2569 BE
KHON_KAEN, BANGKOK, CHIANG_MAI = "40", "10", "50"


@pytest.fixture
def db(migrated: Database) -> Database:
    """The module's database (conftest) emptied for this test, except the offices the migration seeded."""
    return emptied(migrated, keep=("offices",))


def officer(officer_id: int, *provinces: str, role: str = "officer") -> Scope:
    return Scope(officer_id, role, frozenset(provinces))


def new(db: Database, province: str | None = KHON_KAEN, **extra: Any) -> str:
    now = extra.pop("now", NOW)
    args: dict[str, Any] = {"kind": "complaint", "summary": "เจ้าหน้าที่ไม่รับเรื่อง", "line_user_id": "U-citizen"}
    args.update(extra)
    with db.session() as db_session:
        return T.open_ticket(db_session=db_session, province_code=province, now=now, **args).id


def put_status(db: Database, ticket_id: str, status: str) -> None:
    with db.session() as db_session:
        db_session.execute(update(Ticket).where(Ticket.id == ticket_id).values(status=Status(status)))


# --- offices and IDs ---------------------------------------------------------------------------------------


def test_offices_are_geothais_77_provinces(db: Database) -> None:
    rows = query(db.url, "SELECT province_code, name_th FROM offices ORDER BY province_code")
    assert [(r["province_code"], r["name_th"]) for r in rows] == sorted(
        (p.code, p.name_th) for p in geothai.provinces()
    )
    assert len(rows) == 77
    with db.session() as db_session:
        assert T.office_code(db_session=db_session, province="ขอนแก่น") == KHON_KAEN
        assert T.office_code(db_session=db_session, province="40") == KHON_KAEN
        assert T.office_code(db_session=db_session, province="โคราช") is None  # names are official; NLU maps


def test_ids_count_up_per_buddhist_era_year_in_bangkok_time(db: Database) -> None:
    first, second = new(db), new(db)
    # 31 Dec 2026 17:30 UTC is already 1 Jan 2027 in Bangkok: year 2570 starts its own sequence.
    new_year = new(db, now=datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    assert (first, second, new_year) == ("PM-2569-000001", "PM-2569-000002", "PM-2570-000001")
    assert new(db) == "PM-2569-000003"


def test_a_rolled_back_ticket_gives_its_number_back(db: Database) -> None:
    new(db)
    with pytest.raises(RuntimeError), db.session() as db_session:
        T.open_ticket(db_session=db_session, kind="complaint", summary="x", line_user_id="U", now=NOW)
        raise RuntimeError("the turn failed after opening the ticket")
    assert new(db) == "PM-2569-000002"
    assert [r["id"] for r in query(db.url, "SELECT id FROM tickets ORDER BY id")] == [
        "PM-2569-000001",
        "PM-2569-000002",
    ]


def test_one_ticket_per_source_event(db: Database) -> None:
    first = new(db, source_event_id="EV-1")
    again = new(db, source_event_id="EV-1", summary="the same event, redelivered")
    with db.session() as db_session:  # and inside one transaction too
        a = T.open_ticket(
            db_session=db_session, kind="help_request", summary="x", line_user_id="U", source_event_id="E2"
        )
        b = T.open_ticket(
            db_session=db_session, kind="help_request", summary="x", line_user_id="U", source_event_id="E2"
        )
        assert a.id == b.id
    assert first == again
    assert len(query(db.url, "SELECT id FROM tickets")) == 2
    assert len(query(db.url, "SELECT id FROM ticket_events WHERE type = 'opened'")) == 2


def test_opening_records_the_event_and_the_attachments(db: Database) -> None:
    with db.session() as db_session:
        attachment = _attachment(db_session, "U-citizen", "m1")
    ticket_id = new(db, attachment_ids=(attachment, attachment), urgency="urgent", kind="emergency")
    [opened] = query(db.url, "SELECT type, actor, visibility, notify_staff FROM ticket_events")
    assert (opened["type"], opened["actor"], opened["visibility"], bool(opened["notify_staff"])) == (
        "opened",
        "citizen",
        "public",
        True,
    )
    with db.session() as db_session:
        assert T.attachment_ids(db_session=db_session, ticket_id=ticket_id) == [attachment]


def _attachment(db_session: Any, line_user_id: str, message_id: str) -> int:
    from storage import attachments

    row = attachments.save(
        db_session=db_session,
        line_user_id=line_user_id,
        line_message_id=message_id,
        kind="image",
        file_name=None,
        content_type="image/jpeg",
        content=b"jpg",
        size_bytes=3,
        too_large=False,
    )
    return row.id


# --- phones ------------------------------------------------------------------------------------------------


def test_phone_numbers_are_stored_encrypted_and_shown_masked(db: Database) -> None:
    ticket_id = new(db, phone="0812345678", secret_key=KEY, contact_consent=True)
    [row] = query(db.url, "SELECT phone_encrypted, phone_masked FROM tickets")
    assert "0812345678" not in row["phone_encrypted"] and "5678" not in row["phone_encrypted"]
    assert row["phone_masked"] == "08x-xxx-5678"
    with db.session() as db_session:
        ticket = db_session.get(Ticket, ticket_id)
        assert ticket is not None
        assert T.reveal_phone(ticket, KEY) == "0812345678"
        assert T.reveal_phone(ticket, "another key") is None
    with pytest.raises(ValueError), db.session() as db_session:
        T.open_ticket(db_session=db_session, kind="complaint", summary="x", line_user_id="U", phone="0812345678")


# --- transitions -------------------------------------------------------------------------------------------


def test_every_allowed_transition_works_and_every_other_is_refused(db: Database) -> None:
    admin = Scope.admin(1)
    for current in Status:
        for wanted in Status:
            ticket_id = new(db)
            put_status(db, ticket_id, current.value)
            if wanted in T.TRANSITIONS[current]:
                with db.session() as db_session:
                    T.change_status(
                        db_session=db_session, scope=admin, ticket_id=ticket_id, status=wanted.value, actor="officer:a"
                    )
                assert query(db.url, "SELECT status FROM tickets WHERE id = :i", i=ticket_id) == [
                    {"status": wanted.value}
                ], (current, wanted)
            else:
                with pytest.raises(T.TransitionNotAllowed), db.session() as db_session:
                    T.change_status(
                        db_session=db_session, scope=admin, ticket_id=ticket_id, status=wanted.value, actor="officer:a"
                    )
                assert query(db.url, "SELECT status FROM tickets WHERE id = :i", i=ticket_id) == [
                    {"status": current.value}
                ], (current, wanted)
    with pytest.raises(T.TransitionNotAllowed), db.session() as db_session:
        T.change_status(db_session=db_session, scope=admin, ticket_id=new(db), status="archived", actor="officer:a")


def test_status_changes_are_public_events_and_keep_the_clocks(db: Database) -> None:
    admin = Scope.admin(1)
    ticket_id = new(db)
    steps = ["acknowledged", "waiting_citizen", "in_progress", "resolved", "in_progress", "resolved", "closed"]
    for minute, status in enumerate(steps, start=1):
        with db.session() as db_session:
            T.change_status(
                db_session=db_session,
                scope=admin,
                ticket_id=ticket_id,
                status=status,
                actor="officer:somsri",
                now=NOW + timedelta(minutes=minute),
            )
    with db.session() as db_session:
        ticket = db_session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.first_response_at == NOW + timedelta(minutes=1)
        assert ticket.sla_paused_at is None
        assert ticket.resolved_at == NOW + timedelta(minutes=6)
        assert ticket.closed_at == NOW + timedelta(minutes=7)
        events = T.history(db_session=db_session, ticket=ticket)
    changes = [e for e in events if e.type == "status_changed"]
    assert [e.data["to"] for e in changes] == steps
    assert all(e.visibility is T.Visibility.public and e.notify_citizen for e in changes)
    assert changes[2].data["paused_seconds"] == 60  # waiting_citizen → in_progress
    assert changes[4].data.get("reopened") is True


# --- scope ---------------------------------------------------------------------------------------------------


def test_another_provinces_ticket_does_not_exist_for_an_officer(db: Database) -> None:
    mine = new(db, KHON_KAEN, summary="ร้องเรียนขอนแก่น")
    theirs = new(db, BANGKOK, summary="ร้องเรียนกรุงเทพ")
    central = new(db, None, summary="ร้องเรียนไม่ทราบจังหวัด")
    khon_kaen = officer(7, KHON_KAEN)
    with db.session() as db_session:
        assert T.get_ticket(db_session=db_session, scope=khon_kaen, ticket_id=mine) is not None
        assert T.get_ticket(db_session=db_session, scope=khon_kaen, ticket_id=theirs) is None
        assert T.get_ticket(db_session=db_session, scope=khon_kaen, ticket_id=central) is None
        items, total = T.list_tickets(db_session=db_session, scope=khon_kaen)
        assert ([t.id for t in items], total) == ([mine], 1)
        assert T.list_tickets(db_session=db_session, scope=khon_kaen, q="กรุงเทพ") == ([], 0)
        assert T.list_tickets(db_session=db_session, scope=khon_kaen, q=theirs) == ([], 0)
        assert T.list_tickets(db_session=db_session, scope=khon_kaen, province="กรุงเทพมหานคร") == ([], 0)
        assert T.count_tickets(db_session=db_session, scope=khon_kaen) == 1
        assert T.count_tickets(db_session=db_session, scope=officer(8)) == 0  # no provinces: nothing
        assert T.list_tickets(db_session=db_session, scope=Scope.admin())[1] == 3  # admin: all and central
    writes: list[Callable[[Any], Any]] = [
        lambda s: T.change_status(db_session=s, scope=khon_kaen, ticket_id=theirs, status="closed", actor="o"),
        lambda s: T.assign(db_session=s, scope=khon_kaen, ticket_id=theirs, assignee_id=7, actor="o"),
        lambda s: T.add_public_message(db_session=s, scope=khon_kaen, ticket_id=theirs, text="hi", actor="o"),
        lambda s: T.add_note(db_session=s, scope=khon_kaen, ticket_id=theirs, text="hi", actor="o"),
        lambda s: T.request_transfer(
            db_session=s, scope=khon_kaen, ticket_id=theirs, to_province=KHON_KAEN, reason="x", actor="o"
        ),
        lambda s: T.refer(
            db_session=s, scope=khon_kaen, ticket_id=theirs, agency="รพ.", note="", basis="consent", actor="o"
        ),
        lambda s: T.invite_collaborator(db_session=s, scope=khon_kaen, ticket_id=theirs, province=KHON_KAEN, actor="o"),
    ]
    for write in writes:
        with pytest.raises(T.TicketNotFound), db.session() as db_session:
            write(db_session)
    assert len(query(db.url, "SELECT id FROM ticket_events WHERE ticket_id = :i", i=theirs)) == 1


def test_a_collaborating_office_reads_and_writes_notes_only(db: Database) -> None:
    ticket_id = new(db, BANGKOK)
    with db.session() as db_session:
        T.invite_collaborator(
            db_session=db_session, scope=officer(1, BANGKOK), ticket_id=ticket_id, province="ขอนแก่น", actor="o"
        )
    helper = officer(7, KHON_KAEN)
    with db.session() as db_session:
        assert T.get_ticket(db_session=db_session, scope=helper, ticket_id=ticket_id) is not None
        assert T.list_tickets(db_session=db_session, scope=helper)[1] == 1
        T.add_note(db_session=db_session, scope=helper, ticket_id=ticket_id, text="เคยช่วยครอบครัวนี้", actor="o:kk")
    with pytest.raises(T.NotAllowed), db.session() as db_session:
        T.add_public_message(db_session=db_session, scope=helper, ticket_id=ticket_id, text="x", actor="o:kk")
    with pytest.raises(T.NotAllowed), db.session() as db_session:
        T.change_status(db_session=db_session, scope=helper, ticket_id=ticket_id, status="closed", actor="o:kk")
    [note] = query(db.url, "SELECT visibility, notify_citizen FROM ticket_events WHERE type = 'note'")
    assert (note["visibility"], bool(note["notify_citizen"])) == ("internal", False)


# --- listing -------------------------------------------------------------------------------------------------


def test_list_puts_urgent_and_overdue_first_then_newest_with_stable_pages(db: Database) -> None:
    old_normal = new(db, now=NOW - timedelta(hours=5))
    overdue = new(db, now=NOW - timedelta(hours=4), first_response_due_at=NOW - timedelta(hours=1))
    urgent_old = new(db, now=NOW - timedelta(hours=3), urgency="urgent", kind="emergency")
    newest = new(db, now=NOW - timedelta(hours=1), summary="ขอความช่วยเหลือ ค่าเทอม", kind="help_request")
    urgent_new = new(db, now=NOW - timedelta(hours=2), urgency="urgent", kind="emergency")
    same_time = [new(db, now=NOW - timedelta(hours=6)) for _ in range(3)]
    order = [urgent_new, urgent_old, overdue, newest, old_normal, *sorted(same_time, reverse=True)]
    scope = officer(1, KHON_KAEN)
    with db.session() as db_session:
        items, total = T.list_tickets(db_session=db_session, scope=scope, now=NOW)
        assert [t.id for t in items] == order and total == 8
        pages = [
            [t.id for t in T.list_tickets(db_session=db_session, scope=scope, page=p, page_size=3, now=NOW)[0]]
            for p in (1, 2, 3)
        ]
        assert [ticket_id for page in pages for ticket_id in page] == order
        assert [t.id for t in T.list_tickets(db_session=db_session, scope=scope, overdue=True, now=NOW)[0]] == [overdue]
        assert T.list_tickets(db_session=db_session, scope=scope, overdue=False, now=NOW)[1] == 7
        assert T.list_tickets(db_session=db_session, scope=scope, urgency="urgent")[1] == 2
        assert T.list_tickets(db_session=db_session, scope=scope, kind="help_request")[0][0].id == newest
        assert T.list_tickets(db_session=db_session, scope=scope, q="ค่าเทอม")[0][0].id == newest
        assert T.list_tickets(db_session=db_session, scope=scope, q="100%")[1] == 0
        assert T.list_tickets(db_session=db_session, scope=scope, status="new")[1] == 8
        assert T.list_tickets(db_session=db_session, scope=scope, status=["closed"])[1] == 0
        assert T.list_tickets(db_session=db_session, scope=scope, province="ขอนแก่น")[1] == 8
    with db.session() as db_session:
        row = db_session.get(Ticket, overdue)
        assert row is not None and row.due_at == NOW - timedelta(hours=1)
    with db.session() as db_session:  # responded to in time: no longer overdue
        T.change_status(db_session=db_session, scope=scope, ticket_id=overdue, status="acknowledged", actor="o")
    with db.session() as db_session:
        assert T.list_tickets(db_session=db_session, scope=scope, overdue=True, now=NOW)[1] == 0


# --- transfers ------------------------------------------------------------------------------------------------


def test_only_an_officer_of_the_receiving_province_can_accept_a_transfer(db: Database) -> None:
    ticket_id = new(db, KHON_KAEN)
    requester = officer(1, KHON_KAEN, BANGKOK)  # even covering the receiving province too
    with db.session() as db_session:
        transfer_id = T.request_transfer(
            db_session=db_session,
            scope=requester,
            ticket_id=ticket_id,
            to_province="กรุงเทพมหานคร",
            reason="ผู้ร้องย้ายไปอยู่กรุงเทพ",
            actor="officer:a",
            now=NOW,
        ).id
    receiver = officer(2, BANGKOK)
    with db.session() as db_session:  # the receiving office may read it while deciding
        assert T.get_ticket(db_session=db_session, scope=receiver, ticket_id=ticket_id) is not None
    for refused in (requester, officer(3, CHIANG_MAI), officer(4, KHON_KAEN)):
        with pytest.raises((T.NotAllowed, T.TicketNotFound)), db.session() as db_session:
            T.answer_transfer(db_session=db_session, scope=refused, transfer_id=transfer_id, accept=True, actor="x")
    with pytest.raises(T.NotAllowed), db.session() as db_session:  # an admin is not an officer of Bangkok
        T.answer_transfer(db_session=db_session, scope=Scope.admin(9), transfer_id=transfer_id, accept=True, actor="x")
    assert query(db.url, "SELECT province_code FROM tickets") == [{"province_code": KHON_KAEN}]

    with db.session() as db_session:
        T.answer_transfer(db_session=db_session, scope=receiver, transfer_id=transfer_id, accept=True, actor="o:bkk")
    assert query(db.url, "SELECT province_code FROM tickets") == [{"province_code": BANGKOK}]
    [row] = query(db.url, "SELECT status, answered_by FROM transfers")
    assert (row["status"], row["answered_by"]) == ("accepted", 2)
    with db.session() as db_session:
        assert T.get_ticket(db_session=db_session, scope=officer(4, KHON_KAEN), ticket_id=ticket_id) is None
        assert T.get_ticket(db_session=db_session, scope=receiver, ticket_id=ticket_id) is not None
    with pytest.raises(T.TicketError), db.session() as db_session:  # answered once only
        T.answer_transfer(db_session=db_session, scope=receiver, transfer_id=transfer_id, accept=False, actor="o")


def test_a_rejected_transfer_keeps_the_owner_and_an_unanswered_one_expires(db: Database) -> None:
    ticket_id = new(db, KHON_KAEN)
    requester, receiver = officer(1, KHON_KAEN), officer(2, CHIANG_MAI)

    def ask(now: datetime) -> int:
        with db.session() as db_session:
            return T.request_transfer(
                db_session=db_session,
                scope=requester,
                ticket_id=ticket_id,
                to_province=CHIANG_MAI,
                reason="",
                actor="o",
                expires_at=now + timedelta(hours=8),
                now=now,
            ).id

    rejected = ask(NOW)
    with pytest.raises(T.TicketError), db.session() as db_session:  # one pending transfer at a time
        T.request_transfer(
            db_session=db_session, scope=requester, ticket_id=ticket_id, to_province=BANGKOK, reason="", actor="o"
        )
    with db.session() as db_session:
        T.answer_transfer(
            db_session=db_session, scope=receiver, transfer_id=rejected, accept=False, reason="ไม่ใช่พื้นที่", actor="o"
        )
    expiring = ask(NOW + timedelta(hours=1))
    with db.session() as db_session:
        assert T.expire_transfers(db_session=db_session, now=NOW + timedelta(hours=8)) == []
    with db.session() as db_session:
        assert [t.id for t in T.expire_transfers(db_session=db_session, now=NOW + timedelta(hours=9))] == [expiring]
    rows = query(db.url, "SELECT id, status FROM transfers ORDER BY id")
    assert [r["status"] for r in rows] == ["rejected", "expired"]
    assert query(db.url, "SELECT province_code FROM tickets") == [{"province_code": KHON_KAEN}]
    types = [r["type"] for r in query(db.url, "SELECT type FROM ticket_events ORDER BY id")]
    assert types[-1] == "transfer_expired" and "transfer_rejected" in types
    with pytest.raises(T.TicketError, match="already expired"), db.session() as db_session:
        T.answer_transfer(db_session=db_session, scope=receiver, transfer_id=expiring, accept=True, actor="o")


# --- referrals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", [None, "", "legal:", "legal:  ", "because", "consented"])
def test_a_referral_needs_consent_or_a_legal_basis(db: Database, basis: str | None) -> None:
    ticket_id = new(db)
    with pytest.raises(T.ReferralBasisRequired), db.session() as db_session:
        T.refer(
            db_session=db_session,
            scope=officer(1, KHON_KAEN),
            ticket_id=ticket_id,
            agency="โรงพยาบาลขอนแก่น",
            note="",
            basis=basis,
            actor="o",
        )
    assert query(db.url, "SELECT id FROM referrals") == []


def test_a_referral_goes_requested_accepted_done_and_keeps_ownership(db: Database) -> None:
    ticket_id = new(db)
    scope = officer(1, KHON_KAEN)
    with db.session() as db_session:
        legal = T.refer(
            db_session=db_session,
            scope=scope,
            ticket_id=ticket_id,
            agency="ตำรวจ",
            note="",
            basis="legal:พ.ร.บ.คุ้มครองเด็ก มาตรา 29",
            actor="o",
        ).id
        referral = T.refer(
            db_session=db_session,
            scope=scope,
            ticket_id=ticket_id,
            agency="รพ.ขอนแก่น",
            note="",
            basis="consent",
            actor="o",
        ).id
    for status in ("accepted", "done_successful"):
        with db.session() as db_session:
            T.update_referral(db_session=db_session, scope=scope, referral_id=referral, status=status, actor="o")
    with pytest.raises(T.TransitionNotAllowed), db.session() as db_session:
        T.update_referral(db_session=db_session, scope=scope, referral_id=referral, status="revoked", actor="o")
    with pytest.raises(T.TransitionNotAllowed), db.session() as db_session:
        T.update_referral(db_session=db_session, scope=scope, referral_id=legal, status="done_successful", actor="o")
    with pytest.raises(T.TicketNotFound), db.session() as db_session:
        T.update_referral(
            db_session=db_session, scope=officer(2, BANGKOK), referral_id=legal, status="revoked", actor="o"
        )
    assert query(db.url, "SELECT province_code FROM tickets") == [{"province_code": KHON_KAEN}]
    assert [r["status"] for r in query(db.url, "SELECT status FROM referrals ORDER BY id")] == [
        "requested",
        "done_successful",
    ]


# --- officers' messages ------------------------------------------------------------------------------------


def test_a_public_message_is_a_public_event_for_the_citizen_and_a_note_is_internal(db: Database) -> None:
    ticket_id = new(db)
    scope = officer(1, KHON_KAEN)
    with db.session() as db_session:
        T.add_public_message(
            db_session=db_session, scope=scope, ticket_id=ticket_id, text="พรุ่งนี้จะโทรกลับนะคะ", actor="officer:a"
        )
        T.add_note(db_session=db_session, scope=scope, ticket_id=ticket_id, text="ตรวจสอบแล้ว", actor="officer:a")
        T.assign(db_session=db_session, scope=scope, ticket_id=ticket_id, assignee_id=1, actor="officer:a")
    rows = query(db.url, "SELECT type, visibility, notify_citizen FROM ticket_events ORDER BY id")
    assert [(r["type"], r["visibility"], bool(r["notify_citizen"])) for r in rows] == [
        ("opened", "public", False),
        ("message", "public", True),
        ("note", "internal", False),
        ("assigned", "internal", False),
    ]
    [ticket] = query(db.url, "SELECT first_response_at, assignee_id FROM tickets")
    assert ticket["first_response_at"] is not None and ticket["assignee_id"] == 1


def test_officers_messages_and_status_changes_reach_the_citizen_through_the_outbox(db: Database) -> None:
    ticket_id = new(db)
    scope = officer(1, KHON_KAEN)
    with db.session() as db_session:
        T.change_status(db_session=db_session, scope=scope, ticket_id=ticket_id, status="acknowledged", actor="o")
        T.add_public_message(db_session=db_session, scope=scope, ticket_id=ticket_id, text="จะโทรกลับค่ะ", actor="o")
        T.add_note(db_session=db_session, scope=scope, ticket_id=ticket_id, text="ภายใน: อย่าส่ง", actor="o")
        T.assign(db_session=db_session, scope=scope, ticket_id=ticket_id, assignee_id=1, actor="o")
    rows = query(db.url, "SELECT line_user_id, messages FROM outbox ORDER BY id")
    texts = [
        json.loads(r["messages"])[0]["text"] if isinstance(r["messages"], str) else r["messages"][0]["text"]
        for r in rows
    ]
    assert texts == [f"เรื่อง {ticket_id}: เจ้าหน้าที่รับเรื่องแล้วค่ะ", f"ข้อความจากเจ้าหน้าที่ เรื่อง {ticket_id}:\nจะโทรกลับค่ะ"]
    assert {r["line_user_id"] for r in rows} == {"U-citizen"}
    with db.session() as db_session:  # the citizen's own changes are not echoed back; an erased ticket gets nothing
        port = SqlTicketPort(db_session, "U-citizen", None, KEY, NOW)
        assert port.withdraw(ticket_id)
    other = new(db, line_user_id="U-gone")
    with db.session() as db_session:
        T.erase_citizen(db_session=db_session, line_user_id="U-gone")
        T.add_public_message(db_session=db_session, scope=scope, ticket_id=other, text="สวัสดีค่ะ", actor="o")
    assert len(query(db.url, "SELECT id FROM outbox")) == 2


def test_an_urgent_ticket_alerts_the_provinces_officers_with_linked_line_accounts(db: Database) -> None:
    from storage import officers

    with db.session() as db_session:
        for username, province, line_id in (("kk1", KHON_KAEN, "U-officer-kk"), ("kk2", KHON_KAEN, None)):
            officers.create_officer(
                db_session=db_session,
                username=username,
                password="a-long-password-1",
                role=officers.OfficerRole.officer,
                province_codes=[province],
                line_user_id=line_id,
            )
        officers.create_officer(
            db_session=db_session,
            username="admin1",
            password="a-long-password-1",
            role=officers.OfficerRole.admin,
            province_codes=[],
            line_user_id="U-admin",
        )
    new(db, line_user_id="U-calm")  # a normal ticket alerts nobody
    urgent = new(db, kind="emergency", urgency="urgent", summary="เด็กถูกขังในบ้าน", line_user_id="U-caller")
    elsewhere = new(db, province="10", kind="emergency", urgency="urgent", line_user_id="U-bangkok")
    rows = query(db.url, "SELECT line_user_id, messages FROM outbox ORDER BY id")
    alerts = [r for r in rows if r["line_user_id"] == "U-officer-kk"]
    assert len(alerts) == 1, "one push to the one officer of the province who linked LINE"
    body = json.loads(alerts[0]["messages"]) if isinstance(alerts[0]["messages"], str) else alerts[0]["messages"]
    assert urgent in body[0]["text"] and "เด็กถูกขังในบ้าน" in body[0]["text"]
    assert elsewhere not in str([r["messages"] for r in rows])
    central = new(db, province=None, kind="emergency", urgency="urgent", line_user_id="U-unknown-place")
    to_admin = [r for r in query(db.url, "SELECT line_user_id, messages FROM outbox") if r["line_user_id"] == "U-admin"]
    assert len(to_admin) == 1 and central in str(to_admin[0]["messages"]), "the central queue alerts administrators"


def test_an_officer_holds_a_handoff_for_thirty_minutes_renewed_by_each_message_and_released_by_resolving(
    db: Database,
) -> None:
    ticket_id = new(db, kind="handoff", line_user_id="U-live")
    admin = Scope.admin(1)

    def held(at: datetime) -> bool:
        with db.session() as db_session:
            return T.held_handoff(db_session=db_session, line_user_id="U-live", now=at) is not None

    assert not held(NOW), "nobody holds it until an officer takes it"
    with db.session() as db_session:
        T.assign(db_session=db_session, scope=admin, ticket_id=ticket_id, assignee_id=1, actor="o", now=NOW)
    assert held(NOW + timedelta(minutes=29)) and not held(NOW + timedelta(minutes=31))
    later = NOW + timedelta(minutes=20)
    with db.session() as db_session:
        T.add_public_message(db_session=db_session, scope=admin, ticket_id=ticket_id, text="ค่ะ", actor="o", now=later)
    assert held(NOW + timedelta(minutes=45)), "the officer's message renews the hold"
    with db.session() as db_session:
        for status in ("in_progress", "resolved"):
            T.change_status(
                db_session=db_session, scope=admin, ticket_id=ticket_id, status=status, actor="o", now=later
            )
    assert not held(later), "resolving hands the chat back to the bot"


# --- the handlers' port: SQL and fake behave alike ----------------------------------------------------------


PortFactory = Callable[[str, str | None], TicketPort]


@pytest.fixture(params=["sql", "fake"])
def ports(request: pytest.FixtureRequest, db: Database) -> Iterator[tuple[PortFactory, Callable[[str, str], None]]]:
    """A factory of ports (one per person and event) and a way to move a ticket as an officer would."""
    if request.param == "fake":
        store = FakeTicketStore()

        def fake_port(uid: str, event_id: str | None) -> TicketPort:
            return FakeTicketPort(uid, store=store, source_event_id=event_id, now=NOW.timestamp())

        def fake_officer(ticket_id: str, action: str) -> None:
            port = FakeTicketPort("officer", store=store, now=NOW.timestamp())
            if action == "hold":
                port.officer_holds(ticket_id)
            elif action.startswith("say:"):
                port.officer_message(ticket_id, action[4:])
            else:
                port.set_status(ticket_id, action)

        yield fake_port, fake_officer
        return

    sessions = []

    def sql_port(uid: str, event_id: str | None) -> TicketPort:
        for earlier in sessions:  # one turn at a time: the previous turn commits
            earlier.__exit__(None, None, None)
        sessions.clear()
        context = db.session()
        sessions.append(context)
        return SqlTicketPort(context.__enter__(), uid, event_id, KEY, NOW)

    def sql_officer(ticket_id: str, action: str) -> None:
        for context in sessions:  # commit what the citizen's turns did first
            context.__exit__(None, None, None)
        sessions.clear()
        with db.session() as db_session:
            admin = Scope.admin(1)
            if action == "hold":
                T.assign(db_session=db_session, scope=admin, ticket_id=ticket_id, assignee_id=1, actor="o")
            elif action.startswith("say:"):
                T.add_public_message(
                    db_session=db_session, scope=admin, ticket_id=ticket_id, text=action[4:], actor="o"
                )
            else:
                T.change_status(db_session=db_session, scope=admin, ticket_id=ticket_id, status=action, actor="o")

    yield sql_port, sql_officer
    for context in sessions:
        context.__exit__(None, None, None)


def test_the_port_opens_once_per_event_and_shows_only_the_persons_own(
    ports: tuple[PortFactory, Callable[[str, str], None]],
) -> None:
    port, _ = ports
    complaint = NewTicket(kind="complaint", summary="อบต.ไม่จ่ายเบี้ย", province="ขอนแก่น", phone="0812345678")
    first = port("U-a", "EV-1").open(complaint)
    assert port("U-a", "EV-1").open(complaint) == first  # redelivered
    location = LocationInfo(16.43, 102.83, "ขอนแก่น", None)
    second = port("U-a", "EV-2").open(NewTicket(kind="help_request", summary="ขอรถเข็น", location=location))
    someone_else = port("U-b", "EV-3").open(NewTicket(kind="complaint", summary="x", province="เมืองลับแล"))
    assert len({first, second, someone_else}) == 3
    assert first.startswith("PM-2569-")

    mine = port("U-a", None).mine()
    assert [v.id for v in mine] == sorted([first, second], reverse=True)
    view = port("U-a", None).find(first.lower())
    assert view is not None and (view.kind, view.status, view.province) == ("complaint", "new", "ขอนแก่น")
    assert view.last_public_update == T.STATUS_TH["new"]
    assert port("U-a", None).find(someone_else) is None
    [theirs] = port("U-b", None).mine(limit=5)
    assert theirs.id == someone_else and theirs.province is None  # an unknown name: the central queue
    assert port("U-a", None).mine(limit=1)[0].id == max(first, second)


def test_the_citizens_reply_moves_a_waiting_ticket_and_withdrawal_closes_it(
    ports: tuple[PortFactory, Callable[[str, str], None]],
) -> None:
    port, act = ports
    ticket_id = port("U-a", "EV-1").open(NewTicket(kind="complaint", summary="x"))
    act(ticket_id, "acknowledged")
    act(ticket_id, "waiting_citizen")
    act(ticket_id, "say:ขอสำเนาบัตรประชาชนด้วยค่ะ")
    view = port("U-a", None).find(ticket_id)
    assert view is not None and view.last_public_update == "ขอสำเนาบัตรประชาชนด้วยค่ะ"
    assert port("U-b", None).add_message(ticket_id, "not mine") is False
    assert port("U-a", None).add_message(ticket_id, None) is False
    assert port("U-a", None).add_message(ticket_id, "ส่งรูปให้แล้วค่ะ") is True
    view = port("U-a", None).find(ticket_id)
    assert view is not None and view.status == "in_progress"
    assert port("U-b", None).withdraw(ticket_id) is False
    assert port("U-a", None).withdraw(ticket_id) is True
    assert port("U-a", None).withdraw(ticket_id) is False
    view = port("U-a", None).find(ticket_id)
    assert view is not None and view.status == "closed"
    assert port("U-a", None).add_message(ticket_id, "อีกเรื่อง") is False


def test_a_rating_after_resolved_and_a_reopen_within_the_window(
    ports: tuple[PortFactory, Callable[[str, str], None]],
) -> None:
    port, act = ports
    ticket_id = port("U-a", "EV-1").open(NewTicket(kind="help_request", summary="ขอรถเข็น"))
    assert port("U-a", None).rate(ticket_id, 5) is False  # not resolved yet
    act(ticket_id, "acknowledged")
    act(ticket_id, "resolved")
    view = port("U-a", None).find(ticket_id)
    assert view is not None and view.resolved_at is not None and view.summary == "ขอรถเข็น"
    assert port("U-b", None).rate(ticket_id, 1) is False  # not theirs
    assert port("U-a", None).rate(ticket_id, 6) is False
    assert port("U-a", None).rate(ticket_id, 4, "ขอบคุณค่ะ") is True
    assert port("U-b", None).reopen(ticket_id) is False
    assert port("U-a", None).reopen(ticket_id, "รถเข็นยังไม่มาส่งค่ะ") is True
    view = port("U-a", None).find(ticket_id)
    assert view is not None and view.status == "in_progress" and view.resolved_at is None
    assert port("U-a", None).reopen(ticket_id) is False  # only a resolved ticket reopens


def test_a_handoff_is_held_only_once_an_officer_takes_it(ports: tuple[PortFactory, Callable[[str, str], None]]) -> None:
    port, act = ports
    assert port("U-a", None).held_handoff() is None
    ticket_id = port("U-a", "EV-1").open(NewTicket(kind="handoff", summary="ขอคุยกับเจ้าหน้าที่"))
    assert port("U-a", None).held_handoff() is None
    act(ticket_id, "hold")
    held = port("U-a", None).held_handoff()
    assert held is not None and held.id == ticket_id
    assert port("U-b", None).held_handoff() is None
    act(ticket_id, "acknowledged")
    act(ticket_id, "resolved")
    assert port("U-a", None).held_handoff() is None


# --- erasure ---------------------------------------------------------------------------------------------------


def test_erasure_removes_identity_and_contact_from_the_persons_tickets(db: Database) -> None:
    with db.session() as db_session:
        user, _ = users.get_or_create(db_session=db_session, line_user_id="U-erase")
        users.set_consent(db_session=db_session, user=user, state=ConsentState.given, notice_version="v1")
        picture = _attachment(db_session, "U-erase", "m-erase")
    ticket_id = new(
        db,
        line_user_id="U-erase",
        summary="นายสมชาย ใจดี ถูกทำร้าย",
        details={"who": "นายสมชาย ใจดี"},
        location={"latitude": 16.4, "longitude": 102.8},
        phone="0812345678",
        secret_key=KEY,
        contact_consent=True,
        attachment_ids=(picture,),
    )
    kept = new(db, line_user_id="U-bystander", summary="เรื่องของคนอื่น", phone="0899999999", secret_key=KEY)
    with db.session() as db_session:
        T.refer(
            db_session=db_session,
            scope=Scope.admin(1),
            ticket_id=ticket_id,
            agency="รพ.",
            note="นายสมชาย ใจดี บ้านเลขที่ 5",
            basis="consent",
            actor="o",
        )
    with db.session() as db_session:
        port = SqlTicketPort(db_session, "U-erase", None, KEY, NOW)
        assert port.add_message(ticket_id, "เบอร์ใหม่ 0811111111")
        assert privacy.summary(db_session=db_session, line_user_id="U-erase").tickets == 1
    with db.session() as db_session:
        erased = privacy.erase(db_session=db_session, line_user_id="U-erase", notice_version="v2")
    assert erased.tickets == 1
    [row] = query(db.url, "SELECT * FROM tickets WHERE id = :i", i=ticket_id)
    assert row["line_user_id"] is None and row["phone_encrypted"] is None and row["phone_masked"] is None
    assert row["summary"] == T.ERASED_SUMMARY and row["location"] is None and not row["contact_consent"]
    assert row["details"] in ({}, "{}")
    assert (row["kind"], row["province_code"], row["status"]) == ("complaint", KHON_KAEN, "new")  # statistics
    events = query(db.url, "SELECT type, data FROM ticket_events WHERE ticket_id = :i ORDER BY id", i=ticket_id)
    assert "0811111111" not in str(events) and events[-1]["type"] == "erased"
    assert query(db.url, "SELECT * FROM ticket_attachments") == []
    assert query(db.url, "SELECT note FROM referrals") == [{"note": ""}]
    [other] = query(db.url, "SELECT line_user_id, summary, phone_masked FROM tickets WHERE id = :i", i=kept)
    assert other == {"line_user_id": "U-bystander", "summary": "เรื่องของคนอื่น", "phone_masked": "08x-xxx-9999"}
    with db.session() as db_session:
        assert SqlTicketPort(db_session, "U-erase", None, KEY, NOW).mine() == []
        assert privacy.summary(db_session=db_session, line_user_id="U-erase").tickets == 0


# --- concurrency (PostgreSQL) ----------------------------------------------------------------------------------


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    migrate.upgrade(postgres_url)
    database = Database(postgres_url)
    yield database
    database.dispose()


def test_concurrent_creators_get_gapless_unique_ids_on_postgresql(pg: Database) -> None:
    threads, per_thread = 12, 15
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def create(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(per_thread):
                try:
                    with pg.session() as db_session:
                        T.open_ticket(
                            db_session=db_session, kind="complaint", summary=f"{worker}-{n}", line_user_id=f"U{worker}"
                        )
                        if n % 5 == 4:
                            raise _Abandon  # some turns fail after opening: their numbers go back
                except _Abandon:
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=create, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    ids = [r["id"] for r in query(pg.url, "SELECT id FROM tickets")]
    committed = threads * (per_thread - per_thread // 5)
    year = T.year_be(datetime.now(UTC))
    assert len(ids) == len(set(ids)) == committed
    assert sorted(ids) == [f"PM-{year}-{n:06d}" for n in range(1, committed + 1)]
    assert query(pg.url, "SELECT last_value FROM ticket_sequences") == [{"last_value": committed}]


def test_concurrent_deliveries_of_one_event_make_one_ticket_on_postgresql(pg: Database) -> None:
    threads = 8
    barrier = threading.Barrier(threads)
    got: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        barrier.wait()
        with pg.session() as db_session:
            ticket = T.open_ticket(
                db_session=db_session, kind="emergency", summary="x", line_user_id="U", source_event_id="EV-same"
            )
            ticket_id = ticket.id
        with lock:
            got.append(ticket_id)

    workers = [threading.Thread(target=deliver) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    year = T.year_be(datetime.now(UTC))
    assert got == [f"PM-{year}-000001"] * threads
    assert query(pg.url, "SELECT last_value FROM ticket_sequences") == [{"last_value": 1}]  # no number lost
    assert len(query(pg.url, "SELECT id FROM ticket_events")) == 1


def test_concurrent_processes_get_gapless_unique_ids_on_postgresql(pg: Database) -> None:
    processes, per_process = 4, 20
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(processes)
    workers = [spawn.Process(target=create_tickets, args=(pg.url, per_process, w, start)) for w in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * processes
    ids = sorted(r["id"] for r in query(pg.url, "SELECT id FROM tickets"))
    year = T.year_be(datetime.now(UTC))
    assert ids == [f"PM-{year}-{n:06d}" for n in range(1, processes * per_process + 1)]


class _Abandon(Exception):
    pass


# --- through the app: "ข้อมูลของฉัน" and erasure see tickets ---------------------------------------------------


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    with FakeLineServer() as fake:
        yield from start_chat(fake, tmp_path_factory.mktemp("tickets-chat"))


def test_my_data_counts_tickets_and_erasure_clears_them(chat: Chat, tmp_path: Path) -> None:
    uid = "U" + uuid.uuid4().hex
    chat.send(follow(uid))
    chat.send(postback(uid, "consent=general&state=given"))
    database = Database(chat.database_url)
    try:
        with database.session() as db_session:
            for n in range(2):
                T.open_ticket(
                    db_session=db_session,
                    kind="complaint",
                    summary=f"เรื่องที่ {n}",
                    line_user_id=uid,
                    phone="0812345678",
                    secret_key=KEY,
                )
    finally:
        database.dispose()

    [answer] = chat.say(uid, "ข้อมูลของฉัน")
    assert "เรื่องที่แจ้งไว้: 2 เรื่อง" in answer["text"], answer["text"]

    chat.say(uid, "ลบข้อมูลของฉัน")
    chat.say(uid, "ยืนยันลบ")
    rows = chat.rows("SELECT line_user_id, phone_masked, summary FROM tickets WHERE summary = :s", s=T.ERASED_SUMMARY)
    assert len(rows) >= 2 and all(r["line_user_id"] is None and r["phone_masked"] is None for r in rows)
    assert chat.rows("SELECT id FROM tickets WHERE line_user_id = :uid", uid=uid) == []
    [after] = chat.say(uid, "ข้อมูลของฉัน")
    assert "เรื่องที่แจ้งไว้: 0 เรื่อง" in after["text"]
