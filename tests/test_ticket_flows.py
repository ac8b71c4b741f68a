"""The ticket flows through the dialogue engine with the real NLU and the in-memory FakeTicketPort: complaint,
help request, emergency ticket, status / add / withdraw, satisfaction and reopen, handoff. No LINE, no
database: what the handlers decide and what they ask the port to do."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot import engine
from bot.nlu import understand
from bot.nlu.coordinates import understand_location
from handlers import forms
from handlers.base import (
    REOPEN_DAYS,
    AttachmentInfo,
    CardReply,
    DialogueState,
    EventKind,
    LocationInfo,
    NewTicket,
    Outcome,
    Person,
    TextReply,
    Turn,
    Understanding,
)
from handlers.ticket_status import resolved_message
from knowledge.loader import get_knowledge
from storage.tickets import mask_phone
from tests.support.fake_tickets import FakeTicket, FakeTicketPort

K = get_knowledge()
T = K.tickets
HOTLINES = ("1300", "191", "1669", "1323")


@dataclass
class Talk:
    """One person talking to the engine; the state carries over as it would through the database."""

    port: FakeTicketPort = field(default_factory=FakeTicketPort)
    state: DialogueState = field(default_factory=DialogueState)
    handlers: list[str] = field(default_factory=list)
    now: float = field(default_factory=time.time)
    events: int = 0

    def turn(self, kind: EventKind, understanding: Understanding, **extra: Any) -> Outcome:
        self.events += 1
        self.port.source_event_id = f"event-{self.port.line_user_id}-{self.events}"
        self.now += 5
        self.port.now = self.now
        turn = Turn(
            person=Person(self.port.line_user_id, None, "given", False),
            kind=kind,
            understanding=understanding,
            state=self.state,
            now=self.now,
            tickets=self.port,
            **extra,
        )
        name, outcome = engine.run_turn(turn, K)
        self.handlers.append(name)
        assert outcome.state is not None
        self.state = outcome.state
        return outcome

    def say(self, text: str) -> str:
        expect = self.state.expect or self.state.requested_slot
        understanding = understand(text, expect if expect in forms.EXPECTABLE else None)
        return said(self.turn(EventKind.text, understanding, text=text))

    def tap(self, data: str, text: str | None = None) -> str:
        understanding = understand(data) if "=" not in data else Understanding("out_of_scope", 0.0)
        return said(self.turn(EventKind.postback, understanding, postback_data=data, text=text))

    def photo(self, attachment_id: int = 41) -> str:
        attachment = AttachmentInfo(attachment_id, "image", None, 1000, False, True, 10_000_000)
        return said(self.turn(EventKind.image, Understanding("out_of_scope", 0.0), attachment=attachment))

    def location(self, address: str | None, latitude: float = 16.43, longitude: float = 102.83) -> str:
        where = LocationInfo(latitude, longitude, address, "ที่นี่")
        understanding = understand_location(latitude, longitude, address)  # as bot/processing.py reads it
        return said(self.turn(EventKind.location, understanding, location=where))

    @property
    def last(self) -> str:
        return self.handlers[-1]


def said(outcome: Outcome) -> str:
    parts: list[str] = []
    for reply in outcome.replies:
        if isinstance(reply, TextReply):
            parts.append(reply.text)
            parts += [b.label for b in reply.quick_replies]
        elif isinstance(reply, CardReply):
            parts.append(reply.alt_text)
    return "\n".join(parts)


def only_ticket(port: FakeTicketPort) -> FakeTicket:
    tickets = list(port.tickets.values())
    assert len(tickets) == 1, [t.id for t in tickets]
    return tickets[0]


def other(port: FakeTicketPort, line_user_id: str = "U-other") -> FakeTicketPort:
    """Another person, same ticket store."""
    return FakeTicketPort(line_user_id, store=port.store, now=port.now)


def additions(port: FakeTicketPort, ticket_id: str) -> list[tuple[str | None, int | None]]:
    """What the citizen added to the ticket: (text, attachment) per message."""
    return [
        (data.get("text"), data.get("attachment_id"))
        for kind, _, _, _, data in port.tickets[ticket_id].events
        if kind == "citizen_message"
    ]


def resolve(port: FakeTicketPort, ticket_id: str, at: float) -> None:
    """An officer acknowledges then resolves the ticket at `at`."""
    now = port.now
    port.now = at
    port.set_status(ticket_id, "acknowledged")
    port.set_status(ticket_id, "resolved")
    port.now = now


# --- complaint -----------------------------------------------------------------------------------------


def test_a_complaint_from_its_first_message_to_the_ticket_id() -> None:
    talk = Talk()
    reply = talk.say("ร้องเรียนเจ้าหน้าที่ที่ศูนย์ พูดจาไม่ดี ไม่ยอมรับเรื่อง")
    assert T.text("complaint_about") in reply, "the story is taken from the first message; next: about whom"
    assert T.text("province_question") in talk.say("เจ้าหน้าที่ผู้หญิงที่ พมจ. ไม่ทราบชื่อ")
    assert T.text("contact_question") in talk.say("โคราชค่ะ")
    assert T.text("phone_question") in talk.tap("answer=yes", "โทรกลับได้ค่ะ")
    assert T.text("phone_invalid") in talk.say("08123")  # too short: said why, asked again
    assert T.text("photo_question") in talk.say("๐๘๑-๒๓๔-๕๖๗๘")
    summary = talk.photo(77)
    assert "081-xxx-5678" in summary and "0812345678" not in summary, "the summary shows the phone masked"
    assert "นครราชสีมา" in summary and "มีรูปแนบ" in summary
    assert not talk.port.tickets, "nothing is opened before ยืนยัน"
    done = talk.say("ยืนยัน")
    ticket = only_ticket(talk.port)
    ticket_id = only_ticket(talk.port).id
    assert ticket_id in done and "สำนักงานพัฒนาสังคมและความมั่นคงของมนุษย์จังหวัดนครราชสีมา" in done
    assert ticket.kind == "complaint" and ticket.province == "นครราชสีมา"
    assert ticket.phone_masked == mask_phone("0812345678") and ticket.contact_consent is True
    assert ticket.attachment_ids == [77]
    assert "phone" not in ticket.details and ticket.details["what"].startswith("ร้องเรียนเจ้าหน้าที่")
    assert talk.state.form is None


def test_a_repeated_confirm_never_makes_a_second_ticket() -> None:
    talk = Talk()
    talk.say("ร้องเรียนค่ะ")
    talk.say("รอเบี้ยคนพิการมา 3 เดือนแล้วไม่ได้สักที")
    talk.say("อบต.บ้านนา")
    talk.say("ขอนแก่น")
    talk.tap("answer=no", "ไม่ต้องโทร ตอบในแชตนี้")
    talk.tap("slot=photo&value=none", "ไม่มีรูป")
    first = talk.say("ยืนยัน")
    second = talk.say("ยืนยัน")
    third = talk.say("ยืนยันค่ะ")
    assert len(talk.port.tickets) == 1
    ticket_id = only_ticket(talk.port).id
    assert ticket_id in first and ticket_id not in second + third
    ticket = only_ticket(talk.port)
    assert ticket.phone_masked is None and ticket.contact_consent is False and ticket.attachment_ids == []


def test_a_redelivered_confirm_event_returns_the_same_ticket() -> None:
    port = FakeTicketPort()
    port.source_event_id = "same-event"
    first = port.open(NewTicket(kind="complaint", summary="x"))
    assert port.open(NewTicket(kind="complaint", summary="x")) == first
    assert len(port.tickets) == 1


def test_a_complaint_with_a_location_message_for_the_province() -> None:
    talk = Talk()
    talk.say("ร้องเรียน")
    talk.say("เจ้าหน้าที่ไม่มาเยี่ยมบ้านตามนัด")
    talk.say("ไม่ทราบ")
    reply = talk.location("123 ถ.มิตรภาพ ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น 40000")
    assert talk.last == "complaint" and T.text("contact_question") in reply
    talk.tap("answer=no")
    talk.tap("slot=photo&value=none")
    talk.say("ยืนยัน")
    ticket = only_ticket(talk.port)
    assert ticket.province == "ขอนแก่น"
    assert ticket.location is not None and ticket.location["latitude"] == pytest.approx(16.43)


def test_a_location_without_an_address_gives_the_province_from_its_coordinates() -> None:
    talk = Talk()
    talk.say("ร้องเรียน")
    talk.say("ศูนย์ปิดไม่ตรงเวลา")
    talk.say("ศูนย์บริการคนพิการ")
    assert T.text("contact_question") in talk.location(None, 18.79, 98.98)
    talk.tap("answer=no")
    summary = talk.tap("slot=photo&value=none")
    assert "เชียงใหม่" in summary and "รอยต่อ" not in summary
    talk.say("ยืนยัน")
    ticket = only_ticket(talk.port)
    assert ticket.province == "เชียงใหม่" and ticket.location is not None


def test_a_location_near_a_border_is_confirmed_at_the_summary_and_can_be_corrected() -> None:
    talk = Talk()
    talk.say("ร้องเรียน")
    talk.say("ศูนย์ปิดไม่ตรงเวลา")
    talk.say("ศูนย์บริการคนพิการ")
    talk.location(None, 16.45, 103.0)
    talk.tap("answer=no")
    summary = talk.tap("slot=photo&value=none")
    assert T.text("province_unsure_value", province="มหาสารคาม") in summary
    corrected = talk.say("ไม่ใช่ค่ะ อยู่ขอนแก่น")
    assert "ขอนแก่น" in corrected and "รอยต่อ" not in corrected and talk.state.requested_slot == forms.CONFIRM
    talk.say("ยืนยัน")
    assert only_ticket(talk.port).province == "ขอนแก่น"


def test_a_side_question_mid_complaint_is_answered_and_the_question_asked_again() -> None:
    talk = Talk()
    talk.say("ร้องเรียน")
    talk.say("โดนเรียกเก็บเงินค่าทำบัตรคนพิการ")
    talk.say("เจ้าหน้าที่ที่โรงพยาบาล")
    reply = talk.say("บัตรคนจนลงทะเบียนยังไง")
    assert "กระทรวงการคลัง" in reply and reply.rstrip().endswith(forms.CANCEL_BUTTON.label)
    assert T.text("province_question") in reply and talk.state.form == "complaint"
    assert T.text("contact_question") in talk.say("ชลบุรี")


@pytest.mark.parametrize("words", ["ยกเลิก", "ยกเลิกค่ะ ไม่เอาแล้ว", "พอแล้ว", "ไม่เอาละ"])
def test_cancel_variants_leave_the_complaint_without_a_ticket(words: str) -> None:
    talk = Talk()
    talk.say("ร้องเรียนค่ะ")
    talk.say("เจ้าหน้าที่ไม่รับเรื่อง")
    assert K.replies.cancelled in talk.say(words)
    assert talk.state.form is None and not talk.port.tickets


def test_cancel_at_the_summary_makes_no_ticket() -> None:
    talk = Talk()
    talk.say("ร้องเรียน ศูนย์ที่ขอนแก่นไม่รับโทรศัพท์เลย")
    talk.say("ศูนย์ช่วยเหลือสังคม")
    talk.tap("answer=no")
    assert "ยืนยัน" in talk.tap("slot=photo&value=none")
    assert K.replies.cancelled in talk.say("ยกเลิก")
    assert not talk.port.tickets


def test_danger_mid_complaint_gets_the_hotlines_first() -> None:
    talk = Talk()
    talk.say("ร้องเรียน")
    reply = talk.say("ตอนนี้ผัวกำลังตีฉันอยู่")
    assert talk.last == "emergency" and all(n in reply.split("\n")[1] + reply for n in HOTLINES)
    assert reply.startswith(K.intent_replies.intents["emergency"].answer.splitlines()[0])


def test_without_a_port_the_complaint_ends_with_the_hotline() -> None:
    state = DialogueState(
        form="complaint",
        requested_slot=forms.CONFIRM,
        slots={"what": "x", "about": "y", "province": "ขอนแก่น", "contact_consent": False, "photo": "none"},
    )
    turn = Turn(Person("U", None, "given", False), EventKind.text, understand("ยืนยัน"), state, text="ยืนยัน")
    name, outcome = engine.run_turn(turn, K)
    assert name == "complaint" and said(outcome).startswith(T.text("unavailable"))
    assert outcome.state is not None and outcome.state.form is None


# --- help request --------------------------------------------------------------------------------------


def test_a_help_request_for_someone_else_raised_to_urgent_from_its_first_message() -> None:
    talk = Talk()
    reply = talk.say("ขอความช่วยเหลือค่ะ แม่อายุ 80 อยู่คนเดียว ไม่มีข้าวกิน")
    assert T.text("province_question") in reply, "who, what and the triage came with the first message"
    assert T.text("contact_question") in talk.location("หมู่ 3 ต.บ้านเป็ด อ.เมือง จ.ขอนแก่น")
    talk.tap("answer=yes")
    summary = talk.say("0891234567")
    assert "แม่ อายุ 80 ปี" in summary and "ด่วน" in summary and "089-xxx-4567" in summary
    done = talk.say("ยืนยัน")
    ticket = only_ticket(talk.port)
    assert ticket.kind == "help_request" and ticket.urgency == "urgent" and ticket.province == "ขอนแก่น"
    assert ticket.details["urgent_signs"] == ["alone", "no_food"] and ticket.details["for_whom"] == "other"
    assert only_ticket(talk.port).id in done and T.text("help_done_urgent") in done


def test_a_help_request_for_oneself_asked_step_by_step_stays_normal() -> None:
    talk = Talk()
    assert T.text("help_for_whom") in talk.say("ขอความช่วยเหลือ")
    assert T.text("help_need") in talk.say("ตัวเองค่ะ")
    assert T.text("province_question") in talk.say("ตกงานมา 2 เดือน อยากได้ทุนประกอบอาชีพ")
    assert T.text("help_urgent_question") in talk.say("อยู่อุดรค่ะ")
    assert T.text("contact_question") in talk.tap("slot=urgent_signs&value=none", "ไม่มีข้อไหนเลย")
    summary = talk.tap("answer=no")
    assert T.text("self_value") in summary and T.text("normal_value") in summary
    talk.tap("answer=yes", "ยืนยัน")
    ticket = only_ticket(talk.port)
    assert ticket.urgency == "normal" and ticket.province == "อุดรธานี" and ticket.details["for_whom"] == "self"


def test_a_triage_button_raises_a_help_request_to_urgent() -> None:
    talk = Talk()
    talk.say("ขอความช่วยเหลือ")
    talk.tap("slot=for_whom&value=other")
    talk.say("เพื่อนบ้านเป็นคนแก่")
    talk.say("ไม่มีคนพาไปหาหมอ")
    talk.say("สกลนคร")
    talk.tap("slot=urgent_signs&value=sick")
    talk.tap("answer=no")
    talk.say("ยืนยัน")
    assert only_ticket(talk.port).urgency == "urgent"


def test_a_photo_mid_help_request_keeps_the_form() -> None:
    talk = Talk()
    talk.say("ขอความช่วยเหลือ")
    reply = talk.photo()
    assert talk.state.form == "help_request" and T.text("help_for_whom") in reply


# --- emergency ---------------------------------------------------------------------------------------


def test_the_officer_button_asks_the_province_then_opens_an_urgent_ticket_and_the_context_goes_on() -> None:
    talk = Talk()
    first = talk.say("ผัวเมาแล้วทำร้ายฉัน")
    assert all(n in first for n in HOTLINES) and not talk.port.tickets
    assert T.text("emergency_province").splitlines()[0] in talk.tap("emergency=officer", "ให้เจ้าหน้าที่ติดต่อกลับ")
    done = talk.say("เชียงใหม่")
    ticket = only_ticket(talk.port)
    assert ticket.kind == "emergency" and ticket.urgency == "urgent" and ticket.province == "เชียงใหม่"
    assert ticket.legal_basis is None and only_ticket(talk.port).id in done
    assert talk.state.emergency is not None and talk.state.form is None
    again = talk.tap("emergency=officer")
    assert only_ticket(talk.port).id in again and len(talk.port.tickets) == 1, "no second ticket from the button"
    follow = talk.say("ต้องทำยังไงต่อคะ")
    assert talk.last == "emergency" and "191" in follow


def test_the_officer_button_opens_at_once_when_the_province_was_said() -> None:
    talk = Talk()
    talk.say("ที่ขอนแก่น มีคนทำร้ายร่างกายแม่ฉัน")
    done = talk.tap("emergency=officer")
    assert only_ticket(talk.port).province == "ขอนแก่น" and only_ticket(talk.port).id in done


@pytest.mark.parametrize("text", ["พ่อเลี้ยงทำร้ายหลาน 5 ขวบ", "ผัวตีลูกทุกวัน ลูกเลือดออก", "มีเด็กถูกขังไว้ในบ้าน"])
def test_danger_to_a_child_opens_the_ticket_without_asking_hotlines_first(text: str) -> None:
    talk = Talk()
    outcome_text = talk.say(text)
    assert talk.last == "emergency"
    first_line = K.intent_replies.intents["emergency"].answer.splitlines()[0]
    assert outcome_text.startswith(first_line), "the hotlines come first"
    ticket = only_ticket(talk.port)
    assert ticket.kind == "emergency" and ticket.urgency == "urgent" and ticket.legal_basis == "child_in_danger"
    assert only_ticket(talk.port).id in outcome_text
    assert outcome_text.index("1300") < outcome_text.index(only_ticket(talk.port).id)
    assert talk.state.emergency is not None


def test_an_emergency_still_gets_the_hotlines_when_the_port_fails() -> None:
    class Broken(FakeTicketPort):
        def open(self, ticket: NewTicket) -> str:
            raise RuntimeError("database down")

    talk = Talk(port=Broken())
    reply = talk.say("พ่อตีน้องสาว 7 ขวบ")
    assert all(n in reply for n in HOTLINES)


# --- status, add, withdraw, rate, reopen ----------------------------------------------------------------


def opened(port: FakeTicketPort, kind: str = "complaint", summary: str = "เรื่องทดสอบ") -> str:
    return port.open(NewTicket(kind=kind, summary=summary, province="ขอนแก่น"))


def test_my_tickets_newest_first_with_status_and_last_public_update_and_no_one_elses() -> None:
    talk = Talk()
    older = opened(talk.port)
    newer = opened(talk.port, "help_request")
    talk.port.set_status(older, "in_progress")
    talk.port.officer_message(older, "เจ้าหน้าที่โทรนัดเยี่ยมบ้านแล้วค่ะ")
    someone_else = opened(other(talk.port))
    reply = talk.say("เรื่องของฉัน")
    assert talk.last == "ticket_status"
    assert reply.index(newer) < reply.index(older) and someone_else not in reply
    assert "กำลังดำเนินการ" in reply and "เจ้าหน้าที่โทรนัดเยี่ยมบ้านแล้วค่ะ" in reply
    assert "ได้รับเรื่องแล้ว" in reply and " 25" in reply  # the date in the Buddhist era


def test_a_ticket_by_its_id_and_another_persons_is_not_found() -> None:
    talk = Talk()
    mine = opened(talk.port)
    theirs = opened(other(talk.port))
    assert "ได้รับเรื่องแล้ว" in talk.say(f"ขอติดตามเรื่อง {mine} ค่ะ")
    reply = talk.say(theirs)
    assert T.text("status_not_found", ticket_id=theirs) in reply


def test_no_tickets_yet() -> None:
    assert T.text("status_none").splitlines()[0] in Talk().say("ติดตามเรื่อง")


def test_adding_text_and_a_photo_to_an_open_ticket() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    assert T.text("add_question", ticket_id=ticket_id) in talk.tap(f"ticket={ticket_id}&do=add", "เพิ่มข้อมูล")
    assert T.text("add_done", ticket_id=ticket_id) in talk.say("ลืมบอกว่าแม่ใช้รถเข็นด้วยค่ะ")
    talk.tap(f"ticket={ticket_id}&do=add")
    assert T.text("add_done", ticket_id=ticket_id) in talk.photo(99)
    assert additions(talk.port, ticket_id) == [("ลืมบอกว่าแม่ใช้รถเข็นด้วยค่ะ", None), (None, 99)]


def test_withdrawing_ones_own_ticket_needs_a_confirmation() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    assert "ยืนยัน" in talk.tap(f"ticket={ticket_id}&do=withdraw", "ยกเลิกเรื่องนี้")
    assert talk.port.tickets[ticket_id].status == "new"
    talk.tap("answer=no", "ไม่ยกเลิก")
    assert talk.port.tickets[ticket_id].status == "new" and talk.state.form is None
    talk.tap(f"ticket={ticket_id}&do=withdraw")
    assert T.text("withdraw_done", ticket_id=ticket_id) in talk.say("ยืนยัน")
    assert talk.port.tickets[ticket_id].status == "closed"


def test_another_persons_ticket_cannot_be_withdrawn_by_a_forged_postback() -> None:
    talk = Talk()
    theirs = opened(other(talk.port))
    assert T.text("status_not_found", ticket_id=theirs) in talk.tap(f"ticket={theirs}&do=withdraw")
    assert talk.port.tickets[theirs].status == "new"


def test_after_resolved_a_rating_and_a_comment() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    resolve(talk.port, ticket_id, talk.now)
    push = resolved_message(ticket_id, K)
    assert push.quick_replies[0].data == f"ticket={ticket_id}&rate=5"
    assert push.quick_replies[-1].data == f"ticket={ticket_id}&do=reopen"
    assert T.text("rate_thanks") in talk.tap(f"ticket={ticket_id}&rate=4", "ให้คะแนน 4")
    assert T.text("comment_thanks") in talk.say("เจ้าหน้าที่ใจดีมาก แต่รอนานไปหน่อย")
    ticket = talk.port.tickets[ticket_id]
    assert ticket.satisfaction == 4 and ticket.comment == "เจ้าหน้าที่ใจดีมาก แต่รอนานไปหน่อย"
    assert talk.state.form is None


def test_a_rating_then_skip() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    resolve(talk.port, ticket_id, talk.now)
    talk.tap(f"ticket={ticket_id}&rate=5")
    assert T.text("comment_skipped") in talk.tap(f"ticket={ticket_id}&do=skip", "ข้าม")
    assert talk.port.tickets[ticket_id].comment is None and talk.state.form is None


def test_not_yet_solved_within_the_window_reopens() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    resolve(talk.port, ticket_id, talk.now - 86400)
    assert T.text("reopen_done", ticket_id=ticket_id).splitlines()[0] in talk.say("ยังไม่ได้รับการแก้ไขค่ะ")
    assert talk.port.tickets[ticket_id].status == "in_progress"


def test_not_yet_solved_after_the_window_does_not_reopen() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    resolve(talk.port, ticket_id, talk.now - (REOPEN_DAYS + 1) * 86400)
    reply = talk.tap(f"ticket={ticket_id}&do=reopen", "ยังไม่ได้รับการแก้ไข")
    assert T.text("reopen_too_late", ticket_id=ticket_id, days=REOPEN_DAYS) in reply
    assert talk.port.tickets[ticket_id].status == "resolved"


def test_a_ticket_button_during_a_form_is_for_the_ticket() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    talk.say("เช็คสิทธิ")
    assert ticket_id in talk.tap(f"ticket={ticket_id}&do=show")
    assert talk.last == "ticket_status"


# --- handoff ------------------------------------------------------------------------------------------


def test_a_handoff_ticket_then_messages_go_into_it_while_held() -> None:
    talk = Talk()
    talk.say("ขอคุยกับเจ้าหน้าที่ค่ะ")
    assert T.text("province_question") in talk.say("เรื่องเงินสงเคราะห์ที่ยื่นไว้")
    summary = talk.say("ลำปาง")
    assert "ยืนยัน" in summary and "ลำปาง" in summary
    done = talk.say("ยืนยัน")
    ticket_id = only_ticket(talk.port).id
    assert ticket_id in done and only_ticket(talk.port).kind == "handoff"
    assert T.text("handoff_already", ticket_id=ticket_id) in talk.say("คุยกับเจ้าหน้าที่")
    talk.port.officer_holds(ticket_id)
    assert T.text("handoff_forwarded") in talk.say("เบี้ยผู้สูงอายุเข้าวันไหนคะ")
    assert talk.last == "handoff", "a programme question goes to the officer, not the bot"
    talk.photo(5)
    urgent = talk.say("ช่วยด้วย มีคนจะฆ่าตัวตาย")
    assert talk.last == "emergency" and all(n in urgent for n in ("1323", "1669"))
    assert additions(talk.port, ticket_id) == [("เบี้ยผู้สูงอายุเข้าวันไหนคะ", None), (None, 5)]
    talk.port.tickets[ticket_id].handoff_until = talk.now  # the hold times out: the chat is handed back
    talk.say("เบี้ยผู้สูงอายุได้เท่าไหร่")
    assert talk.last != "handoff", "handed back: the bot answers again"


def test_consent_commands_and_ticket_buttons_are_not_forwarded_during_a_held_handoff() -> None:
    talk = Talk()
    handoff_id = opened(talk.port, "handoff")
    resolved_id = opened(talk.port)
    resolve(talk.port, resolved_id, talk.now)
    talk.port.officer_holds(handoff_id)
    talk.say("ถอนความยินยอม")
    assert talk.last == "data_rights"
    assert T.text("rate_thanks") in talk.tap(f"ticket={resolved_id}&rate=5")
    assert talk.last == "ticket_status" and additions(talk.port, handoff_id) == []


@pytest.mark.parametrize("comment", ["ขอบคุณมากค่ะ", "เบี้ยผู้สูงอายุควรได้เร็วกว่านี้", "ดีค่ะ"])
def test_any_text_after_a_rating_is_the_comment(comment: str) -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    resolve(talk.port, ticket_id, talk.now)
    talk.tap(f"ticket={ticket_id}&rate=3")
    assert T.text("comment_thanks") in talk.say(comment)
    assert talk.port.tickets[ticket_id].comment == comment


def test_my_tickets_typed_mid_complaint_is_not_taken_as_the_story() -> None:
    talk = Talk()
    opened(talk.port)
    talk.say("ร้องเรียน")
    reply = talk.say("เรื่องของฉัน")
    assert talk.last == "ticket_status" and T.text("complaint_what") in reply, "answered, then asked again"


def test_status_words_are_the_same_in_the_flows_and_in_the_pushes() -> None:
    from storage.tickets import STATUS_TH

    assert T.statuses == STATUS_TH


def test_a_status_change_is_not_repeated_as_the_last_update() -> None:
    talk = Talk()
    ticket_id = opened(talk.port)
    talk.port.set_status(ticket_id, "in_progress")
    reply = talk.say("เรื่องของฉัน")
    assert reply.count("กำลังดำเนินการ") == 1 and "ล่าสุด (" not in reply


def test_the_button_under_a_new_emergency_opens_its_own_ticket_and_a_child_message_joins_an_open_one() -> None:
    talk = Talk()
    talk.say("พ่อเลี้ยงทำร้ายหลาน 5 ขวบ")
    child_id = only_ticket(talk.port).id
    talk.say("ผัวตีฉันอีกแล้ว")  # another danger: this emergency's button is for it
    talk.tap("emergency=officer")
    assert T.text("emergency_opened", ticket_id="PM-2569-000002").splitlines()[0][:20] in talk.say("ขอนแก่น")
    assert len(talk.port.tickets) == 2
    again = talk.say("ช่วยด้วย พ่อเลี้ยงตีหลานอีกแล้ว")
    assert talk.last == "emergency" and "PM-2569-000002" in again and "1300" in again
    assert additions(talk.port, "PM-2569-000002") == [("ช่วยด้วย พ่อเลี้ยงตีหลานอีกแล้ว", None)]
    assert child_id == "PM-2569-000001"
    assert len(talk.port.tickets) == 2, "an open emergency ticket takes the new message instead of a third"


def test_the_emergency_province_by_location_or_unknown_for_the_central_queue() -> None:
    talk = Talk()
    talk.say("มีคนทำร้ายร่างกายแม่ฉัน")
    talk.tap("emergency=officer")
    talk.location(None, 18.79, 98.98)
    ticket = only_ticket(talk.port)
    assert ticket.province == "เชียงใหม่" and ticket.location is not None
    other_talk = Talk()
    other_talk.say("ช่วยด้วย มีคนจะทำร้ายฉัน")
    other_talk.tap("emergency=officer")
    other_talk.tap("slot=province&value=unsure", "ไม่ทราบ")
    assert only_ticket(other_talk.port).province is None  # the central queue
