"""Conversations over several messages, through the webhook and the fake LINE, typed the way citizens type:
bare answers, Thai digits and words, several people in one answer, cancel variants, side questions and
media mid-form, emergency follow-ups, hotline questions, and a form left alone too long."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from knowledge.loader import get_knowledge
from storage.db import make_engine
from tests.conftest import event, post_webhook, text_event, user_id
from tests.support.fake_line import FakeLineServer
from tests.support.heldout import shown_texts
from tests.test_conversation import Chat, start_chat

K = get_knowledge()
AGE_QUESTION = "ขอทราบอายุ"
SENSITIVE = "ข้อมูลอ่อนไหว"


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    with FakeLineServer() as fake:
        yield from start_chat(fake, tmp_path_factory.mktemp("dialogue"))


def said(messages: list[dict[str, Any]]) -> str:
    """Everything a person sees in these messages: texts, Flex texts, button and quick-reply labels."""
    return "\n".join(shown_texts(messages))


def postback(chat: Chat, uid: str, data: str) -> str:
    return said(chat.send(event(uid, "postback", postback={"data": data})))


def state_of(chat: Chat, uid: str) -> dict[str, Any] | None:
    rows = chat.rows("SELECT state FROM dialogue_states WHERE line_user_id = :u", u=uid)
    if not rows:
        return None
    value = rows[0]["state"]
    return json.loads(value) if isinstance(value, str) else dict(value)


# --- the requested slot: a bare answer is read as what was asked -----------------------------------------


@pytest.mark.parametrize("answer", ["67", "๖๗", "หกสิบเจ็ด", "67 ปีค่ะ", "อายุ๖๗"])
def test_a_bare_age_answers_the_age_question(chat: Chat, answer: str) -> None:
    uid = user_id(f"bare-age-{answer}")
    assert AGE_QUESTION in said(chat.say(uid, "เช็คสิทธิให้แม่หน่อยค่ะ"))
    reply = said(chat.say(uid, answer))
    assert AGE_QUESTION not in reply, "the age question must not repeat"
    assert SENSITIVE in reply  # the next deciding question is about disability: its consent first
    assert (state_of(chat, uid) or {})["slots"]["age"] == 67


def test_an_answer_with_two_people_fills_the_age_of_the_person_asked_about(chat: Chat) -> None:
    uid = user_id("two-people")
    chat.say(uid, "เช็คสิทธิให้แม่ค่ะ")
    chat.say(uid, "แม่ 72 ส่วนหลาน 4 ขวบค่ะ")
    slots = (state_of(chat, uid) or {})["slots"]
    assert slots["age"] == 72 and slots["child_under_6"] is True


def test_the_screener_to_its_end_with_bare_answers_and_buttons(chat: Chat) -> None:
    uid = user_id("screener-bare")
    chat.say(uid, "อยากรู้ว่าแม่ได้สิทธิอะไรบ้างคะ")
    assert SENSITIVE in postback(chat, uid, "slot=age&value=75")  # the "70–79 ปี" button
    assert "บัตรประจำตัวคนพิการ" in postback(chat, uid, "consent=sensitive&state=given")
    assert "ทำกิจวัตร" in said(chat.say(uid, "ไม่มีค่ะ"))
    assert "รายได้" in said(chat.say(uid, "บ่แน่ใจเด้อ"))
    result = said(chat.say(uid, "ไม่มี"))  # to "how much a month?": no income
    assert "700" in result and "เบี้ยยังชีพผู้สูงอายุ" in result
    assert (state_of(chat, uid) or {}).get("form") is None


def test_declining_sensitive_consent_skips_the_disability_questions(chat: Chat) -> None:
    uid = user_id("declines-sensitive")
    chat.say(uid, "เช็คสิทธิ อายุ 68")
    reply = postback(chat, uid, "consent=sensitive&state=declined")
    assert "บัตรประจำตัวคนพิการ" not in reply and "รายได้" in reply
    slots = (state_of(chat, uid) or {})["slots"]
    assert slots.get("disability_card") == "unsure" and slots.get("disabled") == "unsure"


# --- cancel, side questions, media mid-form -----------------------------------------------------------


@pytest.mark.parametrize("words", ["ยกเลิกค่ะ ไม่เอาแล้ว", "พอแล้ว", "ไม่เอาละ", "ยกเลิก", "เลิกก่อนนะคะ"])
def test_polite_cancel_variants_leave_the_form(chat: Chat, words: str) -> None:
    uid = user_id(f"cancel-{words}")
    chat.say(uid, "เช็คสิทธิ")
    reply = said(chat.say(uid, words))
    assert K.replies.cancelled in reply
    assert (state_of(chat, uid) or {}).get("form") is None


def test_a_side_question_is_answered_and_the_pending_question_asked_again(chat: Chat) -> None:
    uid = user_id("side-question")
    chat.say(uid, "เช็คสิทธิ")
    messages = chat.say(uid, "บัตรคนจนลงทะเบียนยังไง")
    assert "กระทรวงการคลัง" in said(messages)
    assert AGE_QUESTION in said(messages[-1:]), "the form's question comes again, last"
    assert SENSITIVE in said(chat.say(uid, "67"))


@pytest.mark.parametrize("kind", ["image", "sticker", "location"])
def test_media_mid_form_keeps_the_form(chat: Chat, kind: str) -> None:
    uid = user_id(f"media-mid-form-{kind}")
    chat.say(uid, "เช็คสิทธิ")
    media = {
        "image": {"type": "image"},
        "sticker": {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        "location": {"type": "location", "title": "บ้าน", "address": "ขอนแก่น", "latitude": 16.4, "longitude": 102.8},
    }[kind]
    messages = chat.message(uid, media)
    assert AGE_QUESTION in said(messages[-1:])
    assert SENSITIVE in said(chat.say(uid, "๖๗"))


def test_a_form_left_alone_expires_politely(chat: Chat) -> None:
    uid = user_id("expired-form")
    chat.say(uid, "เช็คสิทธิ")
    state = state_of(chat, uid) or {}
    state["updated_at"] = time.time() - 2 * 3600
    engine = make_engine(chat.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE dialogue_states SET state = :s WHERE line_user_id = :u"),
                {"s": json.dumps(state), "u": uid},
            )
    finally:
        engine.dispose()
    reply = said(chat.say(uid, "67"))
    assert K.replies.form_expired in reply
    assert SENSITIVE not in reply


def test_a_redelivered_answer_does_not_advance_the_form_twice(chat: Chat) -> None:
    uid = user_id("redelivered-answer")
    chat.say(uid, "เช็คสิทธิ")
    answer = text_event(uid, "67")
    chat.send(answer)
    assert post_webhook(chat.app.url, [answer]).status_code == 200
    chat.say(uid, "ยินยอม")  # answers the sensitive-data question, once
    assert (state_of(chat, uid) or {})["requested_slot"] == "disability_card"


# --- safety stays on ----------------------------------------------------------------------------------


def test_after_violence_follow_ups_keep_the_police_and_what_to_do(chat: Chat) -> None:
    uid = user_id("violence-follow-up")
    first = said(chat.say(uid, "ผัวกำลังตีหนูอยู่ค่ะ ช่วยด้วย"))
    assert all(n in first for n in ("1300", "191", "1669", "1323"))
    how = said(chat.say(uid, "ต้องทำยังไงคะ"))
    assert "191" in how and "1300" in how and "1." in how
    friend = said(chat.say(uid, "โทรหาเพื่อนไม่ติด"))
    assert "191" in friend and "1300" in friend
    assert "ไม่ต้องรอ" in friend, "the worry itself is answered before the steps"
    thanks = said(chat.say(uid, "ขอบคุณค่ะ"))
    assert "191" in thanks


def test_after_suicide_risk_follow_ups_keep_the_mental_health_line(chat: Chat) -> None:
    uid = user_id("suicide-follow-up")
    said(chat.say(uid, "ไม่อยากอยู่แล้ว อยากตายค่ะ"))
    reply = said(chat.say(uid, "แล้วทำไงดี"))
    assert "1323" in reply and "1300" in reply


@pytest.mark.parametrize(
    ("question", "number"),
    [("ขอเบอร์รถพยาบาลหน่อยค่ะ", "1669"), ("เบอร์ พม. เบอร์อะไรคะ", "1300"), ("สายด่วนสุขภาพจิตเบอร์ไหน", "1323")],
)
def test_asking_for_a_hotline_gets_the_number_at_once(chat: Chat, question: str, number: str) -> None:
    reply = said(chat.say(user_id(f"hotline-{number}"), question))
    assert number in reply
    assert "จังหวัดไหน" not in reply


@pytest.mark.parametrize("number", ["67", "๘๕", "1300"])
def test_a_bare_number_is_never_an_emergency(chat: Chat, number: str) -> None:
    reply = said(chat.say(user_id(f"bare-number-{number}"), number))
    assert "ถ้ามีอันตรายตอนนี้" not in reply


def test_a_hotline_question_typed_on_the_english_layout_gets_the_number(chat: Chat) -> None:
    reply = said(chat.say(user_id("hotline-layout"), "g[viN9ei;0"))  # "เบอร์ตำรวจ" on the English layout
    assert "191" in reply


def test_a_shared_location_answers_which_province(chat: Chat) -> None:
    uid = user_id("location-province")
    assert "จังหวัดไหน" in said(chat.say(uid, "ขอที่อยู่ พมจ. ใกล้บ้านหน่อยค่ะ"))
    where = {"type": "location", "title": "บ้าน", "address": "ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น 40000"}
    reply = said(chat.message(uid, {**where, "latitude": 16.44, "longitude": 102.83}))
    assert "จังหวัดขอนแก่น" in reply and "จังหวัดไหน" not in reply


def test_a_side_question_that_names_a_disability_programme_is_answered_not_taken_as_a_fact(chat: Chat) -> None:
    uid = user_id("side-question-disability")
    chat.say(uid, "เช็คสิทธิ์ให้แม่ค่ะ")
    messages = chat.say(uid, "ขอถามก่อน เบี้ยคนพิการได้เท่าไหร่คะ")
    assert "800" in said(messages) and K.replies.form_not_understood not in said(messages)
    assert AGE_QUESTION in said(messages[-1:])


def test_a_bare_no_with_nothing_asked_is_acknowledged(chat: Chat) -> None:
    reply = said(chat.say(user_id("bare-no"), "ไม่มีค่ะ"))
    assert K.replies.acknowledged in reply


def test_a_relative_and_an_age_after_a_programme_answer_gets_that_persons_figure(chat: Chat) -> None:
    uid = user_id("relative-age-follow-up")
    assert "700" in said(chat.say(uid, "แม่อายุ 72 ได้เบี้ยเท่าไหร่คะ"))
    reply = said(chat.say(uid, "แล้วพ่อ 85 ล่ะ"))
    assert "800" in reply and "ถ้ามีอันตรายตอนนี้" not in reply


def test_a_follow_up_after_a_side_answer_is_still_about_the_programme(chat: Chat) -> None:
    uid = user_id("follow-up-after-complaint")
    chat.say(uid, "เบี้ยผู้สูงอายุ")
    chat.say(uid, "อยากร้องเรียน อบต ไม่จ่ายเบี้ยแม่ 3 เดือนแล้ว")
    reply = said(chat.say(uid, "แล้วเงินเข้าวันไหนนะ"))
    assert "วันที่ 10" in reply and "ถ้ามีอันตรายตอนนี้" not in reply
