"""The screener: scripted conversations through the real NLU and dialogue engine, state carried turn to turn."""

from __future__ import annotations

import pytest

from bot.engine import run_turn
from bot.nlu import understand
from handlers.base import DialogueState, EventKind, Person, TextReply, Turn
from knowledge.loader import get_knowledge


class Chat:
    """One citizen talking to the engine; the flow and slots go from turn to turn as storage would keep them."""

    def __init__(self, sensitive_consent: str = "given") -> None:
        self.state = DialogueState()
        self.sensitive_consent = sensitive_consent
        self.asked: list[str] = []

    def say(self, text: str) -> str:
        turn = Turn(
            person=Person("U" + "4" * 32, None, "given", False, self.sensitive_consent),
            kind=EventKind.text,
            understanding=understand(text, self.state.expect),
            state=self.state,
            text=text,
        )
        _, outcome = run_turn(turn, get_knowledge())
        if outcome.state is not None:
            self.state = outcome.state
        if self.state.requested_slot:
            self.asked.append(self.state.requested_slot)
        reply = outcome.replies[0]
        return reply.text if isinstance(reply, TextReply) else "\n".join(reply.lines)


def converse(*messages: str) -> tuple[Chat, str]:
    chat = Chat()
    answer = ""
    for message in messages:
        answer = chat.say(message)
    return chat, answer


@pytest.mark.parametrize(
    ("messages", "expected", "absent"),
    [
        # an elder with nothing else: the allowance at her tier
        (["เช็คสิทธิ", "อายุ 72", "ไม่มี", "ไม่ใช่", "รายได้ 20000"], ["เบี้ยยังชีพผู้สูงอายุ", "700"], ["เงินอุดหนุน"]),
        # everything in one message: nothing asked again
        (["เช็คสิทธิ แม่อายุ 85 มีบัตรคนพิการ ไม่มีรายได้ อยู่โคราช"], ["เบี้ยยังชีพผู้สูงอายุ", "800", "เบี้ยความพิการ"], []),
        # a young parent with low income
        (
            ["ฉันได้สิทธิอะไรบ้าง", "อายุ 28", "ไม่มี", "ไม่", "มี", "รายได้ 6000"],
            ["เงินอุดหนุนเพื่อการเลี้ยงดูเด็กแรกเกิด", "600"],
            ["เบี้ยยังชีพผู้สูงอายุ"],
        ),
        # a parent above the income limit: no child grant
        (["เช็คสิทธิ", "อายุ 35", "ไม่มี", "ไม่", "มี", "รายได้ 30000"], [], ["เงินอุดหนุนเพื่อการเลี้ยงดูเด็กแรกเกิด"]),
        # disabled without a card: get the card first
        (["เช็คสิทธิ", "อายุ 45 พิการขา ยังไม่มีบัตรคนพิการ", "ไม่", "รายได้ 9000"], ["บัตรประจำตัวคนพิการ"], ["✅ เบี้ยความพิการ"]),
        # a disabled child: the under-18 rate
        (["เช็คสิทธิให้ลูกหน่อย อายุ 12 มีบัตรคนพิการ"], ["เบี้ยความพิการ", "1,000"], []),
        # 55 years old: not yet the elderly allowance
        (["เช็คสิทธิ อายุ 55", "ไม่มี", "ไม่", "ไม่", "รายได้ 12000"], [], ["✅ เบี้ยยังชีพผู้สูงอายุ"]),
        # no income at all, working age: hardship cash and the welfare card maybe
        (["เช็คสิทธิ", "อายุ 40", "ไม่มี", "ไม่", "ไม่", "ไม่มีรายได้"], ["เงินสงเคราะห์ครอบครัวผู้มีรายได้น้อย", "บัตรสวัสดิการแห่งรัฐ"], []),
        # Thai digits and Isan: ๙๑ years old
        (["เช็คสิทธิ", "แม่อายุ ๙๑ ปีเด้อ", "บ่มี", "บ่", "ไม่มีรายได้"], ["1,000"], []),
        # Bangkok routes to the district office
        (["เช็คสิทธิ อยู่กรุงเทพ อายุ 66", "ไม่มี", "ไม่", "รายได้ 3000"], ["สำนักงานเขต", "600"], []),
    ],
)
def test_scripted_conversations(messages: list[str], expected: list[str], absent: list[str]) -> None:
    chat, answer = converse(*messages)
    assert chat.state.form is None, f"the screener should have finished; it asked {chat.asked}"
    for text in expected:
        assert text in answer, (text, answer)
    for text in absent:
        assert text not in answer, (text, answer)
    assert "ที่มา:" in answer or "1300" in answer


def test_a_question_already_answered_is_never_asked_again() -> None:
    chat = Chat()
    chat.say("เช็คสิทธิ อายุ 67")
    assert "age" not in chat.asked
    chat.say("มีบัตรคนพิการค่ะ")
    assert chat.asked.count("disability_card") <= 1
    assert len(chat.asked) == len(set(chat.asked))


def test_cancel_leaves_the_screener() -> None:
    chat = Chat()
    chat.say("เช็คสิทธิ")
    assert chat.state.form == "eligibility"
    answer = chat.say("ยกเลิก")
    assert chat.state.form is None and "ยกเลิก" in answer


def test_an_emergency_interrupts_the_screener() -> None:
    chat = Chat()
    chat.say("เช็คสิทธิ")
    answer = chat.say("ผัวกำลังตีหนู ช่วยด้วย")
    assert chat.state.form is None
    assert all(number in answer for number in ("1300", "191", "1669", "1323"))


def test_another_question_mid_screener_is_answered() -> None:
    chat = Chat()
    chat.say("เช็คสิทธิ")
    answer = chat.say("บัตรคนจนลงทะเบียนยังไง")
    assert "กระทรวงการคลัง" in answer


def test_contact_office_for_a_province_by_its_colloquial_name() -> None:
    _, answer = converse("เบอร์ พมจ โคราช")
    assert "สำนักงานพัฒนาสังคมและความมั่นคงของมนุษย์จังหวัดนครราชสีมา" in answer


def test_contact_office_asks_the_province_then_answers() -> None:
    chat = Chat()
    assert "จังหวัดไหน" in chat.say("ติดต่อ พมจ. ยังไงคะ")
    assert chat.state.form == "contact"
    answer = chat.say("หาดใหญ่ค่ะ")
    assert "จังหวัดสงขลา" in answer and chat.state.form is None


def test_bangkok_has_no_provincial_office() -> None:
    _, answer = converse("พมจ กรุงเทพ อยู่ไหน")
    assert "ไม่มี พมจ." in answer and "สำนักงานเขต" in answer


def test_a_volunteered_no_card_is_no_disability_but_a_no_to_the_card_question_asks_on() -> None:
    chat = Chat()
    chat.say("เช็คสิทธิให้แม่ แม่ 68 ไม่มีบัตรคนพิการ")
    assert chat.state.slots.get("disability_card") is False
    assert chat.state.slots.get("disabled") is False, "no card and no word of a disability: not asked"
    chat = Chat()
    chat.say("เช็คสิทธิให้แม่ แม่ 68")
    chat.say("ไม่มีค่ะ")  # to the card question, which invites "no" from a person disabled without a card
    assert chat.state.requested_slot == "disabled"


def test_negations_in_the_opening_message_fill_their_slots() -> None:
    chat = Chat()
    chat.say("อยากเช็คสิทธิ์ให้แม่เด้อ บ่มีรายได้ บ่มีเด็กน้อยในบ้าน")
    assert chat.state.slots.get("monthly_income") == 0
    assert chat.state.slots.get("child_under_6") is False


def test_a_disability_is_not_kept_before_its_consent() -> None:
    chat = Chat(sensitive_consent="unknown")
    answer = chat.say("เช็คสิทธิให้พ่อ อายุ 70 พิการขา")
    assert "ข้อมูลอ่อนไหว" in answer
    assert "disabled" not in chat.state.slots and chat.state.slots.get("age") == 70
    chat.say("ไม่ยินยอม")
    assert chat.state.slots.get("disabled") == "unsure", "declined: never asked, never kept"
