"""Follow-ups on the programme just discussed, short cards with detail buttons, and what LINE receives.

Unit tests build Turns by hand (handlers.base); the conversations go through the running app and the fake LINE,
the way a citizen meets them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from linebot.v3.messaging import FlexMessage, TextMessage

from bot import engine
from bot.line import render
from handlers import programmes
from handlers.base import CardReply, DialogueState, EventKind, Outcome, Person, TextReply, Turn, Understanding
from handlers.hotlines import hotline_buttons
from knowledge.loader import Button, get_knowledge
from tests.conftest import RunningApp, event, make_settings, post_webhook, text_event, user_id
from tests.support.fake_line import FakeLine, FakeLineServer

K = get_knowledge()
ELDERLY = "elderly_allowance"
FUNERAL = "elderly_funeral_grant"


# --- unit: turns built by hand ----------------------------------------------------------------------------


def turn(
    text: str | None,
    intent: str = "out_of_scope",
    *,
    topic: str | None = ELDERLY,
    confidence: float = 0.9,
    entities: dict[str, Any] | None = None,
    postback: str | None = None,
    danger: str | None = None,
    slot: str | None = None,
) -> Turn:
    return Turn(
        person=Person("U-follow", None, "given", False),
        kind=EventKind.postback if postback else EventKind.text,
        understanding=Understanding(intent, confidence, entities or {}, danger=danger),
        state=DialogueState(topic=topic, requested_slot=slot),
        text=text,
        postback_data=postback,
    )


def run(t: Turn) -> tuple[str, Outcome]:
    return engine.run_turn(t, K)


def card_of(outcome: Outcome) -> CardReply:
    card = outcome.replies[0]
    assert isinstance(card, CardReply), outcome.replies
    return card


def topic_and_slot(outcome: Outcome) -> tuple[str | None, str | None]:
    assert outcome.state is not None
    return outcome.state.topic, outcome.state.requested_slot


def everything(card: CardReply) -> str:
    return "\n".join(x for x in (card.title, card.figure, *card.lines, card.footnote) if x)


@pytest.mark.parametrize(
    ("text", "intent", "aspect_heading", "expected"),
    [
        ("ต้องเอาอะไรไปบ้าง", "eligibility_check", "เอกสารที่ต้องใช้", "ทะเบียนบ้าน"),
        ("ใช้เอกสารอะไร", "out_of_scope", "เอกสารที่ต้องใช้", "บัตรประชาชน"),
        ("ไปสมัครที่ไหน", "out_of_scope", "ยื่นที่ไหน", "อบต."),
        ("ยื่นที่ไหนคะ", "out_of_scope", "ยื่นที่ไหน", "สำนักงานเขต"),
        ("เงินเข้าวันไหน", "child_support_grant", "เงินเข้าวันไหน", "วันที่ 10"),
        ("จ่ายวันที่เท่าไหร่", "out_of_scope", "เงินเข้าวันไหน", "วันที่ 10"),
        ("ออกวันไหน", "out_of_scope", "เงินเข้าวันไหน", "วันที่ 10"),
        ("ให้ลูกไปยื่นแทนได้มั้ย", "data_rights", "ให้คนอื่นยื่นแทน", "หนังสือมอบอำนาจ"),
        ("มอบอำนาจ", "out_of_scope", "ให้คนอื่นยื่นแทน", "บัตรประชาชนของผู้รับมอบอำนาจ"),
        ("แม่เดินไม่ไหว ไปเองไม่ได้", "request_help", "ให้คนอื่นยื่นแทน", "หนังสือมอบอำนาจ"),
        ("สมัครออนไลน์ได้ไหม", "out_of_scope", "ยื่นที่ไหน", "อบต."),
        ("เดือนนี้เงินไม่เข้า", "complaint", "เงินยังไม่เข้า ทำอย่างไร", "อบต./เทศบาล"),
        ("ยังไม่ได้เงินเลย", "child_support_grant", "เงินยังไม่เข้า ทำอย่างไร", "ตรวจสอบ"),
        ("รายได้เท่าไหร่ถึงจะได้", "out_of_scope", "เกณฑ์รายได้", "12 ส.ค. 2566"),
        ("ลงทะเบียนถึงเมื่อไหร่", "out_of_scope", "ยื่นได้เมื่อไหร่", "ปีงบประมาณ"),
    ],
)
def test_an_aspect_without_the_programmes_name_is_about_the_topic(
    text: str, intent: str, aspect_heading: str, expected: str
) -> None:
    assert programmes.accepts_follow_up(turn(text, intent, confidence=0.6), K)
    name, outcome = run(turn(text, intent, confidence=0.6))
    card = card_of(outcome)
    assert name == "programmes"
    assert card.title == aspect_heading
    assert K.programmes[ELDERLY].name in card.lines[0]
    assert expected in everything(card), everything(card)
    assert outcome.state is not None and outcome.state.topic == ELDERLY


@pytest.mark.parametrize(
    ("text", "intent", "entities", "amount"),
    [
        ("แล้วแม่ 85 ล่ะ", "emergency", {}, "800 บาท/เดือน"),  # NLU's guess; no danger word
        ("68", "out_of_scope", {"age": 68}, "600 บาท/เดือน"),  # a bare number read as the requested age
        ("68", "out_of_scope", {}, "600 บาท/เดือน"),  # until NLU reads it so, the handler does
        ("พ่ออายุ 70 ค่ะ", "funeral_assistance", {"age": 70}, "700 บาท/เดือน"),
        ("ยายอายุ๙๑", "elderly_allowance", {"age": 91}, "1,000 บาท/เดือน"),
    ],
)
def test_a_bare_age_or_relative_gets_the_topics_figure_for_that_person(
    text: str, intent: str, entities: dict[str, Any], amount: str
) -> None:
    name, outcome = run(turn(text, intent, confidence=0.5, entities=entities, slot="age"))
    card = card_of(outcome)
    assert name == "programmes"
    assert card.title == K.programmes[ELDERLY].name
    assert card.figure == amount
    assert card.footnote and "ที่มา:" in card.footnote and "25" in card.footnote  # Buddhist-era dates
    assert topic_and_slot(outcome) == (ELDERLY, "age")


def test_a_relative_without_an_age_is_asked_for_it_with_age_band_postbacks() -> None:
    _, outcome = run(turn("แล้วคุณแม่ล่ะคะ", "emergency", confidence=0.6))
    [reply] = outcome.replies
    assert isinstance(reply, TextReply) and "อายุเท่าไหร่" in reply.text
    bands = [b for b in reply.quick_replies if b.data]
    assert [b.label for b in bands] == ["อายุ 60–69 ปี", "อายุ 70–79 ปี", "อายุ 80–89 ปี", "อายุ 90 ปีขึ้นไป"]
    assert all("อายุ 90" not in b.text or b.label == "อายุ 90 ปีขึ้นไป" for b in bands)
    _, answered = run(turn(None, topic=ELDERLY, postback=bands[3].data))
    assert card_of(answered).figure == "1,000 บาท/เดือน"


@pytest.mark.parametrize("text", ["รับบำนาญอยู่", "แม่รับบำนาญครูอยู่ ได้ไหม", "พ่อเป็นข้าราชการบำนาญค่ะ"])
def test_a_government_pension_changes_the_old_age_answer(text: str) -> None:
    _, outcome = run(turn(text, "out_of_scope", confidence=0.8))
    card = card_of(outcome)
    assert card.figure is not None and "ยังไม่มีสิทธิ์" in card.figure
    assert "บำนาญข้าราชการ" in card.lines[0]
    assert not any("บาท/เดือน" in x for x in (card.figure, *card.lines))


def test_a_social_security_pension_does_not_exclude_and_says_it_is_one_source() -> None:
    card = card_of(run(turn("แม่ได้บำนาญประกันสังคม", "out_of_scope"))[1])
    assert "ยังรับเบี้ยผู้สูงอายุได้" in everything(card) and "แหล่งเดียว" in everything(card)


@pytest.mark.parametrize("text", ["พ่อยังไม่ตาย", "ถามไว้ก่อน", "พ่อยังไม่ตาย ถามไว้ก่อนค่ะ", "ยังมีชีวิตอยู่ค่ะ"])
def test_a_living_person_is_never_answered_with_the_funeral_grant_as_if_they_had_died(text: str) -> None:
    name, outcome = run(turn(text, "emergency", topic=FUNERAL, confidence=0.9))
    card = card_of(outcome)
    assert name == "programmes"
    assert card.figure is not None and "ยังไม่มีสิทธิ์" in card.figure
    assert "หลังผู้สูงอายุเสียชีวิตแล้วเท่านั้น" in card.lines[0]
    assert "3,000" not in (card.figure or "")


def test_an_age_after_the_funeral_grant_asks_whether_the_person_has_died() -> None:
    _, outcome = run(turn("พ่ออายุ 70 ค่ะ", "funeral_assistance", topic=FUNERAL, confidence=0.3, entities={"age": 70}))
    [reply] = outcome.replies
    assert isinstance(reply, TextReply)
    assert "หลังเสียชีวิตแล้วเท่านั้น" in reply.text
    allowance, died = reply.quick_replies[0], reply.quick_replies[1]
    _, living = run(turn(None, topic=FUNERAL, postback=allowance.data))
    assert card_of(living).title == K.programmes[ELDERLY].name and card_of(living).figure == "700 บาท/เดือน"
    _, dead = run(turn(None, topic=FUNERAL, postback=died.data))
    assert card_of(dead).title == K.programmes[FUNERAL].name and card_of(dead).figure == "3,000 บาท"


def test_a_death_told_after_the_funeral_grant_gets_the_grant_not_a_question() -> None:
    t = turn("ขอเงินทำศพค่ะ พ่อเสียเมื่อวาน", "funeral_assistance", topic=FUNERAL, confidence=1.0)
    assert not programmes.accepts_follow_up(t, K)  # a new question about the same programme
    card = card_of(run(t)[1])
    assert card.figure == "3,000 บาท"


def test_a_funeral_intent_without_a_death_is_a_question_not_the_grant() -> None:
    name, outcome = run(turn("พ่ออายุ 70 ค่ะ", "funeral_assistance", topic=None, entities={"age": 70}))
    assert name == "programmes"
    assert isinstance(outcome.replies[0], TextReply)
    assert "หลังเสียชีวิตแล้วเท่านั้น" in outcome.replies[0].text


@pytest.mark.parametrize(
    ("text", "intent"),
    [("แล้วเบี้ยคนพิการล่ะ", "disability_allowance"), ("บัตรคนจนเงินเข้าวันไหน", "welfare_card"), ("ลูกพิการล่ะ", "out_of_scope")],
)
def test_another_programmes_name_is_a_topic_switch(text: str, intent: str) -> None:
    assert not programmes.accepts_follow_up(turn(text, intent, confidence=1.0), K)


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "danger"),
    [
        ("ขอบคุณค่ะ", "thanks", 1.0, None),
        ("สวัสดีค่ะ", "greeting", 1.0, None),
        ("ร้องเรียนเจ้าหน้าที่ อบต. ได้ไหม", "complaint", 1.0, None),
        ("แม่โดนพ่อตี ไปแจ้งที่ไหน", "complaint", 0.48, None),  # harm is never "where to apply"
        ("พ่อทุบตีแม่ ช่วยด้วย", "emergency", 1.0, "violence"),
        ("แล้วแม่ 85 ล่ะ", "emergency", 0.6, "violence"),  # a danger word always wins
    ],
)
def test_what_is_not_a_follow_up(text: str, intent: str, confidence: float, danger: str | None) -> None:
    t = turn(text, intent, confidence=confidence, danger=danger)
    assert not programmes.accepts_follow_up(t, K)
    if intent == "emergency":
        assert run(t)[0] == "emergency"


def test_without_a_topic_nothing_is_a_follow_up() -> None:
    assert not programmes.accepts_follow_up(turn("เงินเข้าวันไหน", topic=None), K)


def test_an_unclear_continuation_gets_one_clarifying_question_with_buttons() -> None:
    name, outcome = run(turn("แล้วต้องทำยังไงต่อ", "out_of_scope", confidence=0.3))
    [reply] = outcome.replies
    assert name == "programmes" and isinstance(reply, TextReply)
    assert K.programmes[ELDERLY].name in reply.text
    assert {"เอกสาร", "ยื่นที่ไหน", "วันเงินเข้า"} <= {b.label for b in reply.quick_replies}
    assert all(b.data and f"topic={ELDERLY}" in b.data for b in reply.quick_replies if b.label != "เรื่องอื่น")


def test_a_programme_answer_sets_the_topic_and_asks_for_an_age_only_when_it_decides_the_amount() -> None:
    _, elderly = run(turn("เบี้ยผู้สูงอายุ", ELDERLY, topic=None, confidence=1.0))
    assert topic_and_slot(elderly) == (ELDERLY, "age")
    _, card = run(turn("บัตรคนพิการทำที่ไหน", "disability_card", topic=None, confidence=1.0))
    assert topic_and_slot(card) == ("disability_card", None)
    form = DialogueState(form="eligibility", slots={"age": 70}, topic=None)
    kept = programmes.handle(replace(turn("เบี้ยผู้สูงอายุ", ELDERLY, topic=None), state=form), K)
    assert kept.state is not None and kept.state.form == "eligibility" and kept.state.slots == {"age": 70}


def test_the_card_has_the_figure_first_short_lines_source_and_detail_postbacks() -> None:
    _, outcome = run(turn("แม่อายุ 72 ได้เบี้ยยังชีพเดือนละเท่าไหร่", ELDERLY, topic=None, entities={"age": 72}))
    card = card_of(outcome)
    assert card.figure == "700 บาท/เดือน"
    assert 2 <= len(card.lines) <= 6
    assert card.footnote and card.footnote.startswith("ที่มา:") and "2568" in card.footnote
    assert [b.label for b in card.buttons] == ["เอกสาร", "ยื่นที่ไหน", "เช็คสิทธิ์"]
    assert [b.data for b in card.buttons] == [
        f"topic={ELDERLY}&aspect=documents",
        f"topic={ELDERLY}&aspect=where",
        f"topic={ELDERLY}&aspect=eligibility",
    ]


@pytest.mark.parametrize("aspect", ["documents", "where", "eligibility", "pay_day", "proxy", "late_payment"])
def test_detail_postbacks_answer_the_aspect_without_any_topic_in_state(aspect: str) -> None:
    name, outcome = run(turn(None, "out_of_scope", topic=None, postback=f"topic={ELDERLY}&aspect={aspect}"))
    card = card_of(outcome)
    assert name == "programmes"
    assert card.title == K.follow_ups.aspects[programmes.Aspect(aspect)].heading
    assert outcome.state is not None and outcome.state.topic == ELDERLY


@pytest.mark.parametrize("programme_id", sorted(K.programmes))
@pytest.mark.parametrize("aspect", list(programmes.Aspect))
def test_every_aspect_of_every_programme_says_something_or_where_to_ask(programme_id: str, aspect: str) -> None:
    card = programmes.aspect_card(K.programmes[programme_id], programmes.Aspect(aspect), K)
    assert all(line.strip() for line in card.lines)
    assert len(card.lines) >= 2
    validate(render.render([card]))


def test_the_screeners_card_names_the_reason_and_the_figure() -> None:
    card = programmes.programme_card(K.programmes[ELDERLY], 81, "เชียงใหม่", "อายุ 81 ปี")
    assert card.figure == "800 บาท/เดือน" and card.lines[0] == "อายุ 81 ปี"
    assert card.footnote and "ที่มา:" in card.footnote
    validate(render.render([card]))


def test_thai_dates_come_from_pythainlp() -> None:
    from datetime import date

    assert programmes.thai_date(date(2025, 10, 6)) == "6 ต.ค. 2568"


# --- rendering: what LINE receives, checked against the SDK's models ----------------------------------------


def validate(messages: list[dict[str, Any]]) -> None:
    """Every message as the SDK's models read it, plus LINE's limits the models do not check."""
    for message in messages:
        model = FlexMessage if message["type"] == "flex" else TextMessage
        assert model.from_dict(message) is not None
        if message["type"] == "text":
            assert 0 < len(message["text"]) <= 5000
        else:
            assert 0 < len(message["altText"]) <= 400
            for text in texts_in(message["contents"]):
                assert text.strip(), "Flex refuses an empty text"
        items = message.get("quickReply", {}).get("items", [])
        assert len(items) <= 13
        actions = [i["action"] for i in items] + list(actions_in(message.get("contents", {})))
        for action in actions:
            assert 0 < len(action["label"]) <= 20
            if action["type"] == "postback":
                assert 0 < len(action["data"]) <= 300 and 0 < len(action["displayText"]) <= 300
            elif action["type"] == "uri":
                assert action["uri"].startswith("tel:")


def texts_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "text":
            yield node["text"]
        for value in node.values():
            yield from texts_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts_in(value)


def actions_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("action"), dict):
            yield node["action"]
        for value in node.values():
            yield from actions_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from actions_in(value)


def test_buttons_render_as_postbacks_that_show_their_text_and_phone_calls() -> None:
    reply = TextReply(
        "เลือกได้เลยค่ะ",
        (
            Button(label="90 ปีขึ้นไป", text="อายุ 90 ปีขึ้นไป", data="slot=age&value=90"),
            Button(label="โทร 1300", text="โทร 1300", tel="1300"),
            Button(label="เมนู", text="เมนู"),
        ),
    )
    [message] = render.render([reply])
    postback, call, plain = (item["action"] for item in message["quickReply"]["items"])
    assert postback == {
        "type": "postback",
        "label": "90 ปีขึ้นไป",
        "data": "slot=age&value=90",
        "displayText": "อายุ 90 ปีขึ้นไป",
    }
    assert call == {"type": "uri", "label": "โทร 1300", "uri": "tel:1300"}
    assert plain == {"type": "message", "label": "เมนู", "text": "เมนู"}
    validate([message])


def test_a_card_never_sends_an_empty_heading_or_line() -> None:
    card = CardReply(alt_text="", title="", lines=("", "  ", "มีข้อความ"), figure="", footnote=" ")
    [message] = render.render([card])
    validate([message])
    assert list(texts_in(message["contents"])) == ["มีข้อความ"]
    [empty] = render.render([CardReply(alt_text="", title=" ", lines=())])
    validate([empty])


def test_every_programme_answer_renders_as_the_sdk_accepts() -> None:
    for programme in K.programmes.values():
        for age in (None, 5, 45, 72, 95):
            outcome = Outcome([programmes.main_card(programme, K, age=age)])
            messages = render.render(outcome.replies)
            validate(messages)
            [message] = messages
            assert message["contents"]["footer"]["contents"][0]["action"]["type"] == "postback"


def test_hotline_buttons_dial() -> None:
    buttons = hotline_buttons(K, ["1300", "191", "1669", "1323", "1300"])
    assert [(b.label, b.text, b.tel) for b in buttons] == [
        (f"โทร {K.hotlines.get(n).short}", f"โทร {n}", n) for n in ("1300", "191", "1669", "1323")
    ]
    validate(render.render([TextReply("โทรได้เลยค่ะ", buttons)]))
    with pytest.raises(ValueError, match="1507"):
        hotline_buttons(K, ["1507"])


# --- end to end: conversations through the webhook ------------------------------------------------------


class Chat:
    def __init__(self, app: RunningApp, fake: FakeLine) -> None:
        self.app, self.fake = app, fake

    def send(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        assert post_webhook(self.app.url, [raw]).status_code == 200
        reply = self.fake.wait_reply(raw["replyToken"])
        assert reply is not None, f"no reply to {raw}"
        validate(reply)
        return reply

    def say(self, uid: str, text: str) -> list[dict[str, Any]]:
        return self.send(text_event(uid, text))

    def tap(self, uid: str, data: str) -> list[dict[str, Any]]:
        return self.send(event(uid, "postback", replyToken=uuid_hex(), postback={"data": data}))


def uuid_hex() -> str:
    import uuid

    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    directory: Path = tmp_path_factory.mktemp("follow-ups")
    with FakeLineServer() as fake, RunningApp(make_settings(f"sqlite:///{directory}/helpdesk.db", fake)) as app:
        yield Chat(app, fake)


def said(messages: list[dict[str, Any]]) -> str:
    """What the person reads: texts, and every text inside the cards."""
    parts: list[str] = []
    for message in messages:
        parts += [message["text"]] if message["type"] == "text" else list(texts_in(message["contents"]))
    return "\n".join(parts)


def figure(message: dict[str, Any]) -> str:
    """The big text of a card (its second body text, after the programme's name)."""
    return str(next(c for c in message["contents"]["body"]["contents"] if c.get("size") == "xl")["text"])


def footer_actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["action"] for c in message["contents"].get("footer", {}).get("contents", [])]


ASK = "แม่อายุ 72 ได้เบี้ยยังชีพเดือนละเท่าไหร่"


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ("ต้องเอาอะไรไปบ้าง", "ทะเบียนบ้าน"),
        ("ไปสมัครที่ไหน", "อบต."),
        ("เงินเข้าวันไหน", "วันที่ 10"),
        ("ให้ลูกไปยื่นแทนได้ไหม", "หนังสือมอบอำนาจ"),
        ("เดือนนี้เงินไม่เข้า", "ตรวจสอบ"),
    ],
)
def test_conversation_programme_then_a_detail(chat: Chat, follow_up: str, expected: str) -> None:
    uid = user_id(f"detail-{follow_up}")
    [first, *_] = chat.say(uid, ASK)
    assert first["type"] == "flex" and figure(first) == "700 บาท/เดือน"
    answer = chat.say(uid, follow_up)
    assert answer[0]["type"] == "flex"
    assert "เบี้ยยังชีพผู้สูงอายุ" in said(answer) and expected in said(answer)
    assert "ขอโทษที่ได้รับความไม่สะดวก" not in said(answer)  # not the complaint template


@pytest.mark.parametrize(
    ("follow_up", "amount"),
    [
        ("แล้วแม่ 85 ล่ะ", "800 บาท/เดือน"),
        ("พ่ออายุ 70 ค่ะ", "700 บาท/เดือน"),
        ("68", "600 บาท/เดือน"),
        ("ยายอายุ๙๑", "1,000 บาท/เดือน"),
    ],
)
def test_conversation_programme_then_another_persons_age(chat: Chat, follow_up: str, amount: str) -> None:
    uid = user_id(f"age-{follow_up}")
    chat.say(uid, ASK)
    [card, *_] = chat.say(uid, follow_up)
    assert card["type"] == "flex"
    assert figure(card) == amount
    assert "1300" not in said([card]) or "ที่มา:" in said([card])  # not the emergency reply
    assert "เงินสงเคราะห์ในการจัดการศพ" not in said([card])


def test_conversation_pension_exclusion(chat: Chat) -> None:
    uid = user_id("pension")
    chat.say(uid, "เบี้ยคนแก่ได้เท่าไหร่")
    [card] = chat.say(uid, "แม่รับบำนาญอยู่ค่ะ")
    assert "ยังไม่มีสิทธิ์" in figure(card)
    assert "บำนาญข้าราชการ" in said([card])


def test_conversation_funeral_grant_for_a_living_father(chat: Chat) -> None:
    uid = user_id("living-father")
    chat.say(uid, "ค่าทำศพผู้สูงอายุได้เท่าไหร่")
    [card] = chat.say(uid, "พ่อยังไม่ตาย ถามไว้ก่อน")
    assert "ยังไม่มีสิทธิ์" in figure(card)
    assert "หลังผู้สูงอายุเสียชีวิตแล้วเท่านั้น" in said([card])
    [question] = chat.say(uid, "พ่ออายุ 70 ค่ะ")
    assert question["type"] == "text" and "หลังเสียชีวิตแล้วเท่านั้น" in question["text"]
    allowance = question["quickReply"]["items"][0]["action"]
    assert allowance["type"] == "postback"
    [living] = chat.tap(uid, allowance["data"])
    assert figure(living) == "700 บาท/เดือน" and "เบี้ยยังชีพผู้สูงอายุ" in said([living])


def test_conversation_topic_switch(chat: Chat) -> None:
    uid = user_id("switch")
    chat.say(uid, ASK)
    [card, *_] = chat.say(uid, "แล้วเบี้ยคนพิการล่ะ")
    assert "เบี้ยความพิการ" in said([card]) and figure(card) == "800–1,000 บาท/เดือน"
    [docs] = chat.say(uid, "ใช้เอกสารอะไร")
    assert "บัตรประจำตัวคนพิการ" in said([docs])  # the new topic's documents


def test_conversation_detail_buttons_are_postbacks(chat: Chat) -> None:
    uid = user_id("buttons")
    [card, *_] = chat.say(uid, ASK)
    actions = footer_actions(card)
    assert [a["label"] for a in actions] == ["เอกสาร", "ยื่นที่ไหน", "เช็คสิทธิ์"]
    assert all(a["type"] == "postback" and a["displayText"] for a in actions)
    [docs] = chat.tap(uid, actions[0]["data"])
    assert "บัตรประชาชนตัวจริง" in said([docs])
    [where] = chat.tap(uid, actions[1]["data"])
    assert "สำนักงานเขต" in said([where])
    [check] = chat.tap(uid, actions[2]["data"])
    assert "สัญชาติไทย" in said([check]) and "อายุ 60 ปีขึ้นไป" in said([check])
    labels = [i["action"]["label"] for i in check["quickReply"]["items"]]
    assert labels[0] == "เช็คสิทธิทุกเรื่อง"


def test_conversation_real_danger_after_a_programme_answer_is_an_emergency(chat: Chat) -> None:
    uid = user_id("danger-after-topic")
    chat.say(uid, ASK)
    [first, *_] = chat.say(uid, "พ่อทุบตีแม่ ช่วยด้วย")
    assert all(n in first["text"] for n in ("1300", "191", "1669", "1323"))
