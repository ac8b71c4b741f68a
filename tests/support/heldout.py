"""The held-out multi-turn conversations (tests/data/conversations_heldout.yaml): load, run, check, report.

Shared by tests/test_conversations_heldout.py and benchmarks/conversations_heldout.py. Every conversation
is played through the real app over its webhook, as one LINE user, and the bot's replies are read back
from the fake LINE platform; nothing here looks inside the app.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import event, post_webhook, text_event, user_id
from tests.support.db_checks import query, wait_processed
from tests.support.fake_line import FakeLine

HELDOUT_FILE = Path(__file__).resolve().parents[1] / "data" / "conversations_heldout.yaml"

CONVERSATION_KEYS = {"id", "about", "consent", "turns", "end", "consent_after"}
TURN_KEYS = {"say", "send", "expect", "title", "address", "latitude", "longitude"}
EXPECT_KEYS = {"any", "all", "none", "hotlines", "not_repeated", "not_notice"}
CONSENT_SETUPS = {"given", "declined", "notice", "none"}
MEDIA = {"sticker", "image", "location"}
MIN_TURNS, MAX_TURNS = 2, 7
REPLY_TIMEOUT = 8.0  # seconds to wait for the bot's reply to one turn


# --- the file ------------------------------------------------------------------------------------------


def load_conversations(path: Path = HELDOUT_FILE) -> list[dict[str, Any]]:
    """The conversations, validated (a malformed file is an error, not a failing conversation)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path.name}: expected a list of conversations")
    seen: set[str] = set()
    for conv in data:
        problems = conversation_problems(conv)
        if conv.get("id") in seen:
            problems.append("duplicate id")
        if problems:
            raise ValueError(f"{path.name}: conversation {conv.get('id')!r}: {'; '.join(problems)}")
        seen.add(conv["id"])
    return data


def conversation_problems(conv: Any) -> list[str]:
    if not isinstance(conv, dict):
        return ["not a mapping"]
    problems = [f"unknown key {k!r}" for k in conv if k not in CONVERSATION_KEYS]
    if not isinstance(conv.get("id"), str) or not conv["id"]:
        problems.append("id missing")
    if not isinstance(conv.get("about"), str) or not conv["about"].strip():
        problems.append("about missing")
    if conv.get("consent", "given") not in CONSENT_SETUPS:
        problems.append(f"consent must be one of {sorted(CONSENT_SETUPS)}")
    turns = conv.get("turns")
    if not isinstance(turns, list) or not MIN_TURNS <= len(turns) <= MAX_TURNS:
        return [*problems, f"turns: {MIN_TURNS}–{MAX_TURNS} needed"]
    for i, turn in enumerate(turns, 1):
        if not isinstance(turn, dict):
            problems.append(f"turn {i}: not a mapping")
            continue
        problems += [f"turn {i}: unknown key {k!r}" for k in turn if k not in TURN_KEYS]
        if ("say" in turn) == ("send" in turn):
            problems.append(f"turn {i}: exactly one of say/send")
        if "say" in turn and (not isinstance(turn["say"], str) or not turn["say"].strip()):
            problems.append(f"turn {i}: say must be a non-empty string")
        if "send" in turn and turn["send"] not in MEDIA:
            problems.append(f"turn {i}: send must be one of {sorted(MEDIA)}")
        problems += [f"turn {i}: {p}" for p in expectation_problems(turn.get("expect"))]
    if "end" not in conv:
        problems.append("end missing")
    problems += [f"end: {p}" for p in expectation_problems(conv.get("end"))]
    after = conv.get("consent_after")
    if after is not None and (not isinstance(after, dict) or set(after) - {"state", "records"}):
        problems.append("consent_after: only state and records")
    return problems


def expectation_problems(expect: Any) -> list[str]:
    if expect is None:
        return []
    if not isinstance(expect, dict) or not expect:
        return ["expectation must be a non-empty mapping"]
    problems = [f"unknown expectation {k!r}" for k in expect if k not in EXPECT_KEYS]
    for key in ("any", "all", "none", "hotlines"):
        value = expect.get(key)
        if value is not None and (
            not isinstance(value, list) or not value or not all(isinstance(s, str) and s for s in value)
        ):
            problems.append(f"{key} must be a non-empty list of strings")
    for key in ("not_repeated", "not_notice"):
        if key in expect and expect[key] is not True:
            problems.append(f"{key} may only be true")
    return problems


# --- what the citizen sees -----------------------------------------------------------------------------

# LINE action types: of an action the citizen sees only its label (what a tap sends is not on screen yet).
ACTION_TYPES = {
    "message",
    "postback",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "richmenuswitch",
    "clipboard",
}


def shown_texts(messages: Iterable[dict[str, Any]]) -> list[str]:
    """Every text a citizen sees in these messages: texts, Flex alt text and every text inside the Flex
    contents, template titles, button and quick-reply labels (depth first, in order)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ACTION_TYPES and "label" in node:
                if isinstance(node["label"], str):
                    found.append(node["label"])
                return
            for key in ("altText", "title", "text"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for key, value in node.items():
                if key not in ("altText", "title", "text"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for message in messages:
        walk(message)
    return found


def render(message: dict[str, Any]) -> str:
    """One message as a transcript line: its texts, then its buttons and quick replies in brackets."""
    labels = shown_texts([message.get("quickReply", {})])
    body = shown_texts([{k: v for k, v in message.items() if k != "quickReply"}])
    if message.get("type") == "flex":
        body = body[1:]  # the alt text repeats the card's heading
    text = " | ".join(body)
    if message.get("type") == "flex":
        text = f"[card] {text}"
    if labels:
        text += "  [quick replies: " + " · ".join(labels) + "]"
    return text


def dial_numbers(messages: Iterable[dict[str, Any]]) -> list[str]:
    """Numbers behind `tel:` actions (a button that dials shows the number even if its label does not)."""
    numbers: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            uri = node.get("uri")
            if isinstance(uri, str) and uri.startswith("tel:"):
                numbers.append(uri[4:])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for message in messages:
        walk(message)
    return numbers


def check(
    expect: dict[str, Any] | None,
    messages: list[dict[str, Any]],
    previous: list[dict[str, Any]] | None,
    notice: list[str],
) -> list[str]:
    """What this turn's replies fail of the expectation (empty: all met)."""
    if not expect:
        return []
    shown = shown_texts(messages)
    blob = "\n".join(shown)
    failures: list[str] = []
    if "any" in expect and not any(s in blob for s in expect["any"]):
        failures.append(f"none of {expect['any']} appears")
    for s in expect.get("all", []):
        if s not in blob:
            failures.append(f"{s!r} missing")
    for s in expect.get("none", []):
        if s in blob:
            failures.append(f"{s!r} appears")
    dialable = blob + "\n" + "\n".join(dial_numbers(messages))
    for number in expect.get("hotlines", []):
        if number not in dialable:
            failures.append(f"hotline {number} missing")
    if expect.get("not_repeated") and previous is not None and shown == shown_texts(previous):
        failures.append("the previous reply was repeated word for word")
    if expect.get("not_notice") and any(len(t) > 80 and t in blob for t in notice):
        failures.append("the privacy notice was sent again")
    return failures


# --- playing a conversation ----------------------------------------------------------------------------


@dataclass
class TurnRecord:
    said: str
    replies: list[str]
    failures: list[str] = field(default_factory=list)


@dataclass
class ConversationResult:
    id: str
    about: str
    turns: list[TurnRecord]
    setup_failures: list[str] = field(default_factory=list)
    end_failures: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        out = [f"setup: {f}" for f in self.setup_failures]
        out += [f"turn {i}: {f}" for i, t in enumerate(self.turns, 1) for f in t.failures]
        out += [f"end: {f}" for f in self.end_failures]
        return out

    @property
    def passed(self) -> bool:
        return not self.failures

    def transcript(self) -> str:
        lines = [f"## {self.id}: {'PASS' if self.passed else 'FAIL'}", f"   {self.about}"]
        lines += [f"   ! setup: {f}" for f in self.setup_failures]
        for i, t in enumerate(self.turns, 1):
            lines.append(f"   {i}. citizen: {t.said}")
            for reply in t.replies:
                lines.append("      bot: " + reply.replace("\n", "\n           "))
            lines += [f"      ! {f}" for f in t.failures]
        lines += [f"   ! end: {f}" for f in self.end_failures]
        return "\n".join(lines)


@dataclass
class Player:
    """Plays conversations against a running app (`base_url`) that talks to `fake`."""

    base_url: str
    fake: FakeLine
    database_url: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _notice: list[str] | None = None

    def deliver(self, raw: dict[str, Any]) -> list[dict[str, Any]] | None:
        response = post_webhook(self.base_url, [raw])
        if response.status_code != 200:
            raise RuntimeError(f"the webhook answered {response.status_code}")
        return self.fake.wait_reply(raw["replyToken"], REPLY_TIMEOUT)

    def notice(self) -> list[str]:
        """The texts of the privacy notice a new follower gets (all but the welcome)."""
        if self._notice is None:
            reply = self.deliver(follow_event(user_id(f"heldout-notice-{self.run}"))) or []
            self._notice = shown_texts(reply[1:])
        return self._notice

    def consent_of(self, uid: str) -> tuple[str | None, int]:
        users = query(self.database_url, "SELECT id, consent_state FROM line_users WHERE line_user_id = :u", u=uid)
        if not users:
            return None, 0
        records = query(self.database_url, "SELECT id FROM consent_records WHERE user_id = :i", i=users[0]["id"])
        return str(users[0]["consent_state"]), len(records)

    def setup(self, uid: str, consent: str) -> list[str]:
        if consent == "none":
            return []
        failures: list[str] = []
        if self.deliver(follow_event(uid)) is None:
            failures.append("no reply to the follow event")
        if consent == "notice":
            return failures
        answer = {"given": "ยินยอม", "declined": "ไม่ยินยอม"}[consent]
        if self.deliver(text_event(uid, answer)) is None:
            failures.append(f"no reply to {answer!r}")
        state, _ = self.consent_of(uid)
        if state != consent:
            failures.append(f"consent is {state!r} after {answer!r}, not {consent!r}")
        return failures

    def play(self, conv: dict[str, Any]) -> ConversationResult:
        uid = user_id(f"heldout-{conv['id']}-{self.run}")
        notice = self.notice()
        result = ConversationResult(conv["id"], conv["about"].strip(), [])
        result.setup_failures = self.setup(uid, conv.get("consent", "given"))
        previous: list[dict[str, Any]] | None = None
        messages: list[dict[str, Any]] = []
        raw: dict[str, Any] = {}
        for turn in conv["turns"]:
            raw, said = turn_event(uid, turn)
            got = self.deliver(raw)
            messages = got or []
            record = TurnRecord(said, [render(m) for m in messages])
            if got is None:
                record.failures.append("no reply")
            record.failures += check(turn.get("expect"), messages, previous, notice)
            result.turns.append(record)
            previous = messages
        result.end_failures = check(conv["end"], messages, None, notice)
        if "consent_after" in conv:
            wait_processed(self.database_url, [raw["webhookEventId"]], timeout=5)
            state, records = self.consent_of(uid)
            wanted = conv["consent_after"]
            if "state" in wanted and state != wanted["state"]:
                result.end_failures.append(f"consent is {state!r}, not {wanted['state']!r}")
            if "records" in wanted and records != wanted["records"]:
                result.end_failures.append(f"{records} consent records, not {wanted['records']}")
        return result

    def play_all(
        self, conversations: list[dict[str, Any]], progress: Callable[[ConversationResult], None] | None = None
    ) -> list[ConversationResult]:
        results = []
        for conv in conversations:
            result = self.play(conv)
            if progress:
                progress(result)
            results.append(result)
        return results


def follow_event(uid: str) -> dict[str, Any]:
    return event(uid, "follow", follow={"isUnblocked": False})


def turn_event(uid: str, turn: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The webhook event for one turn and how it reads in a transcript."""
    if "say" in turn:
        return text_event(uid, turn["say"]), turn["say"]
    kind = turn["send"]
    message: dict[str, Any] = {"id": str(time.time_ns())[-14:], "type": kind}
    if kind == "sticker":
        message.update(packageId="446", stickerId="1988", stickerResourceType="STATIC", quoteToken=uuid.uuid4().hex)
    elif kind == "image":
        message.update(contentProvider={"type": "line"}, quoteToken=uuid.uuid4().hex)
    else:
        message.update(
            title=turn.get("title", "บ้าน"),
            address=turn.get("address", "ต.ในเมือง อ.เมืองขอนแก่น จ.ขอนแก่น 40000"),
            latitude=turn.get("latitude", 16.43),
            longitude=turn.get("longitude", 102.83),
        )
    shown = f"[{kind}]" if kind != "location" else f"[location: {message['address']}]"
    return event(uid, "message", message=message), shown


def summary_line(results: list[ConversationResult]) -> str:
    passed = sum(r.passed for r in results)
    return f"held-out conversations: {passed}/{len(results)} end where they should"


def report(results: list[ConversationResult], *, everything: bool = False) -> str:
    """The summary line, one line per conversation, then the transcripts of the failures (or of all)."""
    lines = [summary_line(results), ""]
    lines += [f"{'PASS' if r.passed else 'FAIL'}  {r.id}" for r in results]
    shown = [r for r in results if everything or not r.passed]
    if shown:
        lines += ["", "# Transcripts" + ("" if everything else " of the failures"), ""]
        lines += [r.transcript() + "\n" for r in shown]
    return "\n".join(lines) + "\n"
