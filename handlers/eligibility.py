"""The screener (`eligibility_check`): fills facts from free text in any order, asks only what still
decides something, and ends with the programmes the person likely qualifies for, with amounts and reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from handlers.base import Outcome, TextReply, Turn
from handlers.programmes import amount_text, source_line
from knowledge.loader import Button, Knowledge
from knowledge.programmes import Programme

name = "eligibility"
FLOW = "eligibility"

# Thai vowels and tone marks are not "word" characters to `re`, so \b cannot end a Thai word: match the
# start of the answer instead ("มีค่ะ", "ไม่มีครับ", "บ่มี").
YES = re.compile(r"^(ใช่|ช่าย|มี|ได้|เคย|แม่น|yes|yep|y$|ok)")
NO = re.compile(r"^(ไม่|บ่|ม่าย|ยังไม่|no|n$)")
DISABILITY_WORDS = ("พิการ", "บัตรคนพิการ", "ตาบอด", "หูหนวก", "ขาขาด", "อัมพาต", "ออทิสติก")
WELFARE_CARD_WORDS = ("บัตรคนจน", "บัตรสวัสดิการ", "บัตรประชารัฐ")
CHILD_WORDS = ("ลูกเล็ก", "ลูกอ่อน", "เด็กแรกเกิด", "ทารก", "เพิ่งคลอด", "ลูกยังไม่ถึง 6", "เลี้ยงหลาน", "หลานเล็ก")
YES_NO_SLOTS = ("disability_card", "disabled", "child_under_6")
YES_NO = (Button(label="ใช่/มี", text="มี"), Button(label="ไม่ใช่/ไม่มี", text="ไม่มี"), Button(label="ยกเลิก", text="ยกเลิก"))


@dataclass(frozen=True)
class Question:
    slot: str
    text: str
    buttons: tuple[Button, ...]


QUESTIONS = (
    Question(
        "age",
        "ขอทราบอายุของคนที่จะขอสิทธิ์ค่ะ (พิมพ์ตัวเลขได้เลย เช่น 67)",
        (
            Button(label="ต่ำกว่า 18", text="อายุ 17"),
            Button(label="18–59 ปี", text="อายุ 40"),
            Button(label="60–69 ปี", text="อายุ 65"),
            Button(label="70–79 ปี", text="อายุ 75"),
            Button(label="80–89 ปี", text="อายุ 85"),
            Button(label="90 ปีขึ้นไป", text="อายุ 90"),
            Button(label="ยกเลิก", text="ยกเลิก"),
        ),
    ),
    Question("disability_card", 'มีบัตรประจำตัวคนพิการไหมคะ (หรือมีความพิการแต่ยังไม่ได้ทำบัตร ตอบ "ไม่มี" ได้ค่ะ)', YES_NO),
    Question("disabled", "มีความพิการหรือเจ็บป่วยจนทำกิจวัตรเองได้ยากไหมคะ", YES_NO),
    Question("child_under_6", "ในบ้านมีลูกอายุต่ำกว่า 6 ขวบที่คุณเลี้ยงดูอยู่ไหมคะ", YES_NO),
    Question(
        "monthly_income",
        "รายได้ต่อเดือนของคุณประมาณเท่าไหร่คะ",
        (
            Button(label="ไม่มีรายได้", text="ไม่มีรายได้"),
            Button(label="ไม่เกิน 5,000", text="รายได้ 5000"),
            Button(label="5,001–8,000", text="รายได้ 8000"),
            Button(label="8,001–15,000", text="รายได้ 15000"),
            Button(label="มากกว่า 15,000", text="รายได้ 20000"),
            Button(label="ยกเลิก", text="ยกเลิก"),
        ),
    ),
)
# A yearly income test of 100,000 baht a person (FACTS §3, §4), asked as a monthly figure.
INCOME_LIMIT_MONTHLY = 100_000 / 12


def stated(text: str, words: tuple[str, ...]) -> bool | None:
    """True when the text says it has one of these, False when it says it has not, None when silent."""
    for word in words:
        if word in text:
            return not re.search(rf"(ไม่มี|ยังไม่มี|ไม่ได้ทำ|ยังไม่ได้ทำ|บ่มี)\s*{re.escape(word)}", text)
    return None


def fill(slots: dict[str, Any], turn: Turn) -> dict[str, Any]:
    """Every fact this message carries, whatever was asked; the pending question also takes a bare yes/no."""
    text = (turn.text or turn.postback_data or "").strip().lower()
    found = dict(slots)
    entities = turn.understanding.entities
    pending = slots.get("_asking")
    age = entities.get("age")
    if isinstance(age, int):
        # "ลูก 3 ขวบ" speaks of a child; an answer to the child question too.
        if pending == "child_under_6" or ("ลูก" in text and "ขวบ" in text):
            found["child_under_6"] = age < 6
        else:
            found["age"] = age
    for slot in ("monthly_income", "province"):
        if entities.get(slot) is not None:
            found[slot] = entities[slot]
    if any(word in text for word in DISABILITY_WORDS):
        found["disabled"] = True
    card = stated(text, ("บัตรคนพิการ",))
    if card is not None:
        found["disability_card"] = card
    welfare = stated(text, WELFARE_CARD_WORDS)
    if welfare is not None:
        found["welfare_card"] = welfare
    if any(word in text for word in CHILD_WORDS):
        found["child_under_6"] = True
    if pending in YES_NO_SLOTS and found.get(pending) is None:
        if NO.search(text):
            found[pending] = False
        elif YES.search(text):
            found[pending] = True
    if found.get("disability_card"):
        found["disabled"] = True
    return found


def accepts(turn: Turn) -> bool:
    """Whether a message during the screener is an answer to it, rather than a question on another topic."""
    understanding = turn.understanding
    if understanding.intent in ("eligibility_check", "out_of_scope") or understanding.confidence < 0.8:
        return True
    text = (turn.text or "").strip().lower()
    answered_slot = any(key in understanding.entities for key in ("age", "monthly_income", "province"))
    return bool(YES.search(text) or NO.search(text)) or answered_slot


def still_decides(slot: str, slots: dict[str, Any]) -> bool:
    """Whether asking this would change the result, given what is known."""
    if slot in slots:
        return False
    age = slots.get("age")
    if slot == "age":
        return True
    if slot == "disability_card":
        return True
    if slot == "disabled":
        return slots.get("disability_card") is False  # a card settles it; without one, a card may be the advice
    if slot == "child_under_6":
        # parents' ages; a grandparent raising a small child says so ("เลี้ยงหลาน"), see CHILD_WORDS
        return age is None or 15 <= age < 60
    if slot == "monthly_income":
        needs_income = bool(slots.get("child_under_6")) or (
            age is not None and age >= 18 and not slots.get("welfare_card")
        )
        return needs_income
    return False


def next_question(slots: dict[str, Any]) -> Question | None:
    return next((q for q in QUESTIONS if still_decides(q.slot, slots)), None)


@dataclass(frozen=True)
class Finding:
    programme: Programme
    sure: bool
    reason: str


def findings(slots: dict[str, Any], programmes: dict[str, Programme]) -> list[Finding]:
    """The programmes this person likely qualifies for (sure) or may (check with the office)."""
    age = slots.get("age")
    income = slots.get("monthly_income")
    low_income = income is not None and income <= INCOME_LIMIT_MONTHLY
    out: list[Finding] = []

    def add(pid: str, sure: bool, reason: str) -> None:
        if pid in programmes:
            out.append(Finding(programmes[pid], sure, reason))

    if isinstance(age, int) and age >= 60:
        tier = programmes["elderly_allowance"].tier_for_age(age)
        add("elderly_allowance", True, f"อายุ {age} ปี" + (f": {amount_text(tier)}" if tier else ""))
        add("elderly_fund_loan", False, "ถ้าต้องการทุนประกอบอาชีพ")
        if slots.get("disabled") or age >= 70:
            add("elderly_home_adaptation", False, "ถ้าบ้านไม่สะดวก/ไม่ปลอดภัยต่อผู้สูงอายุ")
    if slots.get("disability_card"):
        tier = programmes["disability_allowance"].tier_for_age(age) if isinstance(age, int) else None
        add("disability_allowance", True, "มีบัตรคนพิการ" + (f": {amount_text(tier)}" if tier else ""))
        add("disability_fund_loan", False, "ถ้าต้องการทุนประกอบอาชีพ")
        add("disability_home_adaptation", False, "ถ้าต้องปรับบ้านให้สะดวกขึ้น")
    elif slots.get("disabled"):
        add("disability_card", True, "มีความพิการแต่ยังไม่มีบัตร: ทำบัตรก่อน แล้วจึงขอเบี้ยความพิการได้")
    if slots.get("child_under_6"):
        if income is None:
            add("child_support_grant", False, "มีลูกต่ำกว่า 6 ขวบ: ขึ้นกับรายได้ครัวเรือน")
        elif low_income:
            tier = programmes["child_support_grant"].tiers[0] if programmes["child_support_grant"].tiers else None
            add(
                "child_support_grant",
                True,
                "มีลูกต่ำกว่า 6 ขวบ รายได้ไม่เกินเกณฑ์" + (f": {amount_text(tier)}" if tier else ""),
            )
    if isinstance(age, int) and age >= 18 and not slots.get("welfare_card") and low_income:
        add("welfare_card", False, "รายได้ไม่เกินเกณฑ์: รอรอบลงทะเบียนของกระทรวงการคลัง")
    if low_income and income == 0:
        add(
            "elderly_hardship_grant" if isinstance(age, int) and age >= 60 else "low_income_family_grant",
            False,
            "ถ้าเดือดร้อนเฉพาะหน้า เจ้าหน้าที่จะเยี่ยมบ้านเพื่อพิจารณา",
        )
    return out


def result_text(slots: dict[str, Any], programmes: dict[str, Programme]) -> str:
    found = findings(slots, programmes)
    if not found:
        return 'จากข้อมูลที่ให้มา ยังไม่พบสิทธิที่ตรงค่ะ ถ้ามีความเดือดร้อน พิมพ์ "ขอความช่วยเหลือ" หรือโทร 1300 ได้ตลอด 24 ชั่วโมงนะคะ'
    lines = ["สิทธิที่น่าจะได้:"]
    lines += [f"✅ {f.programme.name} ({f.reason})" for f in found if f.sure]
    maybe = [f for f in found if not f.sure]
    if maybe:
        lines.append("อาจได้ ลองสอบถามเพิ่ม:")
        lines += [f"• {f.programme.name} ({f.reason})" for f in maybe]
    where = "สำนักงานเขต" if slots.get("province") == "กรุงเทพมหานคร" else "อบต./เทศบาล หรือ พมจ. ในจังหวัด"
    lines.append(f"ยื่นได้ที่ {where} หรือสอบถามสายด่วน 1300 ค่ะ พิมพ์ชื่อสิทธิเพื่อดูรายละเอียดและเอกสารได้เลย")
    # Every amount told comes with its source and date.
    lines += [source_line(f.programme, None).replace("ที่มา:", f"ที่มา ({f.programme.name}):") for f in found if f.sure]
    return "\n".join(lines)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    in_form = turn.state.form == FLOW
    slots = fill(dict(turn.state.slots) if in_form else {}, turn)
    question = next_question(slots)
    if question is not None:
        slots["_asking"] = question.slot
        intro = 'มาเช็คสิทธิกันค่ะ ตอบสั้น ๆ ไม่กี่ข้อ (พิมพ์ "ยกเลิก" เพื่อออกได้ตลอด)\n' if not in_form else ""
        state = replace(turn.state, form=FLOW, requested_slot=question.slot, slots=slots)
        return Outcome([TextReply(intro + question.text, question.buttons)], state=state)
    slots.pop("_asking", None)
    buttons = tuple(b for b in knowledge.replies.main_menu[:12])
    done = replace(turn.state, form=None, requested_slot=None, slots={})
    return Outcome([TextReply(result_text(slots, knowledge.programmes), buttons)], state=done)
