"""The officers' ticket API through the real app: scope by province on every endpoint (nothing leaks through a
list, a search or a count), the status machine (409), assignment, transfers only the receiving province may
answer, referrals, collaborators, the audit log, and an officer's message reaching the citizen's LINE."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from console.security import create_access_token
from storage import officers, tickets
from storage.db import Database
from storage.officers import AuditEntry, OfficerRole
from tests.conftest import RunningApp, make_settings, user_id
from tests.support.fake_line import FakeLine

SECRET_KEY = "test-secret-key"
KORAT, KHONKAEN, CHIANGMAI = "30", "40", "50"
PASSWORD = "ดอกคูน-2569-ขอนแก่น"


@dataclass
class World:
    app: RunningApp
    db: Database
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def add_officer(self, username: str, role: OfficerRole, provinces: list[str], **extra: Any) -> None:
        with self.db.session() as s:
            officer = officers.create_officer(
                db_session=s, username=username, password=PASSWORD, role=role, province_codes=provinces, **extra
            )
            self.ids[username] = officer.id
        self.tokens[username] = create_access_token(secret=SECRET_KEY, officer_id=self.ids[username])

    def open(self, summary: str, *, province: str | None, **extra: Any) -> str:
        with self.db.session() as s:
            values: dict[str, Any] = {"kind": "complaint", "line_user_id": user_id(summary)}
            values.update(extra)
            ticket = tickets.open_ticket(
                db_session=s, summary=summary, province_code=province, secret_key=SECRET_KEY, **values
            )
            return ticket.id

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.request(method, f"{self.app.url}/api/v1{path}", headers=headers, timeout=10, **kwargs)

    def history_length(self, ticket_id: str) -> int:
        with self.db.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(tickets.TicketEvent)
                    .where(tickets.TicketEvent.ticket_id == ticket_id)
                )
                or 0
            )


def build_world(database_url: str, fake: FakeLine) -> Iterator[World]:
    with RunningApp(make_settings(database_url, fake)) as app:
        db = Database(database_url)
        world = World(app, db)
        world.add_officer("korat", OfficerRole.officer, [KORAT], line_user_id=user_id("korat-officer"))
        world.add_officer("korat2", OfficerRole.officer, [KORAT])
        world.add_officer("korat_sup", OfficerRole.supervisor, [KORAT])
        world.add_officer("khonkaen", OfficerRole.officer, [KHONKAEN])
        world.add_officer("chiangmai", OfficerRole.officer, [CHIANGMAI])
        world.add_officer("admin", OfficerRole.admin, [])
        try:
            yield world
        finally:
            db.dispose()


@pytest.fixture
def world(sqlite_url: str, fake_line: FakeLine) -> Iterator[World]:
    yield from build_world(sqlite_url, fake_line)


def test_the_list_is_the_callers_province_only(world: World) -> None:
    mine = [
        world.open("ผู้ใหญ่บ้านไม่ยอมเซ็นเอกสารเบี้ยคนพิการให้ค่ะ", province=KORAT),
        world.open("แม่อายุ๗๒ ยังไม่ได้เบี้ยผู้สูงอายุเลย", province=KORAT, urgency="urgent", kind="help_request"),
    ]
    theirs = world.open("จนท.พูดจาไม่ดีตอนไปติดต่อที่ พมจ ขอนแก่น", province=KHONKAEN, phone="0812345678")
    world.open("ไม่รู้จังหวัด อยากร้องเรียน", province=None)  # the central queue
    listed = world.call("korat", "GET", "/tickets")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 2
    assert [t["id"] for t in body["items"]] == [mine[1], mine[0]]  # urgent first
    first = body["items"][0]
    assert first["province"] == "นครราชสีมา"
    assert first["urgency"] == "urgent" and first["kind"] == "help_request" and first["status"] == "new"
    assert {"id", "kind", "status", "urgency", "province", "created_at", "due_at"} <= set(first)
    assert "line_user_id" not in first
    # Searching, filtering or paging never reveals another province's ticket, nor counts it.
    for query in (
        {"q": "ขอนแก่น"},
        {"q": theirs},
        {"q": theirs.lower()},
        {"province": "ขอนแก่น"},
        {"province": KHONKAEN},
        {"kind": "complaint", "status": "new"},
        {"page": 2, "page_size": 1},
        {"overdue": "false"},
    ):
        answer = world.call("korat", "GET", "/tickets", params=query).json()
        assert theirs not in [t["id"] for t in answer["items"]], query
        assert answer["total"] <= 2, query
    assert world.call("korat", "GET", "/tickets", params={"q": "ขอนแก่น"}).json()["total"] == 0
    assert world.call("korat", "GET", "/tickets", params={"q": "เบี้ยผู้สูงอายุ"}).json()["total"] == 1
    everything = world.call("admin", "GET", "/tickets").json()
    assert everything["total"] == 4
    their_view = world.call("khonkaen", "GET", "/tickets").json()
    assert [t["id"] for t in their_view["items"]] == [theirs]
    assert their_view["items"][0]["phone"] == tickets.mask_phone("0812345678")
    assert "0812345678" not in world.call("khonkaen", "GET", f"/tickets/{theirs}").text
    assert world.call("korat", "GET", "/tickets", params={"status": "bogus"}).status_code == 422


def test_every_endpoint_refuses_another_provinces_ticket(world: World) -> None:
    theirs = world.open("ขอความช่วยเหลือ ลูกพิการ อยู่ขอนแก่น", province=KHONKAEN, contact_consent=True)
    before = world.history_length(theirs)
    for method, path, body in (
        ("GET", f"/tickets/{theirs}", None),
        ("GET", f"/tickets/{theirs.lower()}", None),
        ("PATCH", f"/tickets/{theirs}", {"status": "acknowledged"}),
        ("PATCH", f"/tickets/{theirs}", {"assignee": "korat"}),
        ("POST", f"/tickets/{theirs}/messages", {"text": "สวัสดีค่ะ"}),
        ("POST", f"/tickets/{theirs}/notes", {"text": "โน้ต"}),
        ("POST", f"/tickets/{theirs}/transfers", {"to_province": "นครราชสีมา", "reason": "ขอรับเรื่อง"}),
        ("POST", f"/tickets/{theirs}/referrals", {"agency": "รพ.", "note": "ส่งต่อ", "basis": "consent"}),
        ("POST", f"/tickets/{theirs}/collaborators", {"province": "นครราชสีมา"}),
    ):
        for who in ("korat", "korat_sup", "chiangmai"):
            answer = world.call(who, method, path, json=body)
            assert answer.status_code == 404, (who, method, path, answer.text)
            assert answer.json()["message"] == f"ticket {path.split('/')[2]} not found"
    assert world.history_length(theirs) == before
    assert world.call("khonkaen", "GET", f"/tickets/{theirs}").status_code == 200
    assert world.call("admin", "GET", f"/tickets/{theirs}").status_code == 200
    assert world.call("korat", "GET", "/tickets/PM-2569-999999").status_code == 404


def test_detail_has_the_history_and_every_read_is_audited(world: World) -> None:
    ticket_id = world.open("โดนโกงเงินสงเคราะห์ค่ะ", province=KORAT)
    assert (
        world.call("korat", "POST", f"/tickets/{ticket_id}/notes", json={"text": "โทรกลับแล้ว ไม่มีคนรับ"}).status_code
        == 201
    )
    detail = world.call("korat", "GET", f"/tickets/{ticket_id}")
    assert detail.status_code == 200
    history = detail.json()["history"]
    assert [(h["type"], h["visibility"]) for h in history] == [("opened", "public"), ("note", "internal")]
    assert history[1]["actor"] == "officer:korat"
    assert {"type", "at", "actor", "visibility"} <= set(history[0])
    world.call("korat2", "GET", "/tickets", params={"q": "โกง"})
    with world.db.session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        reads = [(e.officer_id, e.action, e.ticket_id) for e in entries]
        assert (world.ids["korat"], "ticket.read", ticket_id) in reads
        [listing] = [e for e in entries if e.action == "ticket.list"]
        assert listing.officer_id == world.ids["korat2"] and listing.detail["tickets"] == [ticket_id]
        assert listing.detail["filters"] == {"q": True}  # not the search text: it may name a person
    # A refused read is no read: nothing is audited for it.
    world.call("khonkaen", "GET", f"/tickets/{ticket_id}")
    with world.db.session() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.officer_id == world.ids["khonkaen"])).all() == []


def test_forbidden_transitions_are_409(world: World) -> None:
    ticket_id = world.open("ขอเปลี่ยนที่อยู่รับเบี้ย", province=KORAT)
    patch = lambda status: world.call("korat", "PATCH", f"/tickets/{ticket_id}", json={"status": status})  # noqa: E731
    refused = patch("resolved")
    assert refused.status_code == 409
    assert "new" in refused.json()["message"] and "resolved" in refused.json()["message"]
    assert patch("waiting_citizen").status_code == 409
    assert patch("bogus").status_code == 409
    ok = patch("acknowledged")
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"
    assert patch("new").status_code == 409
    assert patch("resolved").status_code == 200
    assert patch("in_progress").status_code == 200  # reopened
    assert patch("closed").status_code == 200
    for status in ("new", "acknowledged", "in_progress", "waiting_citizen", "resolved"):
        assert patch(status).status_code == 409
    history = world.call("korat", "GET", f"/tickets/{ticket_id}").json()["history"]
    statuses = [h["data"]["to"] for h in history if h["type"] == "status_changed"]  # SLA events come between
    assert statuses == ["acknowledged", "resolved", "in_progress", "closed"]


def test_assignment_within_the_province(world: World) -> None:
    ticket_id = world.open("อยากได้รถเข็นให้แม่ค่ะ", province=KORAT, kind="help_request")
    given = world.call("korat_sup", "PATCH", f"/tickets/{ticket_id}", json={"assignee": "korat2"})
    assert given.status_code == 200 and given.json()["assignee"] == "korat2"
    elsewhere = world.call("korat_sup", "PATCH", f"/tickets/{ticket_id}", json={"assignee": "khonkaen"})
    assert elsewhere.status_code == 422 and "province" in elsewhere.json()["message"]
    assert world.call("korat", "PATCH", f"/tickets/{ticket_id}", json={"assignee": "nobody"}).status_code == 422
    both = world.call("korat", "PATCH", f"/tickets/{ticket_id}", json={"assignee": None, "status": "in_progress"})
    assert both.status_code == 200
    assert both.json()["assignee"] is None and both.json()["status"] == "in_progress"
    assert world.call("korat", "PATCH", f"/tickets/{ticket_id}", json={}).status_code == 422
    listed = world.call("korat", "GET", "/tickets").json()["items"][0]
    assert listed["assignee"] is None


def test_only_the_receiving_province_answers_a_transfer(world: World) -> None:
    ticket_id = world.open("ย้ายไปอยู่กับลูกที่ขอนแก่นแล้วค่ะ อยากให้ดูแลเรื่องต่อ", province=KORAT)
    asked = world.call(
        "korat", "POST", f"/tickets/{ticket_id}/transfers", json={"to_province": "ขอนแก่น", "reason": "ผู้ร้องย้ายบ้าน"}
    )
    assert asked.status_code == 201, asked.text
    transfer = asked.json()
    assert transfer["status"] == "requested" and isinstance(transfer["id"], int)
    assert transfer["to_province"] == "ขอนแก่น"
    for who in ("korat", "korat2", "korat_sup", "chiangmai"):  # the requester included
        answer = world.call(who, "POST", f"/transfers/{transfer['id']}/accept", json={})
        assert answer.status_code == 403, (who, answer.text)
        assert world.call(who, "POST", f"/transfers/{transfer['id']}/reject", json={"reason": "x"}).status_code == 403
    assert world.call("khonkaen", "POST", "/transfers/999999/accept").status_code == 404
    assert world.call("korat", "GET", f"/tickets/{ticket_id}").status_code == 200  # still Korat's
    # The receiving province sees it while it waits, to decide.
    assert world.call("khonkaen", "GET", f"/tickets/{ticket_id}").status_code == 200
    accepted = world.call("khonkaen", "POST", f"/transfers/{transfer['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert world.call("khonkaen", "POST", f"/transfers/{transfer['id']}/reject", json={}).status_code == 409
    assert world.call("korat", "GET", f"/tickets/{ticket_id}").status_code == 404
    assert world.call("korat", "GET", "/tickets").json()["total"] == 0
    moved = world.call("khonkaen", "GET", f"/tickets/{ticket_id}").json()
    assert moved["province"] == "ขอนแก่น"
    assert [h["type"] for h in moved["history"]][-2:] == ["transfer_requested", "transfer_accepted"]


def test_a_rejected_transfer_leaves_the_ticket_where_it_was(world: World) -> None:
    ticket_id = world.open("เรื่องที่ดินทำกิน", province=KORAT)
    transfer = world.call("korat", "POST", f"/tickets/{ticket_id}/transfers", json={"to_province": KHONKAEN}).json()
    rejected = world.call("khonkaen", "POST", f"/transfers/{transfer['id']}/reject", json={"reason": "ไม่ใช่พื้นที่เรา"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert world.call("korat", "GET", f"/tickets/{ticket_id}").json()["province"] == "นครราชสีมา"
    assert world.call("khonkaen", "GET", f"/tickets/{ticket_id}").status_code == 404
    assert (
        world.call("korat", "POST", f"/tickets/{ticket_id}/transfers", json={"to_province": "นครราชสีมา"}).status_code
        == 409
    )


def test_referrals_need_consent_or_a_legal_basis(world: World) -> None:
    consented = world.open("ขอให้ส่งเรื่องต่อ รพ.สต. ด้วยค่ะ", province=KORAT, contact_consent=True)
    made = world.call(
        "korat", "POST", f"/tickets/{consented}/referrals", json={"agency": "รพ.สต.บ้านโนน", "note": "เยี่ยมบ้าน"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "requested" and made.json()["basis"] == "consent"
    bare = world.open("เรื่องทั่วไป", province=KORAT)
    refused = world.call("korat", "POST", f"/tickets/{bare}/referrals", json={"agency": "อบต.", "note": ""})
    assert refused.status_code == 422 and "consent" in refused.json()["message"]
    legal = world.call(
        "korat",
        "POST",
        f"/tickets/{bare}/referrals",
        json={"agency": "อบต.", "note": "", "basis": "legal:พ.ร.บ.คุ้มครองเด็ก ม.29"},
    )
    assert legal.status_code == 201
    referral_id = made.json()["id"]
    assert (
        world.call("korat", "PATCH", f"/referrals/{referral_id}", json={"status": "done_successful"}).status_code == 409
    )
    assert world.call("korat", "PATCH", f"/referrals/{referral_id}", json={"status": "accepted"}).status_code == 200
    assert world.call("khonkaen", "PATCH", f"/referrals/{referral_id}", json={"status": "revoked"}).status_code == 404


def test_a_collaborating_office_reads_and_notes_but_does_not_work_the_ticket(world: World) -> None:
    ticket_id = world.open("เด็กในชุมชนไม่ได้ไปโรงเรียน พ่อแม่ไปทำงานขอนแก่น", province=KORAT)
    invited = world.call("korat", "POST", f"/tickets/{ticket_id}/collaborators", json={"province": "ขอนแก่น"})
    assert invited.status_code == 201 and invited.json()["province"] == "ขอนแก่น"
    assert world.call("khonkaen", "GET", f"/tickets/{ticket_id}").status_code == 200
    assert world.call("khonkaen", "GET", "/tickets").json()["total"] == 1
    assert (
        world.call("khonkaen", "POST", f"/tickets/{ticket_id}/notes", json={"text": "ติดต่อพ่อแม่ได้แล้ว"}).status_code == 201
    )
    for method, path, body in (
        ("PATCH", f"/tickets/{ticket_id}", {"status": "acknowledged"}),
        ("POST", f"/tickets/{ticket_id}/messages", {"text": "สวัสดีค่ะ"}),
        ("POST", f"/tickets/{ticket_id}/transfers", {"to_province": "ขอนแก่น"}),
    ):
        assert world.call("khonkaen", method, path, json=body).status_code == 403, path
    assert world.call("chiangmai", "GET", f"/tickets/{ticket_id}").status_code == 404


def test_messages_and_notes(world: World) -> None:
    ticket_id = world.open("ขอทราบความคืบหน้าเรื่องบ้านพังค่ะ", province=KORAT)
    message = world.call("korat", "POST", f"/tickets/{ticket_id}/messages", json={"text": "เจ้าหน้าที่จะลงพื้นที่วันพรุ่งนี้ค่ะ"})
    assert message.status_code == 201
    assert message.json()["visibility"] == "public" and message.json()["type"] == "message"
    note = world.call("korat", "POST", f"/tickets/{ticket_id}/notes", json={"text": "นัดช่างแล้ว"})
    assert note.status_code == 201 and note.json()["visibility"] == "internal"
    assert world.call("korat", "POST", f"/tickets/{ticket_id}/messages", json={"text": ""}).status_code == 422
    assert world.call("korat", "POST", f"/tickets/{ticket_id}/messages", json={}).status_code == 422


def test_postgres_scope_holds_too(postgres_url: str, fake_line: FakeLine) -> None:
    for world in build_world(postgres_url, fake_line):
        mine = world.open("เบี้ยยังไม่เข้าเลยค่ะ", province=KORAT)
        theirs = world.open("เบี้ยยังไม่เข้าเลยจ้า", province=KHONKAEN)
        listed = world.call("korat", "GET", "/tickets", params={"q": "เบี้ย"}).json()
        assert [t["id"] for t in listed["items"]] == [mine] and listed["total"] == 1
        assert world.call("korat", "GET", f"/tickets/{theirs}").status_code == 404
        assert world.call("korat", "PATCH", f"/tickets/{mine}", json={"status": "closed"}).status_code == 200
        assert world.call("korat", "PATCH", f"/tickets/{mine}", json={"status": "new"}).status_code == 409


PUSH = "/v2/bot/message/push"


def test_an_officers_message_reaches_the_citizen_once_even_when_line_fails_first(
    world: World, fake_line: FakeLine
) -> None:
    citizen = user_id("citizen-with-a-broken-roof")
    ticket_id = world.open("หลังคาบ้านพังเพราะพายุ ขอความช่วยเหลือค่ะ", province=KORAT, line_user_id=citizen)
    text = "เจ้าหน้าที่จะลงพื้นที่ดูหลังคาบ้านวันพฤหัสนี้นะคะ"
    with fake_line.lock:
        fake_line.answers("push").append(500)
    posted = world.call("korat", "POST", f"/tickets/{ticket_id}/messages", json={"text": text})
    assert posted.status_code == 201

    def delivered() -> list[Any]:
        return [m for m in fake_line.messages_to(citizen) if text in str(m)]

    assert fake_line.wait_for(lambda _: bool(delivered()), timeout=10), fake_line.calls_to(PUSH)
    calls = [c for c in fake_line.calls_to(PUSH) if c.body.get("to") == citizen]
    assert [c.status for c in calls] == [500, 200]
    assert len({c.headers.get("x-line-retry-key") for c in calls}) == 1  # the same push, retried
    body = str(delivered()[0])
    assert ticket_id in body  # the citizen can tell which of their tickets it is about
    time.sleep(2.5)  # a relay round later: still once
    assert len(delivered()) == 1
    note = world.call("korat", "POST", f"/tickets/{ticket_id}/notes", json={"text": "ภายใน: ช่างว่างวันพฤหัส"})
    assert note.status_code == 201
    time.sleep(2.5)
    assert not [m for m in fake_line.messages_to(citizen) if "ภายใน" in str(m)]  # a note is never sent
