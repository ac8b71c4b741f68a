"""The form piece on its own, with a made-up form that commits something (summary, ยืนยัน, edits)."""

from __future__ import annotations

from typing import Any

from handlers import forms
from handlers.base import DialogueState, EventKind, Outcome, Person, Reply, TextReply, Turn, Understanding
from knowledge.loader import Knowledge, get_knowledge

K = get_knowledge()
SUBMITTED: list[dict[str, Any]] = []


def submit(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    SUBMITTED.append(slots)
    return [TextReply(f"ส่งแล้วค่ะ ({slots['what']}, {slots['province']})")]


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    province = turn.understanding.entities.get("province")
    return {"province": province} if province else {}


REPORT = forms.Form(
    name="report",
    intro="แจ้งเรื่องค่ะ",
    slots=(
        forms.Slot("what", "text", "เกิดอะไรขึ้นคะ"),
        forms.Slot("province", "province", "จังหวัดไหนคะ"),
        forms.Slot("photo", "image", "มีรูปไหมคะ", needed=lambda s: s.get("what") == "น้ำท่วม"),
    ),
    finish=submit,
    extract=extract,
    summary=lambda s: f"สรุป: {s['what']} ที่ {s['province']}",
)


def turn(state: DialogueState, text: str | None = None, **understood: Any) -> Turn:
    kind = EventKind.text if text is not None else EventKind.image
    return Turn(
        person=Person("U-form", None, "given", False),
        kind=kind,
        understanding=Understanding("out_of_scope", 0.0, **understood),
        state=state,
        text=text,
    )


def step(state: DialogueState, text: str | None = None, **understood: Any) -> tuple[Outcome, DialogueState]:
    outcome = forms.run(REPORT, turn(state, text, **understood), K)
    assert outcome.state is not None
    return outcome, outcome.state


def reply_text(outcome: Outcome) -> str:
    return "\n".join(r.text for r in outcome.replies if isinstance(r, TextReply))


def test_a_form_asks_each_needed_slot_then_summarises_and_commits_once_on_confirm() -> None:
    SUBMITTED.clear()
    outcome, state = step(DialogueState())
    assert "เกิดอะไรขึ้น" in reply_text(outcome) and state.requested_slot == "what"
    outcome, state = step(state, "ผู้สูงอายุถูกทิ้งไว้คนเดียว")
    assert state.requested_slot == "province" and state.expect == "province"
    outcome, state = step(state, "ขอนแก่น", entities={"province": "ขอนแก่น"})
    assert "สรุป: ผู้สูงอายุถูกทิ้งไว้คนเดียว ที่ ขอนแก่น" in reply_text(outcome)
    assert state.requested_slot == forms.CONFIRM and not SUBMITTED
    outcome, state = step(state, "ยืนยัน")
    assert SUBMITTED == [{"what": "ผู้สูงอายุถูกทิ้งไว้คนเดียว", "province": "ขอนแก่น"}]
    assert state.form is None and "ส่งแล้ว" in reply_text(outcome)


def test_an_edit_at_the_summary_changes_the_slot_and_summarises_again() -> None:
    state = DialogueState(form="report", requested_slot=forms.CONFIRM, slots={"what": "x", "province": "ขอนแก่น"})
    outcome, state = step(state, "ไม่ใช่ค่ะ อยู่เลย", entities={"province": "เลย"})
    assert "ที่ เลย" in reply_text(outcome) and state.requested_slot == forms.CONFIRM


def test_several_slots_from_one_message_and_needed_only_if() -> None:
    _, state = step(DialogueState(), "น้ำท่วม", entities={"province": "อุบลราชธานี"})
    # The message that opens the form gave the province along the way: it is kept, not asked again.
    assert state.slots.get("province") == "อุบลราชธานี"
    _, state = step(state, "น้ำท่วม")
    assert state.requested_slot == "photo", "a flood needs a photo; other reports would not ask"
    _, state = step(state, None)  # a photo answers the photo question
    assert state.requested_slot == forms.CONFIRM


def test_a_slot_not_understood_twice_is_skipped_not_asked_forever() -> None:
    state = DialogueState(form="report", requested_slot="province", expect="province", slots={"what": "x"})
    outcome, state = step(state, "อะไรนะ")
    assert state.requested_slot == "province"
    assert K.replies.form_not_understood in reply_text(outcome)
    outcome, state = step(state, "ไม่รู้สิ")
    assert state.slots["province"] == forms.UNSURE_VALUE
    assert state.requested_slot == forms.CONFIRM


def test_pending_question_is_the_requested_slots_question() -> None:
    state = DialogueState(form="report", requested_slot="province", slots={"what": "x"})
    question = forms.pending_question(REPORT, state, K)
    assert question is not None and "จังหวัดไหนคะ" in question.text


def test_expiry_is_thirty_minutes_from_the_last_step() -> None:
    state = DialogueState(form="report", updated_at=1_000.0)
    assert not forms.expired(state, 1_000.0 + 29 * 60)
    assert forms.expired(state, 1_000.0 + 31 * 60)
