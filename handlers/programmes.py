"""Programme answers: the amount for the asker's situation, where to apply, what to bring, and the source.

Every figure comes from knowledge/programmes (sources recorded in knowledge/SOURCES.md), with its source
and as-of date in the answer.
"""

from __future__ import annotations

import re
from datetime import date

from handlers.base import CardReply, Outcome, Reply, TextReply, Turn
from knowledge.loader import Knowledge
from knowledge.programmes import Programme, Tier, Unit

name = "programmes"

THAI_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
UNIT_SUFFIX = {
    Unit.baht_per_month: "บาท/เดือน",
    Unit.baht_per_time: "บาท/ครั้ง",
    Unit.baht_once: "บาท",
    Unit.baht_loan_max: "บาท (วงเงินกู้สูงสุด)",
    Unit.baht_per_house: "บาท/หลัง",
}
MONEY = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d{3,7})(?![\d.])(?!\s*(?:ปี|ขวบ|คน|เดือน\s*แล้ว))")
INCREASE_WORDS = ("ขึ้น", "เพิ่ม", "ปรับ", "จริงไหม", "จริงมั้ย", "จริงมั๊ย", "จริงป่าว", "จริงรึเปล่า", "จริงหรือ")
OWN_MINISTRY = "การพัฒนาสังคมและความมั่นคงของมนุษย์"


def thai_date(value: date) -> str:
    """'6 ต.ค. 2568': the Buddhist-era date the way Thai readers expect it."""
    return f"{value.day} {THAI_MONTHS[value.month - 1]} {value.year + 543}"


def amount_text(tier: Tier) -> str:
    if tier.amount is None:
        return tier.label
    return f"{tier.amount:,} {UNIT_SUFFIX.get(tier.unit, 'บาท')}"


def source_line(programme: Programme, tier: Tier | None) -> str:
    source = programme.sources[tier.source if tier else 0]
    return f"ที่มา: {source.title} ({thai_date(source.date)}) · ข้อมูล ณ {thai_date(programme.as_of)}"


def official_amounts(programme: Programme) -> set[int]:
    return {t.amount for t in programme.tiers if t.amount is not None}


def rumoured_amount(text: str | None, programme: Programme, age: int | None) -> int | None:
    """An amount the asker heard that is not an official rate, asked about as an increase."""
    if not text or not programme.tiers:
        return None
    mentioned = {int(m.replace(",", "")) for m in MONEY.findall(text)} - {age or -1}
    unofficial = sorted(a for a in mentioned if a not in official_amounts(programme) and a >= 50)
    if unofficial and (any(word in text for word in INCREASE_WORDS) or len(mentioned) == len(unofficial)):
        return unofficial[0]
    if any(word in text for word in ("ขึ้นเบี้ย", "เบี้ยขึ้น", "ปรับขึ้น", "เพิ่มเป็น", "ขึ้นเป็น")):
        return unofficial[0] if unofficial else 0
    return None


def amount_lines(programme: Programme, age: int | None) -> tuple[list[str], Tier | None]:
    """What this person gets: their tier when the age decides it, else every tier."""
    rules = programme.eligibility
    aged = [t for t in programme.tiers if t.condition is None and (t.age_min is not None or t.age_max is not None)]
    if age is not None and aged:
        if rules.age_min is not None and age < rules.age_min:
            return [f"อายุ {age} ปี ยังไม่ถึงเกณฑ์ค่ะ รับได้ตั้งแต่อายุ {rules.age_min} ปี"], None
        tier = programme.tier_for_age(age)
        if tier is not None:
            extra = [f"เพิ่ม {amount_text(t)}: {t.condition}" for t in programme.tiers if t.condition and t.amount]
            return [f"อายุ {age} ปี: ได้ {amount_text(tier)} ({tier.label})", *extra], tier
        if rules.age_max is not None and age > rules.age_max:
            return [f"อายุ {age} ปี เกินเกณฑ์ของโครงการนี้ค่ะ (ถึงอายุ {rules.age_max} ปี)"], None
    lines = [tier_line(t) for t in programme.tiers]
    return lines, programme.tiers[0] if programme.tiers else None


def tier_line(tier: Tier) -> str:
    """'อายุ 70–79 ปี: 700 บาท/เดือน'; a label that already says its amount stands alone."""
    if tier.amount is None or f"{tier.amount:,}" in tier.label or str(tier.amount) in tier.label:
        return tier.label
    return f"{tier.label}: {amount_text(tier)}"


def answer_lines(programme: Programme, age: int | None, province: str | None, asked: str | None) -> list[str]:
    amounts, tier = amount_lines(programme, age)
    lines: list[str] = []
    rumour = rumoured_amount(asked, programme, age)
    if rumour is not None:
        official = ", ".join(f"{t.label} {amount_text(t)}" for t in programme.tiers if t.amount)
        heard = f"{rumour:,} บาท " if rumour else ""
        lines.append(f"ข่าว{heard}ยังไม่มีประกาศปรับเพิ่มจาก{programme.owner}ค่ะ อัตราที่จ่ายจริงตอนนี้: {official}")
    lines += amounts
    if programme.frequency or programme.pay_day:
        lines.append(" ".join(x for x in (programme.frequency, programme.pay_day) if x))
    if OWN_MINISTRY not in programme.ministry:
        lines.append(f"เป็นงานของ{programme.ministry} ({programme.owner}) ไม่ใช่ พม. ค่ะ")
    in_bangkok = province == "กรุงเทพมหานคร"
    where = programme.apply.bangkok if in_bangkok and programme.apply.bangkok else programme.apply.where[0]
    lines.append(f"ยื่นที่: {where}")
    if programme.apply.bangkok and not in_bangkok:
        lines.append(f"กรุงเทพฯ: {programme.apply.bangkok}")
    if programme.apply.online:
        lines.append(f"ออนไลน์: {programme.apply.online}")
    if programme.apply.documents:
        lines.append("เอกสาร: " + " · ".join(programme.apply.documents[:4]))
    if programme.warnings and rumour is None:
        lines.append(f"⚠️ {programme.warnings[0]}")
    lines.append(source_line(programme, tier))
    return lines


ELDER_WORDS = ("ผู้สูงอายุ", "คนแก่", "คนชรา", "ยาย", "ตา", "ปู่", "ย่า", "พ่อเฒ่า", "แม่เฒ่า")
DISABILITY_WORDS = ("พิการ", "วีลแชร์", "ทางลาด", "ราวจับ")


def affinity(programme: Programme, text: str, age: int | None) -> int:
    """How well a programme fits the message: its own words, the asker's age, elder or disability words."""
    rules = programme.eligibility
    for_elders = (rules.age_min or 0) >= 60 or "ผู้สูงอายุ" in programme.name
    for_disabled = rules.needs_disability_card or "คนพิการ" in programme.name
    score = 4 if any(alias in text for alias in (programme.name, *programme.aliases)) else 0
    if age is not None:
        lowest = 60 if for_elders else (rules.age_min or 0)
        highest = rules.age_max if rules.age_max is not None else 200
        score += 2 if lowest <= age <= highest else -2
    if for_elders:
        elder = (age is not None and age >= 60) or any(word in text for word in ELDER_WORDS)
        score += 1 if elder else -1
    if for_disabled:
        score += 1 if any(word in text for word in DISABILITY_WORDS) else -1
    return score


def choose(programmes: list[Programme], text: str, age: int | None) -> list[Programme]:
    """The programmes for the intent, the best fit for this message first."""
    return sorted(programmes, key=lambda p: (-affinity(p, text, age), p.id))


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    entities = turn.understanding.entities
    age = entities.get("age") if isinstance(entities.get("age"), int) else None
    province = entities.get("province") if isinstance(entities.get("province"), str) else None
    matching = [p for p in knowledge.programmes.values() if p.intent == turn.understanding.intent]
    menu = tuple(knowledge.replies.main_menu)
    if not matching:
        answer = knowledge.intent_replies.intents[turn.understanding.intent].answer
        return Outcome([TextReply(answer, menu)])
    first, *others = choose(matching, (turn.text or "").lower(), age)
    lines = answer_lines(first, age, province, turn.text)
    replies: list[Reply] = [
        CardReply(alt_text=f"{first.name}: {lines[0]}", title=first.name, lines=tuple(lines), quick_replies=menu)
    ]
    if others:
        also = "\n".join(f"• {p.name}: {p.summary}" for p in others)
        replies.append(TextReply(f"เรื่องใกล้เคียงที่อาจเกี่ยวข้อง:\n{also}", menu))
    return Outcome(replies)
