"""The screener (`eligibility_check`): fills facts from free text in any order, asks only what still
decides something, and ends with the programmes the person likely qualifies for, with amounts and reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from handlers import forms
from handlers.base import Outcome, Reply, TextReply, Turn
from handlers.programmes import amount_text, programme_card, source_line
from knowledge.loader import Knowledge
from knowledge.programmes import Programme

name = "eligibility"
FLOW = "eligibility"

DISABILITY_WORDS = ("พิการ", "บัตรคนพิการ", "ตาบอด", "หูหนวก", "ขาขาด", "อัมพาต", "ออทิสติก")
WELFARE_CARD_WORDS = ("บัตรคนจน", "บัตรสวัสดิการ", "บัตรประชารัฐ")
CHILD_WORDS = ("ลูกเล็ก", "ลูกอ่อน", "เด็กแรกเกิด", "ทารก", "เพิ่งคลอด", "ลูกยังไม่ถึง 6", "เลี้ยงหลาน", "หลานเล็ก")
# "เช็คสิทธิให้แม่", "แม่อายุ 72": whom the screener is about, so "แม่ 72 หลาน 4 ขวบ" gives the mother's age.
SUBJECT = re.compile(r"(?:ให้|ของ|สำหรับ)\s*(?:คุณ)?(แม่|พ่อ|ยาย|ตา|ปู่|ย่า|สามี|ภรรยา|เมีย|ผัว|ลูก|หลาน|พี่|น้อง|ป้า|ลุง|น้า|อา)")
# "บ่มีรายได้", "ไม่มีเด็กเล็กในบ้าน": facts said as negations in the opening message.
NEGATED_CARD = re.compile(r"(?:ยังไม่มี|ไม่มี|บ่มี|ยังไม่ได้ทำ|ไม่ได้ทำ)\s*บัตร(?:ประจำตัว)?คนพิการ")
NO_INCOME = re.compile(r"(?:ไม่มี|บ่มี|ไม่ได้มี|ขาด)\s*รายได้")
NO_SMALL_CHILD = re.compile(r"(?:ไม่มี|บ่มี)\s*(?:ลูก|เด็ก|หลาน)(?:เล็ก|น้อย|อ่อน|\s*ต่ำกว่า\s*6)?")
UNSURE = forms.UNSURE_VALUE


def stated(text: str, words: tuple[str, ...]) -> bool | None:
    """True when the text says it has one of these, False when it says it has not, None when silent."""
    for word in words:
        if word in text:
            return not re.search(rf"(ไม่มี|ยังไม่มี|ไม่ได้ทำ|ยังไม่ได้ทำ|บ่มี)\s*{re.escape(word)}", text)
    return None


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    """Every fact this message carries, whatever was asked (the requested slot's bare answer is the form's)."""
    text = (turn.understanding.text or turn.text or "").strip().lower()
    found: dict[str, Any] = {}
    understanding = turn.understanding
    entities = understanding.entities
    subject = SUBJECT.search(text)
    if subject and "_subject" not in slots:
        found["_subject"] = subject.group(1)
    children = [age for who, age in understanding.people if who in forms.CHILD_WORDS and age < 18]
    if children:
        found["child_under_6"] = min(children) < 6
    if understanding.people:
        age = forms.age_of_subject(understanding.people, found.get("_subject") or slots.get("_subject"), None)
        if age is not None:
            found["age"] = age
    elif isinstance(entities.get("age"), int) and not ("ลูก" in text and "ขวบ" in text):
        found["age"] = entities["age"]
    elif isinstance(entities.get("age"), int):
        found["child_under_6"] = entities["age"] < 6
    for slot in ("monthly_income", "province"):
        if entities.get(slot) is not None:
            found[slot] = entities[slot]
    if any(word in NEGATED_CARD.sub(" ", text) for word in DISABILITY_WORDS):
        found["disabled"] = True  # "ไม่มีบัตรคนพิการ" alone says nothing of a disability
    card = stated(text, ("บัตรคนพิการ",))
    if card is not None:
        found["disability_card"] = card
        if card is False and "disabled" not in found and turn.state.requested_slot != "disability_card":
            # Volunteered "ไม่มีบัตรคนพิการ" with no word of a disability: nothing to ask about it.
            # (The card question itself invites "ไม่มี" from a person disabled without a card: that is asked.)
            found["disabled"] = False
    welfare = stated(text, WELFARE_CARD_WORDS)
    if welfare is not None:
        found["welfare_card"] = welfare
    if any(word in text for word in CHILD_WORDS):
        found["child_under_6"] = True
    if NO_SMALL_CHILD.search(text) and "child_under_6" not in found:
        found["child_under_6"] = False
    if NO_INCOME.search(text) and "monthly_income" not in found:
        found["monthly_income"] = 0
    if found.get("disability_card") is True:
        found["disabled"] = True
    return {k: v for k, v in found.items() if slots.get(k) != v}


def known(slots: dict[str, Any], name: str) -> Any:
    """A slot's value, with "not sure" read as unknown."""
    value = slots.get(name)
    return None if value == UNSURE else value


def needs_disabled(slots: dict[str, Any]) -> bool:
    return slots.get("disability_card") is False  # a card settles it; without one, a card may be the advice


def needs_child(slots: dict[str, Any]) -> bool:
    # parents' ages; a grandparent raising a small child says so ("เลี้ยงหลาน"), see CHILD_WORDS
    age = known(slots, "age")
    return age is None or 15 <= age < 60


def needs_income(slots: dict[str, Any]) -> bool:
    age = known(slots, "age")
    return bool(known(slots, "child_under_6")) or (
        age is not None and age >= 18 and not slots.get("welfare_card")
    )


FORM = forms.Form(
    name=FLOW,
    intro='มาเช็คสิทธิกันค่ะ ตอบสั้น ๆ ไม่กี่ข้อ (พิมพ์ "ยกเลิก" เพื่อออกได้ตลอด)',
    slots=(
        forms.Slot(
            "age",
            "age",
            "ขอทราบอายุของคนที่จะขอสิทธิ์ค่ะ (พิมพ์ตัวเลขได้เลย เช่น 67)",
            forms.range_buttons(
                "age",
                # Each range answers with an age inside it that gets the range's rate.
                [
                    ("ต่ำกว่า 18", "ต่ำกว่า 18 ปี", 17),
                    ("18–59 ปี", "18–59 ปี", 40),
                    ("60–69 ปี", "60–69 ปี", 65),
                    ("70–79 ปี", "70–79 ปี", 75),
                    ("80–89 ปี", "80–89 ปี", 85),
                    ("90 ปีขึ้นไป", "90 ปีขึ้นไป", 90),
                ],
            ),
        ),
        forms.Slot(
            "disability_card",
            "yesno",
            'มีบัตรประจำตัวคนพิการไหมคะ (หรือมีความพิการแต่ยังไม่ได้ทำบัตร ตอบ "ไม่มี" ได้ค่ะ)',
            forms.yes_no_buttons(),
            sensitive=True,
        ),
        forms.Slot(
            "disabled",
            "yesno",
            "มีความพิการหรือเจ็บป่วยจนทำกิจวัตรเองได้ยากไหมคะ",
            forms.yes_no_buttons(),
            needed=needs_disabled,
            sensitive=True,
        ),
        forms.Slot(
            "child_under_6",
            "yesno",
            "ในบ้านมีลูกอายุต่ำกว่า 6 ขวบที่คุณเลี้ยงดูอยู่ไหมคะ",
            forms.yes_no_buttons(),
            needed=needs_child,
        ),
        forms.Slot(
            "monthly_income",
            "monthly_income",
            "รายได้ต่อเดือนของคนที่จะขอสิทธิ์ประมาณเท่าไหร่คะ (พิมพ์ตัวเลขได้เลย เช่น 4500)",
            forms.range_buttons(
                "monthly_income",
                [
                    ("ไม่มีรายได้", "ไม่มีรายได้", 0),
                    ("ไม่เกิน 5,000", "ไม่เกิน 5,000 บาท", 5000),
                    ("5,001–8,000", "5,001–8,000 บาท", 8000),
                    ("8,001–15,000", "8,001–15,000 บาท", 15000),
                    ("มากกว่า 15,000", "มากกว่า 15,000 บาท", 20000),
                ],
            ),
            needed=needs_income,
        ),
    ),
    finish=lambda turn, slots, knowledge: result(slots, knowledge),
    extract=extract,
    intents=frozenset({"eligibility_check"}),
)
# A yearly income test of 100,000 baht a person (SOURCES.md §3, §4), asked as a monthly figure.
INCOME_LIMIT_MONTHLY = 100_000 / 12


@dataclass(frozen=True)
class Finding:
    programme: Programme
    sure: bool
    reason: str
    about_the_person: bool = True  # False when the programme is for someone else in the home (a small child)


def findings(slots: dict[str, Any], programmes: dict[str, Programme]) -> list[Finding]:
    """The programmes this person likely qualifies for (sure) or may (check with the office)."""
    slots = {k: v for k, v in slots.items() if v != UNSURE}
    age = slots.get("age")
    income = slots.get("monthly_income")
    low_income = income is not None and income <= INCOME_LIMIT_MONTHLY
    out: list[Finding] = []

    def add(pid: str, sure: bool, reason: str) -> None:
        if pid in programmes:
            out.append(Finding(programmes[pid], sure, reason, about_the_person=pid not in FOR_A_CHILD))

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


FOR_A_CHILD = frozenset({"child_support_grant"})  # its age rules are the child's, not the person's checked
RESULT_CARDS = 3  # the likely programmes shown as cards; the summary lists them all


def result(slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    """The summary, then a card for each likely programme (figure first, details behind buttons)."""
    age = known(slots, "age")
    province = known(slots, "province")
    sure = [f for f in findings(slots, knowledge.programmes) if f.sure][:RESULT_CARDS]
    replies: list[Reply] = [TextReply(result_text(slots, knowledge.programmes))]
    replies += [
        programme_card(f.programme, age if f.about_the_person else None, province, None, knowledge) for f in sure
    ]
    menu = tuple(knowledge.replies.main_menu[:12])
    last = replies[-1]
    replies[-1] = replace(last, quick_replies=menu)
    return replies


def accepts(turn: Turn) -> bool:
    """Whether a message during the screener is for it, rather than a question on another topic."""
    return forms.accepts(FORM, turn)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    return forms.run(FORM, turn, knowledge)
