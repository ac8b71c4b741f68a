"""Privacy as promised (PDPA), as a citizen meets it through the webhook: consent per purpose, nothing kept
after a decline, "ข้อมูลของฉัน", erasure after a confirmation, raw payloads gone once processed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot import engine
from bot.queue.redis_streams import stream_key
from handlers import data_rights, forms
from handlers.base import (
    DialogueState,
    EraseMyData,
    EventKind,
    Person,
    RecordConsent,
    StoredData,
    Turn,
    Understanding,
)
from knowledge.loader import get_knowledge
from tests.conftest import RunningApp, event, make_settings, post_webhook, text_event, user_id
from tests.support.db_checks import wait_until
from tests.support.fake_line import FakeLine, FakeLineServer
from tests.test_conversation import Chat, follow, message_event, quick_labels, start_chat

K = get_knowledge()
VERSION = K.replies.privacy_notice_version


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    with FakeLineServer() as fake:
        yield from start_chat(fake, tmp_path_factory.mktemp("privacy"))


def postback(uid: str, data: str) -> dict[str, Any]:
    return event(uid, "postback", postback={"data": data})


def consents(chat: Chat, uid: str) -> list[tuple[str, str]]:
    rows = chat.rows(
        "SELECT c.purpose, c.state FROM consent_records c JOIN line_users u ON u.id = c.user_id"
        " WHERE u.line_user_id = :uid ORDER BY c.id",
        uid=uid,
    )
    return [(r["purpose"], r["state"]) for r in rows]


def user_row(chat: Chat, uid: str) -> dict[str, Any]:
    [row] = chat.rows("SELECT * FROM line_users WHERE line_user_id = :uid", uid=uid)
    return row


def stored_count(chat: Chat, table: str, uid: str) -> int:
    return len(chat.rows(f"SELECT id FROM {table} WHERE line_user_id = :uid", uid=uid))


# --- consent is explicit and per purpose ---------------------------------------------------------------


def test_consent_buttons_are_postbacks_that_record_the_general_purpose(chat: Chat) -> None:
    uid = user_id("privacy-button-consent")
    _, notice = chat.send(follow(uid))
    assert {"ยินยอม", "ไม่ยินยอม"} <= set(quick_labels(notice))
    assert {b.data for b in K.replies.consent_buttons} >= {
        "consent=general&state=given",
        "consent=general&state=declined",
    }

    [answer] = chat.send(postback(uid, "consent=general&state=given"))

    assert answer["text"] == K.replies.consent_given
    assert consents(chat, uid) == [("general", "given")]
    row = user_row(chat, uid)
    assert (row["consent_state"], row["sensitive_consent_state"]) == ("given", "unknown")


@pytest.mark.parametrize("typed", ["ยินยอมค่ะ", "ยินยอม ครับ", "ให้ความยินยอม"])
def test_typed_consent_words_count(chat: Chat, typed: str) -> None:
    uid = user_id(f"privacy-typed-{typed}")
    chat.send(follow(uid))
    [answer] = chat.say(uid, typed)
    assert answer["text"] == K.replies.consent_given
    assert consents(chat, uid) == [("general", "given")]


@pytest.mark.parametrize("bare", ["ตกลง", "ok", "โอเค", "ตกลงค่ะ", "agree"])
def test_a_bare_ok_inside_a_flow_is_not_a_consent_decision(chat: Chat, bare: str) -> None:
    uid = user_id(f"privacy-bare-{bare}")
    chat.send(follow(uid))
    chat.say(uid, "เช็คสิทธิ")  # the screener asks its first question

    chat.say(uid, bare)

    assert consents(chat, uid) == []
    assert user_row(chat, uid)["consent_state"] == "unknown"


def test_sensitive_consent_postback_is_recorded_for_its_own_purpose(chat: Chat) -> None:
    uid = user_id("privacy-sensitive")
    chat.send(follow(uid))
    chat.send(postback(uid, "consent=general&state=given"))

    [answer] = chat.send(postback(uid, "consent=sensitive&state=given"))
    assert answer["text"] == K.replies.sensitive_consent_given
    assert user_row(chat, uid)["sensitive_consent_state"] == "given"

    [answer] = chat.send(postback(uid, "consent=sensitive&state=declined"))
    assert answer["text"] == K.replies.sensitive_consent_declined
    row = user_row(chat, uid)
    assert (row["consent_state"], row["sensitive_consent_state"]) == ("given", "declined")
    assert consents(chat, uid) == [("general", "given"), ("sensitive", "given"), ("sensitive", "declined")]
    versions = {r["notice_version"] for r in chat.rows("SELECT notice_version FROM consent_records")}
    assert VERSION in versions


def test_sensitive_consent_postback_in_the_middle_of_the_screener_keeps_the_screener(chat: Chat) -> None:
    uid = user_id("privacy-sensitive-mid-form")
    chat.say(uid, "เช็คสิทธิ")
    chat.send(postback(uid, "consent=sensitive&state=given"))
    assert consents(chat, uid) == [("sensitive", "given")]
    [answer] = chat.say(uid, "อายุ 67")  # the screener still takes the answer it asked for
    assert answer["text"].startswith("มีบัตรประจำตัวคนพิการไหม"), answer["text"]  # its next question


def test_withdrawing_withdraws_every_purpose_given(chat: Chat) -> None:
    uid = user_id("privacy-withdraw")
    chat.send(postback(uid, "consent=general&state=given"))
    chat.send(postback(uid, "consent=sensitive&state=given"))

    [answer] = chat.say(uid, "ถอนความยินยอม")

    assert answer["text"] == K.replies.consent_withdrawn
    assert consents(chat, uid)[-2:] == [("general", "withdrawn"), ("sensitive", "withdrawn")]
    row = user_row(chat, uid)
    assert (row["consent_state"], row["sensitive_consent_state"]) == ("withdrawn", "withdrawn")
    assert row["display_name"] is None  # the profile name goes with the consent


# --- after a decline: only what the service needs --------------------------------------------------------


def test_after_declining_the_conversation_is_answered_but_not_stored(chat: Chat) -> None:
    uid = user_id("privacy-decliner")
    chat.send(follow(uid))
    assert user_row(chat, uid)["display_name"] == "สมศรี"
    chat.say(uid, "ไม่ยินยอม")
    assert user_row(chat, uid)["display_name"] is None
    before = stored_count(chat, "conversation_messages", uid)

    said = text_event(uid, "แม่อายุ 72 อยู่ขอนแก่น ได้เบี้ยเท่าไหร่คะ เบอร์ 0812345678")
    [answer, *_] = chat.send(said)
    picture = message_event(uid, {"id": "900000000101", "type": "image"})
    [on_picture] = chat.send(picture)

    assert "700" in json.dumps(answer, ensure_ascii=False)  # answers still work
    assert on_picture["text"] == K.replies.attachment_not_kept
    assert stored_count(chat, "conversation_messages", uid) == before  # nothing new, either direction
    assert chat.rows("SELECT id FROM conversation_messages WHERE text LIKE '%แม่อายุ%'") == []
    assert stored_count(chat, "attachments", uid) == 0
    assert user_row(chat, uid)["display_name"] is None
    # The ledger still has the events (exactly once), without their content.
    ids = {r["webhook_event_id"] for r in chat.rows("SELECT webhook_event_id FROM processed_events")}
    assert {said["webhookEventId"], picture["webhookEventId"]} <= ids


def test_consenting_again_after_a_decline_stores_again(chat: Chat) -> None:
    uid = user_id("privacy-changes-mind")
    chat.say(uid, "ไม่ยินยอม")
    chat.say(uid, "ยินยอม")
    chat.say(uid, "เบี้ยคนพิการได้เท่าไหร่")
    texts = [r["text"] for r in chat.rows("SELECT text FROM conversation_messages WHERE line_user_id = :u", u=uid)]
    assert "เบี้ยคนพิการได้เท่าไหร่" in texts


# --- "ข้อมูลของฉัน" ---------------------------------------------------------------------------------------


def test_my_data_shows_consents_counts_and_the_buttons(chat: Chat) -> None:
    uid = user_id("privacy-my-data")
    chat.send(follow(uid))
    chat.send(postback(uid, "consent=general&state=given"))
    chat.say(uid, "เบี้ยผู้สูงอายุได้เท่าไหร่")
    chat.say(uid, "สมัครที่ไหน")
    chat.send(message_event(uid, {"id": "900000000102", "type": "image"}))

    [answer] = chat.say(uid, "ข้อมูลของฉัน")

    text = answer["text"]
    # The consent postback, two questions, the picture and this request are the person's messages.
    assert "5 ข้อความ ตั้งแต่" in text, text
    assert "1 ไฟล์ ตั้งแต่" in text
    assert "ให้ความยินยอมแล้ว (" in text  # general, with its date (Buddhist era)
    assert "25" in text.split("ให้ความยินยอมแล้ว (")[1][:12]
    assert "ข้อมูลสุขภาพ/ความพิการ: ยังไม่ได้ตอบ" in text
    assert "ชื่อโปรไฟล์ LINE: เก็บไว้" in text
    assert "เรื่องที่คุยค้างไว้: ไม่มี" in text
    assert {"ลบข้อมูลของฉัน", "ถอนความยินยอม", "ประกาศฉบับเต็ม"} <= set(quick_labels(answer))


def test_my_data_after_a_decline_shows_nothing_kept(chat: Chat) -> None:
    uid = user_id("privacy-my-data-declined")
    chat.send(postback(uid, "consent=general&state=declined"))
    chat.say(uid, "เบี้ยผู้สูงอายุได้เท่าไหร่")
    [answer] = chat.say(uid, "ข้อมูลของฉันมีอะไรบ้าง")
    # Only the tap that declined (sent before the decline took effect); nothing after it.
    assert "ข้อความที่คุณส่ง: 1 ข้อความ" in answer["text"]
    assert "ความยินยอมใช้บริการ: ไม่ยินยอม (" in answer["text"]
    assert "ชื่อโปรไฟล์ LINE: ไม่ได้เก็บ" in answer["text"]


# --- erasure -----------------------------------------------------------------------------------------------


def tell_things(chat: Chat, uid: str, picture_id: str) -> None:
    chat.send(follow(uid))
    chat.send(postback(uid, "consent=general&state=given"))
    chat.send(postback(uid, "consent=sensitive&state=given"))
    chat.say(uid, "แม่ติดเตียง อายุ 81 เบอร์ 0812345678")
    chat.send(message_event(uid, {"id": picture_id, "type": "image"}))
    assert stored_count(chat, "conversation_messages", uid) > 0
    assert stored_count(chat, "attachments", uid) == 1


@pytest.mark.parametrize(
    ("request_text", "confirm"),
    [
        ("ลบข้อมูลของฉัน", "ยืนยันลบ"),
        ("ลบข้อมูลผมด้วย", "ลบเลยครับ"),
        ("ไม่อยากให้เก็บข้อมูลแล้ว ลบให้หน่อย", "postback"),
        ("ช่วยลบข้อมูลหนูออกด้วยค่ะ", "ใช่ ลบ"),
    ],
)
def test_erasure_after_confirmation_removes_the_persons_data(chat: Chat, request_text: str, confirm: str) -> None:
    uid = user_id(f"privacy-erase-{request_text}")
    picture_id = str(900000000200 + len(request_text))
    tell_things(chat, uid, picture_id)

    [question] = chat.say(uid, request_text)
    assert question["text"] == K.replies.erase_question
    assert set(quick_labels(question)) == {"ยืนยันลบ", "ไม่ลบ"}
    assert stored_count(chat, "conversation_messages", uid) > 0  # nothing erased before the confirmation

    [done] = chat.send(postback(uid, "erase=confirm")) if confirm == "postback" else chat.say(uid, confirm)

    assert done["text"] == K.replies.erase_done
    assert stored_count(chat, "conversation_messages", uid) == 0
    assert stored_count(chat, "attachments", uid) == 0
    assert chat.rows("SELECT id FROM attachments WHERE line_message_id = :m", m=picture_id) == []
    row = user_row(chat, uid)
    assert row["display_name"] is None and row["language"] is None
    assert (row["consent_state"], row["sensitive_consent_state"]) == ("withdrawn", "withdrawn")
    assert consents(chat, uid)[-2:] == [("general", "withdrawn"), ("sensitive", "withdrawn")]
    [proof] = chat.rows("SELECT * FROM erasure_records WHERE user_id = :id", id=row["id"])
    assert proof["erased_at"] is not None and proof["attachments"] == 1
    assert set(proof) == {"id", "user_id", "erased_at", "messages", "attachments"}  # no content
    sent = chat.rows("SELECT messages FROM outbox WHERE line_user_id = :uid AND status IN ('sent', 'failed')", uid=uid)
    assert all("0812345678" not in json.dumps(r["messages"]) for r in sent)
    assert wait_until(
        lambda: all(
            r["payload"] in ({}, "{}")
            for r in chat.rows("SELECT payload FROM inbox_events WHERE user_key = :uid", uid=uid)
        )
    )

    # Later messages are answered and not stored (consent was withdrawn by the erasure).
    [hello] = chat.say(uid, "สวัสดีค่ะ")
    assert hello["text"].startswith("สวัสดีค่ะ")
    assert stored_count(chat, "conversation_messages", uid) == 0


@pytest.mark.parametrize("answer", ["ไม่ลบ", "postback", "เบี้ยผู้สูงอายุได้เท่าไหร่", "ตกลง"])
def test_anything_but_a_confirmation_cancels_the_erasure(chat: Chat, answer: str) -> None:
    uid = user_id(f"privacy-keep-{answer}")
    chat.say(uid, "ยินยอม")
    chat.say(uid, "ลบข้อมูลของฉัน")
    kept = stored_count(chat, "conversation_messages", uid)

    [reply, *_] = chat.send(postback(uid, "erase=cancel")) if answer == "postback" else chat.say(uid, answer)

    assert reply["text"] == K.replies.erase_cancelled
    assert stored_count(chat, "conversation_messages", uid) >= kept
    assert user_row(chat, uid)["consent_state"] == "given"
    assert chat.rows("SELECT id FROM erasure_records WHERE user_id = :id", id=user_row(chat, uid)["id"]) == []
    # "ยืนยัน" now means nothing: the question is gone.
    chat.say(uid, "ยืนยัน")
    assert user_row(chat, uid)["consent_state"] == "given"


def test_erasure_can_be_asked_in_the_middle_of_the_screener(chat: Chat) -> None:
    uid = user_id("privacy-erase-mid-form")
    chat.say(uid, "ยินยอม")
    chat.say(uid, "เช็คสิทธิ")
    [question] = chat.say(uid, "ลบข้อมูลของฉันด้วยค่ะ")
    assert question["text"] == K.replies.erase_question
    [done] = chat.say(uid, "ยืนยัน")
    assert done["text"] == K.replies.erase_done
    assert stored_count(chat, "conversation_messages", uid) == 0


def test_my_data_after_erasure_shows_the_erasure_date(chat: Chat) -> None:
    uid = user_id("privacy-after-erasure")
    chat.say(uid, "ยินยอม")
    chat.say(uid, "ลบข้อมูลของฉัน")
    chat.send(postback(uid, "erase=confirm"))
    [answer] = chat.say(uid, "ข้อมูลของฉัน")
    assert "ลบข้อมูลตามคำขอล่าสุด:" in answer["text"]
    assert "ความยินยอมใช้บริการ: ถอนความยินยอมแล้ว (" in answer["text"]
    assert "ข้อความที่คุณส่ง: ไม่มี" in answer["text"]


# --- raw webhook payloads ------------------------------------------------------------------------------------


def test_embedded_inbox_keeps_the_event_id_but_not_the_raw_body(chat: Chat) -> None:
    uid = user_id("privacy-raw-embedded")
    said = text_event(uid, "บ้านเลขที่ 99 เบอร์ 0899999999")
    chat.send(said)

    def cleared() -> bool:
        rows = chat.rows("SELECT done, payload FROM inbox_events WHERE webhook_event_id = :e", e=said["webhookEventId"])
        return len(rows) == 1 and bool(rows[0]["done"]) and rows[0]["payload"] in ({}, "{}")

    assert wait_until(cleared)
    assert chat.rows("SELECT id FROM inbox_events WHERE CAST(payload AS TEXT) LIKE '%0899999999%'") == []
    # A redelivery of the same event is still dropped (the ID deduplicates) and does not bring the body back.
    assert post_webhook(chat.app.url, [said]).status_code == 200
    time.sleep(0.3)
    assert cleared()


def test_redis_stream_entries_are_deleted_once_processed(fake_line: FakeLine, tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/helpdesk.db", fake_line, redis_url)
    said = text_event(user_id("privacy-raw-redis"), "เบอร์ 0877777777 ช่วยด้วยเรื่องเบี้ย")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with RunningApp(settings) as app:
            assert post_webhook(app.url, [said]).status_code == 200
            assert fake_line.wait_reply(said["replyToken"]) is not None

            def drained() -> bool:
                return sum(int(client.xlen(stream_key(p))) for p in range(settings.queue_partitions)) == 0

            assert wait_until(drained)
            # What stays in Redis (dedup keys, leases, state) never holds the raw body.
            values = [client.get(k) or "" for k in client.keys("helpdesk:*") if client.type(k) == "string"]
            assert values and not any("0877777777" in value for value in values)
    finally:
        client.close()


# --- the handler on its own ----------------------------------------------------------------------------------


def a_turn(text: str | None = None, *, data: str | None = None, form: str | None = None, **extra: Any) -> Turn:
    return Turn(
        person=Person("U-unit", None, extra.pop("consent", "unknown"), False, extra.pop("sensitive", "unknown")),
        kind=EventKind.postback if data else EventKind.text,
        understanding=Understanding(extra.pop("intent", "data_rights"), 1.0),
        state=DialogueState(form=form, requested_slot=extra.pop("slot", None)),
        text=text,
        postback_data=data,
        **extra,
    )


@pytest.mark.parametrize("word", ["ตกลง", "ok", "OK", "agree", "ยอมรับ", "ไม่ตกลง", "โอเค", "ได้"])
def test_ambiguous_words_are_not_consent_commands(word: str) -> None:
    assert not data_rights.is_consent_command(data_rights.normalise(word))
    assert data_rights.decision_of(a_turn(word)) is None


def test_typed_consent_answers_the_sensitive_question_when_that_was_asked() -> None:
    asked = a_turn("ยินยอมค่ะ", form="eligibility", slot=data_rights.SENSITIVE_SLOT)
    # data_rights on its own reads it as the sensitive purpose and keeps the form …
    outcome = data_rights.handle(asked, K)
    assert outcome.effects == [RecordConsent("given", VERSION, "sensitive")]
    assert outcome.state is not None and outcome.state.form == "eligibility"
    # … and through the engine (where the form takes its own question first) the same consent is recorded.
    _, through_engine = engine.run_turn(asked, K)
    assert RecordConsent("given", VERSION, "sensitive") in through_engine.effects
    assert RecordConsent("given", VERSION) not in through_engine.effects


def test_sensitive_consent_question_has_postback_buttons() -> None:
    question = forms.sensitive_consent_reply(K)
    assert question.text == K.replies.sensitive_consent_question
    assert [(b.text, b.data) for b in question.quick_replies] == [
        ("ยินยอม", "consent=sensitive&state=given"),
        ("ไม่ยินยอม", "consent=sensitive&state=declined"),
        ("ยกเลิก", None),
    ]
    for button in question.quick_replies[:2]:
        assert data_rights.is_consent_command(data_rights.normalise(button.data or ""))


def test_erasure_request_opens_the_confirmation_form() -> None:
    outcome = data_rights.handle(a_turn("ลบข้อมูลของฉัน"), K)
    assert outcome.state == DialogueState(form=data_rights.ERASE_FORM, requested_slot="confirm")
    assert [b.data for b in outcome.replies[0].quick_replies] == ["erase=confirm", "erase=cancel"]
    confirmed = data_rights.handle(a_turn("ยืนยันลบ", form=data_rights.ERASE_FORM, intent="out_of_scope"), K)
    assert confirmed.effects == [EraseMyData()]
    assert confirmed.state == DialogueState()
    assert data_rights.accepts(a_turn("อะไรก็ได้", form=data_rights.ERASE_FORM))
    assert not data_rights.accepts(a_turn("อะไรก็ได้"))


def test_a_retention_question_is_not_an_erasure_request() -> None:
    outcome = data_rights.handle(a_turn("ข้อมูลที่เคยส่งให้ จะถูกลบเมื่อไหร่"), K)
    assert outcome.effects == [] and (outcome.state is None or outcome.state.form is None)


def test_summary_without_stored_facts_still_reads_well() -> None:
    text = data_rights.summary_text(a_turn("ข้อมูลของฉัน", stored=StoredData()), K)
    assert "ข้อความที่คุณส่ง: ไม่มี" in text and "{" not in text
