"""One-turn programme answers: the amount for the asker's age, the source and date, the rumour guard."""

from __future__ import annotations

import json

import pytest

from bot.engine import run_turn
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
    """Everything the card says: the figure, the lines and the source footnote."""
    return "\n".join(x for x in (card.figure, *card.lines, card.footnote) if x)


def headline(card: CardReply) -> str:
    """The big figure and the line under it: what this person gets."""
    return "\n".join(x for x in (card.figure, card.lines[0]) if x)


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
    assert expected in headline(card)


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


ANSWERED = sorted(p.id for p in get_knowledge().programmes.values() if p.answers_intent)


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


PHRASINGS = {
    "elderly_allowance": [
        "เบี้ยคนแก่เดือนนี้เข้าวันไหนคะ",
        "แม่อายุ 70 ต้องไปลงทะเบียนเบี้ยยังชีพที่ไหน",
        "เบียผู้สูงอายุได้เดือนละกี่บาท",
        "ยายได้เงินคนแก่เท่าไหร่ อายุ 83",
        "จะอายุครบหกสิบ ลงทะเบียนเบี้ยยังไง",
    ],
    "disability_allowance": [
        "เบี้ยคนพิการได้เดือนละเท่าไหร่",
        "ลูกพิการ 8 ขวบ ได้เบี้ยความพิการเท่าไหร่ครับ",
        "ขอเบี้ยพิการต้องใช้อะไรบ้าง",
        "เบี้ยคนพิการเข้าวันที่เท่าไหร่",
        "พ่อเป็นอัมพาตมีบัตรคนพิการแล้ว ขอเบี้ยได้ไหม",
    ],
    "disability_card": [
        "ทำบัตรคนพิการที่ไหน",
        "บัตรคนพิการหายทำใหม่ยังไง",
        "บัตรคนพิการหมดอายุต่อยังไงคะ",
        "ทำบัตรพิการต้องมีใบรับรองแพทย์ไหม",
        "ลูกเป็นออทิสติก ทำบัตรคนพิการได้ไหม",
    ],
    "child_support_grant": [
        "เงินเด็กแรกเกิดได้เดือนละเท่าไหร่",
        "ลงทะเบียนเงินอุดหนุนเด็กแรกเกิดยังไง",
        "เงินลูกอ่อน 600 ได้ถึงกี่ขวบ",
        "แอพเงินเด็กใช้ยังไง",
        "เพิ่งคลอดลูก ขอเงินเด็กได้ไหมคะ",
    ],
    "welfare_card": [
        "บัตรคนจนรอบใหม่ลงทะเบียนเมื่อไหร่",
        "บัตรสวัสดิการแห่งรัฐได้เงินเท่าไหร่",
        "บัตรคนจนซื้ออะไรได้บ้าง",
        "สมัครบัตรสวัสดิการยังไง",
        "เงินเข้าบัตรคนจนวันไหน",
    ],
    "elderly_funeral_grant": [
        "พ่อเสียแล้ว มีเงินช่วยค่าทำศพไหม",
        "ค่าทำศพผู้สูงอายุขอที่ไหน",
        "เงินสงเคราะห์จัดการศพได้กี่บาท",
        "ยายตายเมื่อวาน ขอเงินค่าศพได้ไหม",
        "ค่าจัดงานศพคนแก่ ต้องใช้เอกสารอะไร",
    ],
    "elderly_fund_loan": [
        "กู้เงินกองทุนผู้สูงอายุได้เท่าไหร่",
        "คนแก่อยากกู้เงินไปขายของ",
        "กองทุนผู้สูงอายุ กู้ยังไงครับ",
        "กู้กองทุนผู้สูงอายุต้องมีคนค้ำไหม",
        "อายุ 63 อยากกู้ทุนเลี้ยงไก่",
    ],
    "disability_fund_loan": [
        "คนพิการกู้เงินประกอบอาชีพได้ไหม",
        "กู้กองทุนคนพิการได้เท่าไหร่",
        "กองทุนคนพิการผ่อนกี่ปี",
        "อยากกู้เงินกองทุนคนพิการเปิดร้าน",
        "กู้เงินคนพิการออนไลน์ยังไง",
    ],
    "home_adaptation": [
        "ขอทำทางลาดให้แม่ที่นั่งวีลแชร์",
        "ปรับปรุงห้องน้ำให้คนพิการ มีโครงการไหม",
        "ติดราวจับในบ้านให้ยาย ขอได้ที่ไหน",
        "ปรับสภาพบ้านผู้สูงอายุ ได้กี่บาท",
        "ปรับบ้านให้คนพิการอยู่สะดวก ได้เงินเท่าไหร่",
    ],
    "housing": [
        "บ้านจะพังแล้ว มีโครงการซ่อมบ้านไหม",
        "บ้านมั่นคงสมัครยังไง",
        "อยากได้บ้านการเคหะ",
        "บ้านพอเพียงได้เงินซ่อมเท่าไหร่",
        "หลังคารั่ว ไม่มีเงินซ่อม ช่วยได้ไหม",
    ],
    "homeless_shelter": [
        "ไม่มีที่นอนคืนนี้",
        "มีที่พักให้คนไร้บ้านไหม",
        "ลุงคนนี้นอนข้างถนนมาหลายวัน",
        "โดนไล่ออกจากบ้าน ไม่มีที่ไป",
        "ศูนย์คุ้มครองคนไร้ที่พึ่งอยู่ที่ไหน",
    ],
    "emergency_cash": [
        "ตกงาน ไม่มีเงินเลย ขอเงินช่วยเหลือได้ไหม",
        "เงินสงเคราะห์ 3000 ขอยังไง",
        "ครอบครัวรายได้น้อย มีเงินช่วยเหลือฉุกเฉินไหม",
        "ยายลำบากมาก มีเงินสงเคราะห์ผู้สูงอายุไหม",
        "สามีติดคุก ไม่มีรายได้ ขอเงินสงเคราะห์ได้ไหมคะ",
    ],
}


@pytest.mark.parametrize(("topic", "message"), [(t, m) for t, ms in PHRASINGS.items() for m in ms])
def test_each_programme_is_answered_in_five_phrasings(topic: str, message: str) -> None:
    knowledge = get_knowledge()
    intent, card = answer(message)
    programme = knowledge.programmes.get(topic)
    expected_intent = programme.intent if programme else topic
    assert intent == expected_intent, message
    names = {p.name for p in knowledge.programmes.values() if p.intent == expected_intent}
    assert card.title in names
    assert "ที่มา:" in said(card)


SAME_INTENT_PHRASINGS = {
    "low_income_family_grant": [
        "ตกงาน ลูกสามคน ไม่มีเงินเลย ขอเงินสงเคราะห์ครอบครัวได้ไหม",
        "ครอบครัวรายได้น้อย ขอเงินช่วยเหลือฉุกเฉินได้ที่ไหน",
        "เงินสงเคราะห์ พม. 3000 ขอยังไง",
        "สามีติดคุก ไม่มีรายได้ ขอเงินสงเคราะห์ได้ไหมคะ",
        "อายุ 35 ลำบากมาก ขอเงินสงเคราะห์",
    ],
    "elderly_hardship_grant": [
        "ยายลำบากมาก มีเงินสงเคราะห์ผู้สูงอายุไหม",
        "เงินช่วยเหลือคนแก่ที่เดือดร้อน ขอยังไง",
        "ตาอายุ 75 ไม่มีข้าวกิน ขอเงินสงเคราะห์ได้ไหม",
        "แม่อายุ 68 เดือดร้อนหนัก ไม่มีเงินซื้อข้าว ขอเงินสงเคราะห์ได้ไหม",
        "เงินสงเคราะห์คนแก่ได้กี่บาท",
    ],
    "elderly_home_adaptation": [
        "ปรับปรุงบ้านผู้สูงอายุ ได้กี่บาท",
        "ทำห้องน้ำให้คนแก่ มีโครงการไหม",
        "ยายอายุ 80 อยากติดราวในห้องน้ำ ขอได้ที่ไหน",
        "ปรับสภาพบ้านผู้สูงอายุ ยื่นที่ไหน",
        "บ้านยายลื่นล้มบ่อย มีโครงการปรับบ้านผู้สูงอายุไหม",
    ],
    "disability_home_adaptation": [
        "ขอทำทางลาดให้ลูกที่พิการ",
        "ปรับปรุงห้องน้ำให้คนพิการ มีโครงการไหม",
        "ทำราวจับให้คนพิการ ขอที่ไหน",
        "ปรับบ้านให้คนพิการอยู่สะดวก ได้เงินเท่าไหร่",
        "พ่อนั่งวีลแชร์ มีบัตรคนพิการ อยากทำทางลาดเข้าบ้าน",
    ],
}


@pytest.mark.parametrize(("programme_id", "message"), [(p, m) for p, ms in SAME_INTENT_PHRASINGS.items() for m in ms])
def test_programmes_sharing_an_intent_are_told_apart(programme_id: str, message: str) -> None:
    _, card = answer(message)
    assert card.title == get_knowledge().programmes[programme_id].name, message
