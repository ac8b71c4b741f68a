"""The dialogue as a citizen meets it (through the running app and the fake LINE), and its parts in isolation."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot import engine
from bot.line import render
from bot.line.events import parse
from bot.nlu.entities import redact
from handlers import forms
from handlers.base import (
    AttachmentInfo,
    CardReply,
    DialogueState,
    EventKind,
    LocationInfo,
    Outcome,
    Person,
    RecordConsent,
    TextReply,
    Turn,
    Understanding,
)
from knowledge.loader import KNOWLEDGE_DIR, Button, Knowledge, get_knowledge, load_knowledge
from tests.conftest import HELPDESK, RunningApp, event, make_settings, post_webhook, text_event, user_id
from tests.support.db_checks import query, wait_processed
from tests.support.fake_line import PNG_1PX, FakeLine, FakeLineServer

HOTLINES = ("1300", "191", "1669", "1323")
K = get_knowledge()


# --- a running app shared by the dialogue tests (each test is its own LINE user) ------------------------


@dataclass
class Chat:
    app: RunningApp
    fake: FakeLine
    database_url: str

    def send(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver one event and return the bot's reply to it."""
        assert post_webhook(self.app.url, [raw]).status_code == 200
        reply = self.fake.wait_reply(raw["replyToken"])
        assert reply is not None, f"no reply to {raw['type']}"
        return reply

    def say(self, uid: str, text: str) -> list[dict[str, Any]]:
        return self.send(text_event(uid, text))

    def message(self, uid: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        return self.send(message_event(uid, message))

    def settle(self, raw: dict[str, Any]) -> None:
        """Deliver an event that gets no answer and wait until its turn has committed."""
        assert post_webhook(self.app.url, [raw]).status_code == 200
        assert wait_processed(self.database_url, [raw["webhookEventId"]])

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        return query(self.database_url, sql, **params)


def start_chat(fake: FakeLine, directory: Path, **overrides: Any) -> Iterator[Chat]:
    url = f"sqlite:///{directory}/helpdesk.db"
    with RunningApp(make_settings(url, fake, **overrides)) as app:
        yield Chat(app, fake, url)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    with FakeLineServer() as fake:
        yield from start_chat(fake, tmp_path_factory.mktemp("chat"))


@pytest.fixture
def small_attachments_chat(fake_line: FakeLine, tmp_path: Path) -> Iterator[Chat]:
    yield from start_chat(fake_line, tmp_path, attachment_max_bytes=100)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text", m.get("altText", "")) for m in messages]


def quick_labels(message: dict[str, Any]) -> list[str]:
    return [item["action"]["label"] for item in message.get("quickReply", {}).get("items", [])]


def message_event(uid: str, message: dict[str, Any]) -> dict[str, Any]:
    """A message event as LINE sends it (the SDK's models insist on the quote token and content provider)."""
    defaults: dict[str, Any] = {"id": str(time.time_ns())[-14:], "quoteToken": uuid.uuid4().hex}
    if message["type"] in ("image", "video", "audio"):
        defaults["contentProvider"] = {"type": "line"}
    if message["type"] == "sticker":
        defaults["stickerResourceType"] = "STATIC"
    if message["type"] in ("audio", "file", "location"):
        del defaults["quoteToken"]
    raw = event(uid, "message", message={**defaults, **message})
    assert parse(raw).parsed_by_sdk, "not a realistic LINE event: the SDK's models refuse it"
    return raw


def follow(uid: str) -> dict[str, Any]:
    return event(uid, "follow", follow={"isUnblocked": False})


# --- follow, privacy notice and consent -------------------------------------------------------------------


def test_follow_welcomes_and_shows_the_privacy_notice_with_consent_buttons(chat: Chat) -> None:
    welcome, notice = chat.send(follow(user_id("new-follower")))

    assert "ยินดีต้อนรับ" in welcome["text"]
    assert "สมศรี" in welcome["text"]  # the display name from LINE's profile API
    assert "PDPA" in notice["text"] or "ข้อมูลส่วนบุคคล" in notice["text"]
    assert "เก็บ" in notice["text"]  # what is collected
    assert "สิทธิ" in notice["text"]  # the person's rights
    assert "ติดต่อ" in notice["text"]  # whom to contact
    assert {"ยินยอม", "ไม่ยินยอม"} <= set(quick_labels(notice))


def consent_of(chat: Chat, uid: str) -> tuple[str, list[dict[str, Any]]]:
    [user] = chat.rows("SELECT id, consent_state FROM line_users WHERE line_user_id = :uid", uid=uid)
    records = chat.rows("SELECT state, notice_version FROM consent_records WHERE user_id = :id", id=user["id"])
    return user["consent_state"], records


def test_tapping_consent_records_it(chat: Chat) -> None:
    uid = user_id("consents")
    chat.send(follow(uid))
    [answer] = chat.say(uid, "ยินยอม")

    assert answer["text"] == K.replies.consent_given
    assert consent_of(chat, uid) == ("given", [{"state": "given", "notice_version": K.replies.privacy_notice_version}])


def test_declining_consent_records_it(chat: Chat) -> None:
    uid = user_id("declines")
    chat.send(follow(uid))
    [answer] = chat.say(uid, "ไม่ยินยอม")

    assert answer["text"] == K.replies.consent_declined
    state, records = consent_of(chat, uid)
    assert state == "declined"
    assert [r["state"] for r in records] == ["declined"]


def test_consent_by_postback_is_recorded_too(chat: Chat) -> None:
    uid = user_id("postback-consent")
    chat.send(event(uid, "postback", postback={"data": "consent:given"}))
    assert consent_of(chat, uid)[0] == "given"


def test_returning_follower_who_consented_is_not_asked_again(chat: Chat) -> None:
    uid = user_id("returns")
    chat.send(follow(uid))
    chat.say(uid, "ยินยอม")
    chat.settle(event(uid, "unfollow"))

    messages = chat.send(follow(uid))

    assert len(messages) == 1
    assert "ยินดีต้อนรับ" in messages[0]["text"]
    assert K.replies.privacy_notice not in texts(messages)


# --- everyday turns --------------------------------------------------------------------------------------


def test_greeting_offers_the_main_menu(chat: Chat) -> None:
    [answer] = chat.say(user_id("greets"), "สวัสดีค่ะ")

    assert answer["text"].startswith("สวัสดีค่ะ")
    labels = quick_labels(answer)
    assert 3 <= len(labels) <= 13
    assert all(1 <= len(label) <= 20 for label in labels)
    assert all(item["action"]["type"] == "message" for item in answer["quickReply"]["items"])


def test_unknown_text_gets_a_polite_fallback_with_the_menu(chat: Chat) -> None:
    [answer] = chat.say(user_id("confused"), "กขคงจฉ ฟหกด")

    assert answer["text"] == K.replies.fallback
    assert "ค่ะ" in answer["text"]
    assert quick_labels(answer) == [b.label for b in K.replies.main_menu]


def test_cancel_is_acknowledged(chat: Chat) -> None:
    [answer] = chat.say(user_id("cancels"), "ยกเลิก")
    assert answer["text"] == K.replies.cancelled


@pytest.mark.parametrize(
    "text",
    ["พ่อเมาแล้วทุบตีแม่ ช่วยด้วย", "อยากตาย ไม่ไหวแล้ว", "ลูกโดนขังไว้ในห้อง"],
)
def test_emergency_puts_every_hotline_in_the_first_message(chat: Chat, text: str) -> None:
    first, *_ = chat.say(user_id(f"danger-{text}"), text)
    for number in HOTLINES:
        assert number in first["text"], f"{number} missing from the first answer to {text!r}"


def test_emergency_during_consent_question_still_gets_hotlines(chat: Chat) -> None:
    uid = user_id("danger-after-follow")
    chat.send(follow(uid))
    first, *_ = chat.say(uid, "ช่วยด้วย ถูกทำร้าย")
    assert all(number in first["text"] for number in HOTLINES)


# --- media -------------------------------------------------------------------------------------------


def test_sticker_is_answered(chat: Chat) -> None:
    [answer] = chat.message(user_id("sticker"), {"type": "sticker", "packageId": "1", "stickerId": "1"})
    assert answer["text"] == K.replies.sticker


def test_location_is_answered_with_its_address(chat: Chat) -> None:
    location = {
        "type": "location",
        "title": "บ้าน",
        "address": "ต.ในเมือง อ.เมือง จ.ขอนแก่น",
        "latitude": 16.4,
        "longitude": 102.8,
    }
    [answer] = chat.message(user_id("location"), location)
    assert "ได้รับตำแหน่งแล้ว" in answer["text"]
    assert "จ.ขอนแก่น" in answer["text"]


def test_audio_is_answered(chat: Chat) -> None:
    message = {"type": "audio", "duration": 3000}
    [answer] = chat.message(user_id("audio"), message)
    assert answer["text"] == K.replies.audio


def test_video_is_acknowledged_not_apologised_for(chat: Chat) -> None:
    message = {"type": "video", "duration": 3000}
    [answer] = chat.message(user_id("video"), message)
    assert answer["text"] == K.replies.video
    assert answer["text"] != K.replies.attachment_unavailable


def test_image_is_fetched_from_the_data_api_and_stored(chat: Chat) -> None:
    uid = user_id("image")
    raw = message_event(uid, {"id": "900000000001", "type": "image"})
    [answer] = chat.send(raw)

    assert answer["text"] == K.replies.image_saved
    assert chat.fake.calls_to("/v2/bot/message/900000000001/content")
    [stored] = chat.rows("SELECT * FROM attachments WHERE line_message_id = '900000000001'")
    assert stored["line_user_id"] == uid
    assert stored["kind"] == "image"
    assert bytes(stored["content"]) == PNG_1PX
    assert stored["content_type"] == "image/png"
    assert stored["size_bytes"] == len(PNG_1PX)
    assert not stored["too_large"]


def test_file_announced_over_the_cap_is_not_fetched(small_attachments_chat: Chat) -> None:
    chat = small_attachments_chat
    raw = message_event(
        user_id("big-file"), {"id": "900000000002", "type": "file", "fileName": "หลักฐาน.pdf", "fileSize": 5000}
    )
    [answer] = chat.send(raw)

    assert answer["text"].startswith("ได้รับไฟล์แล้วค่ะ แต่ไฟล์ใหญ่เกิน")
    assert chat.fake.calls_to("/v2/bot/message/900000000002/content") == []
    [stored] = chat.rows("SELECT too_large, content FROM attachments WHERE line_message_id = '900000000002'")
    assert stored["too_large"] and stored["content"] is None


def test_image_whose_content_turns_out_over_the_cap_is_not_kept(small_attachments_chat: Chat) -> None:
    chat = small_attachments_chat
    chat.fake.contents["900000000003"] = (b"\xff" * 500, "image/jpeg")
    raw = message_event(user_id("big-image"), {"id": "900000000003", "type": "image"})
    [answer] = chat.send(raw)

    assert "ใหญ่เกิน" in answer["text"]
    [stored] = chat.rows("SELECT too_large, content FROM attachments WHERE line_message_id = '900000000003'")
    assert stored["too_large"] and stored["content"] is None


def test_file_under_the_cap_is_kept_with_its_name(chat: Chat) -> None:
    chat.fake.contents["900000000004"] = (b"%PDF-1.4 tiny", "application/pdf")
    message = {"id": "900000000004", "type": "file", "fileName": "บัตร.pdf", "fileSize": 13}
    [answer] = chat.send(message_event(user_id("small-file"), message))

    assert answer["text"] == K.replies.file_saved.format(file_name="บัตร.pdf")
    [stored] = chat.rows("SELECT file_name, content FROM attachments WHERE line_message_id = '900000000004'")
    assert (stored["file_name"], bytes(stored["content"])) == ("บัตร.pdf", b"%PDF-1.4 tiny")


# --- unsend and unfollow ---------------------------------------------------------------------------------


def test_unsend_removes_what_the_message_said(chat: Chat) -> None:
    uid = user_id("unsends")
    said = text_event(uid, "บ้านเลขที่ 12/3 เบอร์ 0812345678")
    chat.send(said)
    message_id = said["message"]["id"]
    assert [
        r["text"] for r in chat.rows("SELECT text FROM conversation_messages WHERE line_message_id = :m", m=message_id)
    ] == [redact(said["message"]["text"])]  # stored with the phone number masked

    chat.settle(event(uid, "unsend", unsend={"messageId": message_id}))

    [row] = chat.rows("SELECT text, payload FROM conversation_messages WHERE line_message_id = :m", m=message_id)
    assert row["text"] is None
    assert "0812345678" not in str(row["payload"])


def test_unfollow_marks_the_user_not_following(chat: Chat) -> None:
    uid = user_id("leaves")
    chat.send(follow(uid))
    assert chat.rows("SELECT is_following FROM line_users WHERE line_user_id = :u", u=uid)[0]["is_following"]

    chat.settle(event(uid, "unfollow"))

    [user] = chat.rows("SELECT is_following, unfollowed_at FROM line_users WHERE line_user_id = :u", u=uid)
    assert not user["is_following"]
    assert user["unfollowed_at"] is not None


# --- the engine and handlers, without LINE -----------------------------------------------------------------


def turn(
    kind: EventKind = EventKind.text,
    text: str | None = None,
    intent: str = "out_of_scope",
    *,
    consent: str = "unknown",
    name: str | None = None,
    flow: str | None = None,
    **extra: Any,
) -> Turn:
    return Turn(
        person=Person("U-unit", name, consent, is_new=False),
        kind=kind,
        understanding=Understanding(intent, 0.9),
        state=DialogueState(form=flow),
        text=text,
        **extra,
    )


def reply_texts(outcome: Outcome) -> list[str]:
    return [r.text if isinstance(r, TextReply) else r.alt_text for r in outcome.replies]


@pytest.fixture
def a_flow(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """A stand-in multi-turn flow registered with the engine."""
    flow = types.SimpleNamespace(
        name="pretend_flow",
        handle=lambda t, k: Outcome([TextReply("still in the flow")], state=DialogueState(form="pretend_flow")),
        accepts=lambda t: True,
        FORM=forms.Form(name="pretend_flow", intro="", slots=(), finish=lambda t, s, k: []),
    )
    monkeypatch.setitem(engine.FORM_HANDLERS, "pretend_flow", flow)
    return flow


def test_flow_in_progress_gets_the_turn(a_flow: types.SimpleNamespace) -> None:
    name, outcome = engine.run_turn(turn(text="ขอนแก่น", intent="out_of_scope", flow="pretend_flow"), K)
    assert name == "pretend_flow"
    assert reply_texts(outcome) == ["still in the flow"]


def test_danger_outranks_a_flow_in_progress(a_flow: types.SimpleNamespace) -> None:
    name, outcome = engine.run_turn(turn(text="ช่วยด้วย", intent="emergency", flow="pretend_flow"), K)
    assert name == "emergency"
    assert outcome.state is not None and outcome.state.form is None
    assert all(number in reply_texts(outcome)[0] for number in HOTLINES)


def test_cancel_leaves_a_flow(a_flow: types.SimpleNamespace) -> None:
    name, outcome = engine.run_turn(turn(text=" ยกเลิก ", flow="pretend_flow"), K)
    assert name == "cancel"
    assert outcome.state is not None and outcome.state.form is None
    assert reply_texts(outcome) == [K.replies.cancelled]


def test_consent_words_go_to_data_rights_even_in_a_flow(a_flow: types.SimpleNamespace) -> None:
    name, outcome = engine.run_turn(turn(text="ถอนความยินยอม", intent="data_rights", flow="pretend_flow"), K)
    assert name == "data_rights"
    assert outcome.effects == [RecordConsent("withdrawn", K.replies.privacy_notice_version)]


def test_data_rights_question_shows_the_current_consent_state() -> None:
    _, outcome = engine.run_turn(turn(text="ข้อมูลของฉัน", intent="data_rights", consent="given"), K)
    assert "ให้ความยินยอมแล้ว" in reply_texts(outcome)[0]
    assert outcome.effects == []


def test_greeting_uses_the_display_name() -> None:
    name, outcome = engine.run_turn(turn(text="สวัสดี", intent="greeting", name="สมชาย"), K)
    assert name == "menu"
    assert reply_texts(outcome) == [K.replies.greeting.format(name_part=" คุณสมชาย")]


def test_topic_intent_gets_an_answer_of_its_own() -> None:
    _, outcome = engine.run_turn(turn(text="เบี้ยผู้สูงอายุ", intent="elderly_allowance"), K)
    assert reply_texts(outcome)[0] != K.replies.fallback
    assert "เบี้ยยังชีพผู้สูงอายุ" in reply_texts(outcome)[0]


def test_follow_by_someone_who_consented_before_skips_the_notice() -> None:
    _, outcome = engine.run_turn(turn(EventKind.follow, consent="given"), K)
    assert len(outcome.replies) == 1
    _, first_time = engine.run_turn(turn(EventKind.follow), K)
    assert reply_texts(first_time)[1] == K.replies.privacy_notice


def attachment(kind: str, *, fetched: bool = True, too_large: bool = False, file_name: str | None = None) -> Any:
    return AttachmentInfo(1, kind, file_name, 10, too_large, fetched, 10 * 1024 * 1024)


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        (EventKind.sticker, {}, K.replies.sticker),
        (EventKind.audio, {}, K.replies.audio),
        (EventKind.video, {"attachment": attachment("video", fetched=False)}, K.replies.video),
        (EventKind.image, {"attachment": attachment("image")}, K.replies.image_saved),
        (EventKind.image, {"attachment": attachment("image", fetched=False)}, K.replies.attachment_unavailable),
        (
            EventKind.file,
            {"attachment": attachment("file", too_large=True)},
            K.replies.attachment_too_large.format(limit_mb=10),
        ),
        (
            EventKind.file,
            {"attachment": attachment("file", file_name="a.pdf")},
            K.replies.file_saved.format(file_name="a.pdf"),
        ),
        (
            EventKind.location,
            {"location": LocationInfo(13.7, 100.5, None, None)},
            K.replies.location.format(address_part=""),
        ),
        (EventKind.other_message, {}, K.replies.unsupported),
    ],
    ids=[
        "sticker",
        "audio",
        "video",
        "image",
        "image-not-fetched",
        "file-too-large",
        "file",
        "location-without-address",
        "other",
    ],
)
def test_media_answers(kind: EventKind, extra: dict[str, Any], expected: str) -> None:
    name, outcome = engine.run_turn(turn(kind, **extra), K)
    assert name == "media"
    assert reply_texts(outcome) == [expected]


# --- rendering for LINE ------------------------------------------------------------------------------------


def test_long_text_is_split_at_line_breaks_under_the_limit() -> None:
    lines = [f"บรรทัดที่ {n} " + "ก" * 80 for n in range(150)]  # about 13,500 characters
    messages = render.render([TextReply("\n".join(lines))])

    assert len(messages) >= 3
    assert all(len(m["text"]) <= 5000 for m in messages)
    assert [line for m in messages for line in m["text"].split("\n")] == lines  # nothing lost, no line cut


def test_long_text_without_line_breaks_is_cut_hard() -> None:
    messages = render.render([TextReply("ข" * 12_000)])
    assert [len(m["text"]) for m in messages] == [5000, 5000, 2000]


def test_quick_replies_are_capped_at_13_on_the_last_message() -> None:
    buttons = tuple(Button(label=f"ปุ่ม {n}", text=f"ข้อ {n}") for n in range(20))
    messages = render.render([TextReply("ก" * 6000, buttons)])

    assert "quickReply" not in messages[0]
    assert [item["action"]["label"] for item in messages[-1]["quickReply"]["items"]] == [f"ปุ่ม {n}" for n in range(13)]


def test_card_becomes_a_flex_bubble_with_alt_text() -> None:
    card = CardReply(
        alt_text="เบี้ยยังชีพผู้สูงอายุ " + "x" * 500,
        title="เบี้ยยังชีพผู้สูงอายุ",
        lines=("อายุ 60 ปีขึ้นไป",),
        buttons=(Button(label="เช็คสิทธิ", text="เช็คสิทธิ"),),
    )
    [message] = render.render([card])

    assert message["type"] == "flex"
    assert message["altText"].startswith("เบี้ยยังชีพผู้สูงอายุ")
    assert len(message["altText"]) <= 400
    assert message["contents"]["type"] == "bubble"
    assert message["contents"]["footer"]["contents"][0]["action"]["text"] == "เช็คสิทธิ"
    assert render.plain_text(message) == message["altText"]


# --- knowledge validation ----------------------------------------------------------------------------------


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def edit_yaml(path: Path, change: Any) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def test_unchanged_knowledge_copy_loads(knowledge_copy: Path) -> None:
    assert isinstance(load_knowledge(knowledge_copy), Knowledge)


@pytest.mark.parametrize(
    ("file", "change", "complaint"),
    [
        ("replies/core.yaml", lambda d: d.update(sticker="ได้รับ {sticker_name} แล้วค่ะ"), "unknown placeholders"),
        ("replies/core.yaml", lambda d: d.update(fallback="ขอโทษค่ะ {file_name}"), "unknown placeholders"),
        (
            "replies/core.yaml",
            lambda d: d["main_menu"].append({"label": "ป้ายที่ยาวเกินยี่สิบตัวอักษรแน่นอน", "text": "x"}),
            "at most 20 characters",
        ),
        (
            "replies/core.yaml",
            lambda d: d.update(main_menu=[{"label": f"เมนู {n}", "text": "x"} for n in range(14)]),
            "at most 13 items",
        ),
        (
            "replies/intents.yaml",
            lambda d: d["intents"]["emergency"].update(answer="โทร 1300 หรือ 191 หรือ 1323"),
            "1669",
        ),
        (
            "replies/intents.yaml",
            lambda d: d["intents"]["housing"].update(label="ที่อยู่อาศัยสำหรับผู้มีรายได้น้อย"),
            "at most 20 characters",
        ),
        ("replies/core.yaml", lambda d: d.update(sticker="ก" * 5001), "longer than LINE"),
        ("replies/core.yaml", lambda d: d.pop("cancelled"), "cancelled"),
        ("hotlines.yaml", lambda d: d["hotlines"].pop(), "hotlines missing"),
    ],
    ids=[
        "unknown-placeholder",
        "placeholder-of-another-reply",
        "label-over-20",
        "menu-over-13",
        "emergency-without-1669",
        "intent-label-over-20",
        "text-over-5000",
        "missing-reply",
        "missing-hotline",
    ],
)
def test_broken_knowledge_is_rejected(knowledge_copy: Path, file: str, change: Any, complaint: str) -> None:
    edit_yaml(knowledge_copy / file, change)
    with pytest.raises(ValidationError, match=complaint):
        load_knowledge(knowledge_copy)


# --- settings -------------------------------------------------------------------------------------------


def test_serve_without_line_credentials_exits_naming_the_missing_one(tmp_path: Path) -> None:
    base = {
        k: v for k, v in os.environ.items() if k not in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "DEMO")
    }
    started = time.monotonic()
    runs = {}
    for missing, present in (
        ("LINE_CHANNEL_SECRET", {"LINE_CHANNEL_ACCESS_TOKEN": "a-token"}),
        ("LINE_CHANNEL_ACCESS_TOKEN", {"LINE_CHANNEL_SECRET": "a-secret"}),
    ):
        workdir = tmp_path / missing  # its own directory: no .env file to pick a value up from
        workdir.mkdir()
        env = {**base, **present, "DATABASE_URL": f"sqlite:///{workdir}/h.db"}
        runs[missing] = (
            workdir,
            subprocess.Popen(
                [HELPDESK, "serve", "--port", "0"], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            ),
        )
    for missing, (workdir, process) in runs.items():
        try:
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode != 0, f"serve started without {missing}"
        assert missing in stderr.decode(), stderr.decode()[-2000:]
        assert not (workdir / "h.db").exists()  # it stopped before touching the database
    assert time.monotonic() - started < 20


# --- multi-turn flows through the real webhook and database ------------------------------------------------


def test_the_screener_carries_its_state_from_one_webhook_turn_to_the_next(chat: Chat) -> None:
    uid = user_id("screener")
    first = texts(chat.say(uid, "เช็คสิทธิให้แม่หน่อยค่ะ อายุ 78"))
    assert "ข้อมูลอ่อนไหว" in first[0]  # the next deciding question is about disability: consent first
    asked = texts(chat.send(event(uid, "postback", postback={"data": "consent=sensitive&state=given"})))
    assert "บัตรประจำตัวคนพิการ" in asked[0]
    texts(chat.say(uid, "ไม่มีค่ะ"))
    texts(chat.say(uid, "ไม่ค่ะ"))
    result = texts(chat.say(uid, "ไม่มีรายได้เลย"))[0]
    assert "เบี้ยยังชีพผู้สูงอายุ" in result and "700" in result and "ที่มา" in result
    after = texts(chat.say(uid, "ไม่มี"))[0]
    assert "บัตรประจำตัวคนพิการ" not in after, "the finished screener does not ask again"


def test_national_ids_and_phones_are_stored_masked(chat: Chat) -> None:
    uid = user_id("pdpa-mask")
    chat.say(uid, "เลขบัตร 1-1017-00123-45-6 โทร 081-234-5678 ค่ะ")
    [row] = chat.rows("SELECT text FROM conversation_messages WHERE line_user_id = :u AND direction = 'inbound'", u=uid)
    assert "1101700123456" not in row["text"].replace("-", "")
    assert "0812345678" not in row["text"].replace("-", "")
    assert "45-6" in row["text"] and "5678" in row["text"], "the last digits stay, for the citizen to recognise"
