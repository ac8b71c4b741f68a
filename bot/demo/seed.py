"""Demo data for `helpdesk demo`: two officers of one province and a few tickets as citizens write them.

Idempotent: officers are created once and given a fresh password on every start (printed, so the printed one
always works); tickets are added only to a database without any. The tickets belong to simulated citizens
(not real LINE users): an officer's message to one of them shows up in the fake LINE at /fake-line.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from storage import officers, tickets
from storage.base import utcnow
from storage.db import Database
from storage.officers import OfficerRole

PROVINCE = "นครราชสีมา"


@dataclass(frozen=True)
class DemoOfficer:
    username: str
    role: OfficerRole
    display_name: str


OFFICERS = (
    DemoOfficer("korat", OfficerRole.officer, "สมศรี ใจดี (พมจ.นครราชสีมา)"),
    DemoOfficer("korat.supervisor", OfficerRole.supervisor, "ประยูร มั่นคง (หัวหน้า พมจ.นครราชสีมา)"),
)

# kind, urgency, province, summary, details, hours ago
TICKETS: tuple[tuple[str, str, str | None, str, dict[str, Any], int], ...] = (
    (
        "complaint",
        "normal",
        PROVINCE,
        "ไปยื่นขอเบี้ยคนพิการให้ลูกที่ อบต. มา ๓ รอบแล้ว จนท.บอกให้กลับไปก่อนทุกที ไม่ยอมรับเรื่องเลยค่ะ",
        {"about": "เจ้าหน้าที่ อบต.หนองระเวียง", "what": "ไม่รับเรื่องเบี้ยความพิการ"},
        26,
    ),
    (
        "help_request",
        "urgent",
        PROVINCE,
        "ยายอายุ ๘๑ อยู่คนเดียว ขาไม่ดี ลุกเดินเองไม่ได้แล้ว ข้าวของในบ้านจะหมด อยากให้มีคนมาดูหน่อยจ้า",
        {"for_whom": "ยายข้างบ้าน", "need": "คนดูแล อาหาร", "where": "อ.ปักธงชัย"},
        3,
    ),
    (
        "emergency",
        "urgent",
        PROVINCE,
        "ได้ยินเสียงเด็กร้องไห้กับเสียงตีกันบ้านข้างๆ ทุกคืน เด็กตัวเล็กมาก กลัวจะเป็นอันตราย",
        {"danger": "child_abuse", "where": "ต.ในเมือง อ.เมืองนครราชสีมา"},
        1,
    ),
    (
        "help_request",
        "normal",
        PROVINCE,
        "ตกงานมา 2 เดือน มีลูกเล็ก 2 คน ขอเงินสงเคราะห์ฉุกเฉินได้มั้ยคะ",
        {"for_whom": "ตัวเอง", "need": "เงินสงเคราะห์ครอบครัว"},
        50,
    ),
    (
        "complaint",
        "normal",
        "ขอนแก่น",
        "โทร 1300 แล้วรอสายนานมาก ไม่มีคนรับเลยครับ",
        {"about": "สายด่วน 1300"},
        8,
    ),
)


def seed(db: Database) -> list[tuple[DemoOfficer, str]]:
    """Create (or refresh) the demo officers and, on an empty database, the demo tickets; returns each officer
    with their password for this run."""
    signed: list[tuple[DemoOfficer, str]] = []
    with db.session() as db_session:
        code = officers.province_code(PROVINCE)
        assert code is not None
        for demo in OFFICERS:
            password = secrets.token_urlsafe(9)
            if officers.get_by_username(db_session=db_session, username=demo.username) is None:
                officers.create_officer(
                    db_session=db_session,
                    username=demo.username,
                    password=password,
                    role=demo.role,
                    province_codes=[code],
                    display_name=demo.display_name,
                )
            else:
                officers.set_password(db_session=db_session, username=demo.username, password=password)
            signed.append((demo, password))
        if tickets.count_tickets(db_session=db_session, scope=tickets.Scope.admin()) == 0:
            _seed_tickets(db_session)
    return signed


def _seed_tickets(db_session: Session) -> None:
    now = utcnow()
    for n, (kind, urgency, province, summary, details, hours_ago) in enumerate(TICKETS, start=1):
        opened = now - timedelta(hours=hours_ago)
        tickets.open_ticket(
            db_session=db_session,
            kind=kind,
            urgency=urgency,
            province_code=officers.province_code(province) if province else None,
            summary=summary,
            details=details,
            line_user_id=f"Udemo{n:028x}",
            contact_consent=kind != "emergency",
            first_response_due_at=opened + (timedelta(hours=1) if urgency == "urgent" else timedelta(days=1)),
            resolution_due_at=opened + (timedelta(days=1) if urgency == "urgent" else timedelta(days=15)),
            now=opened,
        )


def sign_in_help(base_url: str, signed: list[tuple[DemoOfficer, str]]) -> str:
    """What `helpdesk demo` prints: the API docs, each officer's username and password, a sign-in example."""
    lines = [f"Officers' API (OpenAPI docs): {base_url}/api/docs — sign in as:"]
    for demo, password in signed:
        lines.append(f"  {demo.role.value:<10} username {demo.username:<17} password {password}   ({PROVINCE})")
    demo, password = signed[0]
    lines.append(f"  e.g. curl -s -d username={demo.username} -d password={password} {base_url}/api/v1/auth/token")
    return "\n".join(lines)
