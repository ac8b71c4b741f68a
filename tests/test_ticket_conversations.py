"""The ticket flows end to end: LINE events through the webhook and the fake LINE, tickets in the database
(SqlTicketPort in the turn's transaction), officers' actions through storage.tickets. Complaints with a
photo and a location, help requests, the emergency's ticket, status / add / withdraw, satisfaction and
reopen, handoff; side questions, cancel, a repeated ยืนยัน and a redelivered event."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from knowledge.loader import get_knowledge
from storage import tickets as T
from storage.db import Database
from tests.conftest import event, text_event, user_id
from tests.support.fake_line import FakeLineServer
from tests.support.heldout import shown_texts
from tests.test_conversation import Chat, start_chat

K = get_knowledge()
TX = K.tickets
HOTLINES = ("1300", "191", "1669", "1323")
KHON_KAEN = {
    "type": "location",
    "title": "บ้าน",
    "address": "123 ถ.มิตรภาพ ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น 40000",
    "latitude": 16.4322,
    "longitude": 102.8236,
}


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    with FakeLineServer() as fake:
        yield from start_chat(fake, tmp_path_factory.mktemp("ticket-flows"))


def said(messages: list[dict[str, Any]]) -> str:
    return "\n".join(shown_texts(messages))


def say(chat: Chat, uid: str, text: str) -> str:
    return said(chat.say(uid, text))


def tap(chat: Chat, uid: str, data: str) -> str:
    return said(chat.send(event(uid, "postback", postback={"data": data})))


def tickets_of(chat: Chat, uid: str) -> list[dict[str, Any]]:
    rows = chat.rows(
        "SELECT id, kind, status, urgency, province_code, summary, details, location, phone_masked, "
        "phone_encrypted, contact_consent, legal_basis FROM tickets WHERE line_user_id = :u ORDER BY id",
        u=uid,
    )
    for row in rows:
        for key in ("details", "location"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
    return rows


def officer(chat: Chat, act: Callable[[Any], object]) -> None:
    """Run an officer's action (storage.tickets with an admin scope) in its own committed transaction."""
    database = Database(chat.database_url)
    try:
        with database.session() as db_session:
            act(db_session)
    finally:
        database.dispose()


def change(chat: Chat, ticket_id: str, *statuses: str) -> None:
    def act(db_session: Any) -> None:
        for status in statuses:
            T.change_status(
                db_session=db_session, scope=T.Scope.admin(1), ticket_id=ticket_id, status=status, actor="o"
            )

    officer(chat, act)


def code_of(chat: Chat, province: str) -> str:
    [row] = chat.rows("SELECT province_code FROM offices WHERE name_th = :n", n=province)
    return str(row["province_code"])


# --- complaint -----------------------------------------------------------------------------------------


def test_a_complaint_with_a_photo_and_a_location_becomes_a_ticket_for_that_province(chat: Chat) -> None:
    uid = user_id("e2e-complaint")
    assert TX.text("complaint_about") in say(chat, uid, "ร้องเรียนเจ้าหน้าที่ศูนย์พูดจาไม่สุภาพ ไม่ยอมรับเรื่อง")
    assert TX.text("province_question") in say(chat, uid, "เจ้าหน้าที่ผู้ชายที่เคาน์เตอร์ ไม่ทราบชื่อ")
    assert TX.text("contact_question") in said(chat.message(uid, KHON_KAEN))
    assert TX.text("phone_question") in tap(chat, uid, "answer=yes")
    assert TX.text("photo_question") in say(chat, uid, "081-234-5678")
    summary = said(chat.message(uid, {"type": "image"}))
    assert "ขอนแก่น" in summary and "081-xxx-5678" in summary and "มีรูปแนบ" in summary
    assert "0812345678" not in summary and not tickets_of(chat, uid)
    done = say(chat, uid, "ยืนยัน")
    [ticket] = tickets_of(chat, uid)
    assert ticket["id"] in done and ticket["id"].startswith("PM-25")
    assert ticket["kind"] == "complaint" and ticket["status"] == "new"
    assert ticket["province_code"] == code_of(chat, "ขอนแก่น")
    assert ticket["phone_masked"] and "5678" in ticket["phone_masked"] and ticket["contact_consent"]
    assert ticket["phone_encrypted"] and "0812345678" not in str(ticket["phone_encrypted"])
    assert ticket["location"]["latitude"] == pytest.approx(16.4322)
    attached = chat.rows("SELECT attachment_id FROM ticket_attachments WHERE ticket_id = :t", t=ticket["id"])
    assert len(attached) == 1
    assert say(chat, uid, "ยืนยัน") and len(tickets_of(chat, uid)) == 1, "a repeated ยืนยัน makes no second ticket"


def test_a_redelivered_confirm_makes_one_ticket(chat: Chat) -> None:
    uid = user_id("e2e-redelivered")
    say(chat, uid, "ร้องเรียน อบต.ไม่จ่ายเบี้ยคนพิการ 3 เดือนแล้ว")
    say(chat, uid, "อบต.บ้านนา")
    say(chat, uid, "อุดร")
    tap(chat, uid, "answer=no")
    assert "ยืนยัน" in tap(chat, uid, "slot=photo&value=none")
    confirm = text_event(uid, "ยืนยัน")
    first = said(chat.send(confirm))
    chat.settle(
        {**confirm, "replyToken": "redelivered-" + confirm["replyToken"], "deliveryContext": {"isRedelivery": True}}
    )
    [ticket] = tickets_of(chat, uid)
    assert ticket["id"] in first and ticket["province_code"] == code_of(chat, "อุดรธานี")


def test_a_side_question_mid_complaint_then_the_form_goes_on(chat: Chat) -> None:
    uid = user_id("e2e-side-question")
    say(chat, uid, "ร้องเรียน")
    say(chat, uid, "รอทำบัตรคนพิการนานมาก")
    messages = chat.say(uid, "บัตรคนจนลงทะเบียนยังไง")
    assert "กระทรวงการคลัง" in said(messages)
    assert TX.text("complaint_about") in said(messages[-1:])
    assert TX.text("province_question") in say(chat, uid, "โรงพยาบาลจังหวัด")


@pytest.mark.parametrize("words", ["ยกเลิก", "ยกเลิกค่ะ ไม่เอาแล้ว", "พอแล้ว"])
def test_cancel_leaves_the_complaint_without_a_ticket(chat: Chat, words: str) -> None:
    uid = user_id(f"e2e-cancel-{words}")
    say(chat, uid, "ร้องเรียน")
    say(chat, uid, "ศูนย์ไม่รับโทรศัพท์")
    assert K.replies.cancelled in say(chat, uid, words)
    assert not tickets_of(chat, uid)


# --- help request --------------------------------------------------------------------------------------


def test_a_help_request_with_a_location_raised_to_urgent(chat: Chat) -> None:
    uid = user_id("e2e-help")
    assert TX.text("province_question") in say(chat, uid, "ขอความช่วยเหลือค่ะ ยายอายุ 85 อยู่คนเดียว ไม่มีข้าวกิน")
    assert TX.text("contact_question") in said(chat.message(uid, KHON_KAEN))
    tap(chat, uid, "answer=yes")
    summary = say(chat, uid, "๐๘๙๑๒๓๔๕๖๗")
    assert "ด่วน" in summary and "089-xxx-4567" in summary
    done = say(chat, uid, "ยืนยัน")
    [ticket] = tickets_of(chat, uid)
    assert ticket["id"] in done and ticket["kind"] == "help_request" and ticket["urgency"] == "urgent"
    assert ticket["province_code"] == code_of(chat, "ขอนแก่น")
    assert ticket["details"]["urgent_signs"] == ["alone", "no_food"]


# --- emergency ---------------------------------------------------------------------------------------


def test_the_emergency_officer_button_opens_an_urgent_ticket_after_the_hotlines(chat: Chat) -> None:
    uid = user_id("e2e-emergency")
    first = chat.say(uid, "ผัวเมาแล้วทำร้ายฉันค่ะ")
    assert all(n in first[0]["text"] for n in HOTLINES) and not tickets_of(chat, uid)
    assert TX.text("emergency_province").splitlines()[0] in tap(chat, uid, "emergency=officer")
    done = say(chat, uid, "เชียงราย")
    [ticket] = tickets_of(chat, uid)
    assert ticket["id"] in done and ticket["kind"] == "emergency" and ticket["urgency"] == "urgent"
    assert ticket["province_code"] == code_of(chat, "เชียงราย") and ticket["legal_basis"] is None
    follow_up = say(chat, uid, "ต้องทำยังไงต่อคะ")
    assert "191" in follow_up, "the emergency context goes on"


def test_danger_to_a_child_opens_the_ticket_at_once_hotlines_first(chat: Chat) -> None:
    uid = user_id("e2e-child")
    messages = chat.say(uid, "พ่อเลี้ยงทำร้ายหลาน 5 ขวบ ที่นครพนม")
    assert all(n in messages[0]["text"] for n in HOTLINES), "the hotlines are the first message"
    [ticket] = tickets_of(chat, uid)
    assert ticket["id"] in said(messages[1:]) and ticket["legal_basis"] == "child_in_danger"
    assert ticket["urgency"] == "urgent" and ticket["province_code"] == code_of(chat, "นครพนม")
    assert ticket["id"] in tap(chat, uid, "emergency=officer") and len(tickets_of(chat, uid)) == 1


# --- status, add, withdraw, satisfaction, reopen --------------------------------------------------------


def complaint_for(chat: Chat, uid: str, province: str = "ลำปาง") -> str:
    say(chat, uid, "ร้องเรียน รถรับส่งคนพิการไม่มาตามนัด")
    say(chat, uid, "ศูนย์บริการคนพิการ")
    say(chat, uid, province)
    tap(chat, uid, "answer=no")
    tap(chat, uid, "slot=photo&value=none")
    say(chat, uid, "ยืนยัน")
    return str(tickets_of(chat, uid)[-1]["id"])


def test_my_tickets_their_status_adding_a_photo_and_withdrawing(chat: Chat) -> None:
    uid = user_id("e2e-status")
    ticket_id = complaint_for(chat, uid)
    someone_else = complaint_for(chat, user_id("e2e-status-other"))
    officer(
        chat,
        lambda s: T.add_public_message(
            db_session=s, scope=T.Scope.admin(1), ticket_id=ticket_id, text="โทรนัดวันใหม่แล้วค่ะ", actor="o"
        ),
    )
    mine = say(chat, uid, "เรื่องของฉัน")
    assert ticket_id in mine and someone_else not in mine and "โทรนัดวันใหม่แล้วค่ะ" in mine
    assert TX.text("status_not_found", ticket_id=someone_else) in say(chat, uid, f"ติดตามเรื่อง {someone_else}")
    assert TX.text("add_question", ticket_id=ticket_id) in tap(chat, uid, f"ticket={ticket_id}&do=add")
    assert TX.text("add_done", ticket_id=ticket_id) in said(chat.message(uid, {"type": "image"}))
    events = chat.rows("SELECT type FROM ticket_events WHERE ticket_id = :t ORDER BY id", t=ticket_id)
    assert events[-1]["type"] == "citizen_message"
    assert "ยืนยัน" in tap(chat, uid, f"ticket={ticket_id}&do=withdraw")
    assert TX.text("withdraw_done", ticket_id=ticket_id) in say(chat, uid, "ยืนยัน")
    assert tickets_of(chat, uid)[0]["status"] == "closed"
    assert TX.text("status_not_found", ticket_id=someone_else) in tap(chat, uid, f"ticket={someone_else}&do=withdraw")


def test_after_resolved_a_rating_a_comment_and_a_reopen(chat: Chat) -> None:
    uid = user_id("e2e-rating")
    ticket_id = complaint_for(chat, uid, "แพร่")
    change(chat, ticket_id, "acknowledged", "resolved")
    pushes = chat.rows("SELECT messages FROM outbox WHERE line_user_id = :u ORDER BY id", u=uid)
    resolved_push = str(pushes[-1]["messages"])
    assert ticket_id in resolved_push and f"ticket={ticket_id}&rate=5" in resolved_push
    assert f"ticket={ticket_id}&do=reopen" in resolved_push, "the push offers the rating and the reopen"
    assert TX.text("rate_thanks") in tap(chat, uid, f"ticket={ticket_id}&rate=2")
    assert TX.text("comment_thanks") in say(chat, uid, "รอนานเกินไปค่ะ")
    [row] = chat.rows("SELECT satisfaction FROM tickets WHERE id = :t", t=ticket_id)
    assert row["satisfaction"] == 2
    assert TX.text("reopen_done", ticket_id=ticket_id).splitlines()[0] in say(chat, uid, "ยังไม่ได้รับการแก้ไขค่ะ")
    assert tickets_of(chat, uid)[0]["status"] == "in_progress"


# --- handoff ------------------------------------------------------------------------------------------


def test_a_handoff_while_held_routes_messages_into_the_ticket_but_danger_gets_the_hotlines(chat: Chat) -> None:
    uid = user_id("e2e-handoff")
    say(chat, uid, "ขอคุยกับเจ้าหน้าที่ค่ะ")
    say(chat, uid, "เรื่องเงินสงเคราะห์ที่ยื่นไว้")
    assert "ยืนยัน" in say(chat, uid, "พะเยา")
    say(chat, uid, "ยืนยัน")
    [ticket] = tickets_of(chat, uid)
    assert ticket["kind"] == "handoff" and ticket["province_code"] == code_of(chat, "พะเยา")
    officer(
        chat,
        lambda s: T.assign(db_session=s, scope=T.Scope.admin(1), ticket_id=ticket["id"], assignee_id=1, actor="o"),
    )
    assert TX.text("handoff_forwarded") in say(chat, uid, "เบี้ยผู้สูงอายุเข้าวันไหนคะ")
    urgent = chat.say(uid, "มีคนจะฆ่าตัวตายค่ะ")
    assert all(n in urgent[0]["text"] for n in HOTLINES)
    texts = chat.rows(
        "SELECT data FROM ticket_events WHERE ticket_id = :t AND type = 'citizen_message' ORDER BY id", t=ticket["id"]
    )
    datas = [json.loads(r["data"]) if isinstance(r["data"], str) else r["data"] for r in texts]
    assert [d.get("text") for d in datas] == ["เบี้ยผู้สูงอายุเข้าวันไหนคะ"]
