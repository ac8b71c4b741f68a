"""One-turn programme answers: the amount for the asker's age, the source and date, the rumour guard."""

from __future__ import annotations

import json

import pytest

from bot.engine import PROGRAMME_INTENTS, run_turn
from bot.line.render import render
from bot.nlu import understand
from handlers.base import CardReply, EventKind, Person, Turn, Understanding
from knowledge.loader import LINE_QUICK_REPLY_LIMIT, LINE_TEXT_LIMIT, get_knowledge


def answer(text: str) -> tuple[str, CardReply]:
    """What the bot answers to a message, through the real NLU and dialogue engine."""
    understanding = understand(text)
    turn = Turn(
        person=Person("U" + "2" * 32, "สมศรี", "given", False),
        kind=EventKind.text,
        understanding=understanding,
        text=text,
    )
    handler, outcome = run_turn(turn, get_knowledge())
    card = outcome.replies[0]
    assert isinstance(card, CardReply), (text, handler)
    return understanding.intent, card


def said(card: CardReply) -> str:
    return "\n".join(card.lines)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("แม่อายุ 72 ได้เบี้ยยังชีพเดือนละเท่าไหร่", "700 บาท/เดือน"),
        ("ยายอายุ ๙๑ ได้เบี้ยคนแก่กี่บาทคะ", "1,000 บาท/เดือน"),
        ("พ่อ 65 ปี เบี้ยผู้สูงอายุได้เท่าไร", "600 บาท/เดือน"),
        ("อายุ 55 ได้เบี้ยผู้สูงอายุยังคะ", "รับได้ตั้งแต่อายุ 60 ปี"),
        ("ลูกอายุ 10 ขวบ พิการ ได้เบี้ยคนพิการเท่าไหร่", "1,000 บาท/เดือน"),
        ("อายุ 40 พิการขา เบี้ยคนพิการเดือนละเท่าไหร่", "800 บาท/เดือน"),
    ],
)
def test_the_amount_for_the_askers_age(message: str, expected: str) -> None:
    _, card = answer(message)
    assert expected in card.lines[0]


@pytest.mark.parametrize(
    "message",
    ["เบี้ยผู้สูงอายุขึ้นเป็น 1,250 จริงไหม", "ได้ข่าวว่าเบี้ยคนแก่ได้ 3000 บาทแล้ว", "เบี้ยคนแก่ขึ้น 100 บาทเดือนหน้าจริงมั้ย"],
)
def test_rumoured_increases_get_the_official_rates(message: str) -> None:
    intent, card = answer(message)
    assert intent == "elderly_allowance"
    assert "ยังไม่มีประกาศ" in card.lines[0]
    assert all(rate in card.lines[0] for rate in ("600", "700", "800", "1,000"))
    assert "กรมกิจการผู้สูงอายุ" in card.lines[0]


def test_the_welfare_card_is_the_finance_ministrys() -> None:
    _, card = answer("บัตรคนจนลงทะเบียนยังไง")
    assert "กระทรวงการคลัง" in said(card) and "ไม่ใช่ พม." in said(card)


def test_bangkok_is_sent_to_the_district_office() -> None:
    _, card = answer("อยู่กรุงเทพ แม่อายุ 80 ไปขอเบี้ยผู้สูงอายุที่ไหน")
    assert "สำนักงานเขต" in said(card)


ANSWERED = sorted(p.id for p in get_knowledge().programmes.values() if p.intent in PROGRAMME_INTENTS)


def test_every_programme_but_the_carers_one_has_an_intent_that_answers_it() -> None:
    # elderly_foster_family is for carers asking for help (request_help), answered with the help routing.
    assert set(get_knowledge().programmes) - set(ANSWERED) == {"elderly_foster_family"}


@pytest.mark.parametrize("programme_id", ANSWERED)
def test_every_programme_answer_cites_its_source_and_fits_line(programme_id: str) -> None:
    knowledge = get_knowledge()
    programme = knowledge.programmes[programme_id]
    turn = Turn(
        person=Person("U" + "3" * 32, None, "given", False),
        kind=EventKind.text,
        understanding=Understanding(programme.intent, 0.9),
        text=programme.aliases[0],
    )
    _, outcome = run_turn(turn, knowledge)
    messages = render(outcome.replies)
    assert len(messages) <= 5
    for message in messages:
        assert len(json.dumps(message, ensure_ascii=False).encode()) < 30_000  # a Flex bubble's limit
        assert len(message.get("altText", "")) <= 400
        assert len(message.get("text", "")) <= LINE_TEXT_LIMIT
        assert len(message.get("quickReply", {}).get("items", [])) <= LINE_QUICK_REPLY_LIMIT
    texts = [said(r) for r in outcome.replies if isinstance(r, CardReply)]
    assert any("ที่มา:" in t and "ข้อมูล ณ" in t and "25" in t for t in texts), programme_id
