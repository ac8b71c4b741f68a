"""`storage.outbox.send`: the one way to write a message to a person (rows, batching, transcript, neutral content),
and the sender rendering neutral content for LINE while still sending rows written before it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.line import render
from bot.line.client import LineClient
from bot.sender import Sender
from handlers.base import CardReply, Reply, TextReply
from handlers.content import contents
from knowledge.loader import LINE_TEXT_LIMIT, Button
from storage import content, migrate, outbox, users
from storage.base import utcnow
from storage.conversations import ConversationMessage
from storage.db import Database
from storage.users import ConsentState
from tests.conftest import TOKEN, user_id
from tests.support.db_checks import query
from tests.support.fake_line import FakeLine, FakeLineServer

CALL = Button(label="โทร 1300", text="โทร 1300", tel="1300")
MENU = (Button(label="เมนู", text="เมนู"), Button(label="ยืนยัน", text="ยืนยัน", data="slot=confirm&value=yes"))
CARD = CardReply(
    alt_text="เบี้ยยังชีพผู้สูงอายุ " + "x" * 500,
    title="เบี้ยยังชีพผู้สูงอายุ",
    lines=("อายุ 60 ปีขึ้นไป", "ไม่ได้รับบำนาญ"),
    buttons=(CALL,),
    quick_replies=MENU,
    figure="700 บาท/เดือน",
    footnote="ที่มา: กรมกิจการผู้สูงอายุ",
)
SAMPLES: list[list[Reply]] = [
    [TextReply("สวัสดีค่ะ", MENU)],
    [TextReply("")],  # LINE refuses an empty text
    [TextReply("ก" * 6000 + "\n" + "ข" * 3000, MENU)],
    [CARD, CardReply(alt_text="", title="", lines=())],
    [TextReply(f"ข้อ {n}") for n in range(7)] + [CARD],
]


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeLine]:
    with FakeLineServer() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeLine) -> FakeLine:
    fake_server.reset()
    return fake_server


@pytest.fixture
async def sender(db: Database, fake: FakeLine) -> AsyncIterator[Sender]:
    line = LineClient(access_token=TOKEN, api_base_url=fake.url, data_api_base_url=fake.url, timeout=5)
    instance = Sender(db=db, line=line, max_attempts=5, backoff_base=0.01)
    yield instance
    await instance.stop()
    await line.close()


def transcript(db: Database, line_user_id: str) -> list[dict[str, Any]]:
    return query(
        db.url,
        "SELECT kind, text, payload, webhook_event_id FROM conversation_messages"
        " WHERE line_user_id = :u AND direction = 'outbound' ORDER BY id",
        u=line_user_id,
    )


# --- neutral content ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("replies", SAMPLES)
def test_neutral_content_renders_as_the_handlers_replies_did(replies: list[Reply]) -> None:
    """Through JSON and back: the same LINE messages, and the transcript says what LINE shows."""
    stored = json.loads(json.dumps(content.normalise(contents(replies))))
    messages = render.line_messages(stored)

    assert messages == render.render(replies)
    assert len(messages) == len(stored)  # one LINE message per stored item: the outbox can batch by items
    assert [content.plain_text(item) for item in stored] == [render.plain_text(m) for m in messages]
    assert [content.transcript_kind(item) for item in stored] == [m["type"] for m in messages]


def test_old_rows_line_messages_pass_through_the_renderer_unchanged() -> None:
    old = [{"type": "text", "text": "สวัสดีค่ะ", "quickReply": {"items": []}}, {"type": "sticker", "packageId": "1"}]
    assert render.line_messages(old) == old
    assert content.TEXT_LIMIT == LINE_TEXT_LIMIT


def test_content_built_without_handlers_renders_buttons_and_calls() -> None:
    """What the console or a job writes, with storage.content only."""
    item = content.card(
        alt_text="เรื่อง PM-2569-000123",
        title="เรื่อง PM-2569-000123",
        lines=["เจ้าหน้าที่รับเรื่องแล้วค่ะ"],
        buttons=[content.button("ดูสถานะ", "ติดตามเรื่อง", data="ticket=PM-2569-000123")],
        quick_replies=[content.button("โทร 1300", "โทร 1300", tel="1300")],
    )
    [message] = render.line_messages([item])
    assert message["type"] == "flex"
    footer = message["contents"]["footer"]["contents"][0]["action"]
    assert footer == {
        "type": "postback",
        "label": "ดูสถานะ",
        "data": "ticket=PM-2569-000123",
        "displayText": "ติดตามเรื่อง",
    }
    assert message["quickReply"]["items"][0]["action"] == {"type": "uri", "label": "โทร 1300", "uri": "tel:1300"}
    with pytest.raises(ValueError):
        content.button("x", "x", data="a", tel="1300")


# --- send: rows and transcript ------------------------------------------------------------------------------


def test_send_batches_five_to_a_request_and_keeps_the_reply_token_for_the_first(db: Database) -> None:
    uid = user_id("batches")
    replies = [content.text(f"ข้อ {n}") for n in range(11)]
    deadline = utcnow() + timedelta(seconds=30)
    with db.session() as db_session:
        rows = outbox.send(
            db_session, to=uid, replies=replies, source_event_id="ev-1", reply_token="tok", reply_deadline=deadline
        )
        shape = [(len(r.messages), r.reply_token, r.reply_deadline is not None, r.status) for r in rows]

    assert shape == [(5, "tok", True, "pending"), (5, None, False, "pending"), (1, None, False, "pending")]
    assert [t["text"] for t in transcript(db, uid)] == [f"ข้อ {n}" for n in range(11)]
    assert {t["webhook_event_id"] for t in transcript(db, uid)} == {"ev-1"}


def test_send_counts_a_long_text_as_the_messages_line_will_get(db: Database) -> None:
    uid = user_id("long")
    with db.session() as db_session:
        rows = outbox.send(db_session, to=uid, replies=[content.text("ก" * 12_000), *[content.text("x")] * 3])
        sizes = [len(r.messages) for r in rows]
    assert sizes == [5, 1]  # 3 parts of the long text + 3 short ones
    assert [len(t["text"]) for t in transcript(db, uid)] == [5000, 5000, 2000, 1, 1, 1]


def test_without_a_deadline_no_reply_token_is_kept(db: Database) -> None:
    with db.session() as db_session:
        [row] = outbox.send(db_session, to=user_id("push"), replies=[content.text("สวัสดีค่ะ")], reply_token="tok")
        assert row.reply_token is None


def test_transcript_carries_the_ticket_and_respects_the_persons_consent(db: Database) -> None:
    keeps, declined, staff = user_id("keeps"), user_id("declined"), user_id("officer")
    with db.session() as db_session:
        user, _ = users.get_or_create(db_session=db_session, line_user_id=declined)
        users.set_consent(db_session=db_session, user=user, state=ConsentState.declined, notice_version="v1")
        users.get_or_create(db_session=db_session, line_user_id=keeps)
    message = [content.text("เจ้าหน้าที่ตอบเรื่อง PM-2569-000001 แล้วค่ะ")]
    with db.session() as db_session:
        outbox.send(db_session, to=keeps, replies=message, ticket_id="PM-2569-000001")
        outbox.send(db_session, to=declined, replies=message, ticket_id="PM-2569-000001")
        outbox.send(db_session, to=staff, replies=message, transcript=False)

    [kept] = transcript(db, keeps)
    payload = json.loads(kept["payload"]) if isinstance(kept["payload"], str) else kept["payload"]
    assert payload == {"ticket_id": "PM-2569-000001"}
    assert transcript(db, declined) == [] and transcript(db, staff) == []
    assert len(query(db.url, "SELECT id FROM outbox")) == 3  # every one of them is still sent


def test_send_refuses_line_messages_and_sends_nothing_for_nothing(db: Database) -> None:
    with db.session() as db_session:
        with pytest.raises(ValueError):
            outbox.send(db_session, to=user_id("x"), replies=[{"type": "text", "text": "rendered already"}])
        assert outbox.send(db_session, to=user_id("x"), replies=[]) == []
        db_session.rollback()
    with db.session() as db_session:
        assert db_session.query(ConversationMessage).count() == 0


def test_staff_alerts_go_once_to_each_linked_account_without_transcript(db: Database) -> None:
    a, b = user_id("officer-a"), user_id("officer-b")
    with db.session() as db_session:
        rows = outbox.send_to_staff(
            db_session,
            line_user_ids=[a, b, a],
            replies=[content.text("เหตุฉุกเฉิน PM-2569-000002 จังหวัดขอนแก่น")],
            ticket_id="PM-2569-000002",
        )
        assert sorted(r.line_user_id for r in rows) == sorted([a, b])
        assert all(r.reply_token is None for r in rows)
    assert transcript(db, a) == [] and transcript(db, b) == []


# --- the sender renders when it sends ----------------------------------------------------------------------


async def test_sender_renders_neutral_rows_for_line(db: Database, sender: Sender, fake: FakeLine) -> None:
    uid = user_id("render")
    replies: list[Reply] = [TextReply("สวัสดีค่ะ", MENU), CARD]
    with db.session() as db_session:
        rows = outbox.send(db_session, to=uid, replies=contents(replies), claim_for=timedelta(seconds=20))
    await sender.deliver(rows)

    [(to, messages, _key)] = fake.pushes
    assert to == uid and messages == render.render(replies)
    assert messages[1]["type"] == "flex" and messages[0]["quickReply"]["items"][1]["action"]["type"] == "postback"


async def test_a_row_written_before_the_upgrade_is_still_sent_as_it_was(
    db: Database, sender: Sender, fake: FakeLine
) -> None:
    old = render.render([TextReply("ข้อความเก่า", MENU)])  # what queue_replies stored before neutral content
    with db.session() as db_session:
        row = outbox.enqueue(db_session=db_session, line_user_id=user_id("old"), messages=old)
    await sender.attempt(row.id)

    assert fake.pushes == [(user_id("old"), old, row.retry_key)]
