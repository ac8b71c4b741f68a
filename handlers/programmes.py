"""Programme answers: the figure for the asker first, details behind buttons, and follow-ups on the topic.

Every figure comes from knowledge/programmes (sources recorded in knowledge/SOURCES.md), with its source and
as-of date on the card. After an answer the conversation's topic is the programme, so a short follow-up
("เงินเข้าวันไหน", "แล้วแม่ 85 ล่ะ", "รับบำนาญอยู่") is answered about it; the words that mark a follow-up are
in knowledge/replies/follow_ups.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import urlencode

from pythainlp.tokenize import word_tokenize
from pythainlp.util import thai_digit_to_arabic_digit, thai_strftime

from handlers.base import CardReply, DialogueState, EventKind, Outcome, Reply, TextReply, Turn
from knowledge.loader import LINE_LABEL_LIMIT, LINE_QUICK_REPLY_LIMIT, Button, FollowUps, Knowledge, get_knowledge
from knowledge.programmes import Aspect, Exclusion, Programme, Tier, Unit

name = "programmes"

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
ELDERLY_ALLOWANCE = "elderly_allowance"  # offered when a funeral-grant question may be about a living elder
NUMBER = re.compile(r"\d+")
WORDLIKE = re.compile(r"[^\W\d_]")  # a token with a letter in it (Thai vowel and tone marks alone are not)
AGE_IN_TEXT = re.compile(r"(?<!\d)(\d{1,3})(?!\d)")
SMALL_RESIDUE = 3  # Thai characters left when a message says nothing but who, an age and "what about"
MEDIUM_RESIDUE = 12
UNSURE_CONFIDENCE = 0.5  # below it, NLU's intent does not outweigh the topic in progress
SWITCH_CONFIDENCE = 0.8  # at or above it, another programme's intent is a topic switch
MAX_CARD_LINES = 6  # besides the figure and the source: the detail is behind buttons


def thai_date(value: date) -> str:
    """'6 ต.ค. 2568': the Buddhist-era date the way Thai readers expect it (PyThaiNLP's thai_strftime)."""
    return str(thai_strftime(datetime(value.year, value.month, value.day), "%-d %b %Y"))


def amount_text(tier: Tier) -> str:
    if tier.amount is None:
        return tier.label
    return f"{tier.amount:,} {UNIT_SUFFIX.get(tier.unit, 'บาท')}"


def source_line(programme: Programme, tier: Tier | None = None, source: int | None = None) -> str:
    chosen = programme.sources[source if source is not None else (tier.source if tier else 0)]
    return f"ที่มา: {chosen.title} ({thai_date(chosen.date)}) · ข้อมูล ณ {thai_date(programme.as_of)}"


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


def tier_line(tier: Tier) -> str:
    """'อายุ 70–79 ปี: 700 บาท/เดือน'; a label that already says its amount stands alone."""
    if tier.amount is None or f"{tier.amount:,}" in tier.label or str(tier.amount) in tier.label:
        return tier.label
    return f"{tier.label}: {amount_text(tier)}"


def amount_range(programme: Programme) -> str | None:
    """'600–1,000 บาท/เดือน' when the tiers share a unit, the one amount when there is one."""
    paid = [t for t in programme.tiers if t.amount is not None and t.condition is None] or [
        t for t in programme.tiers if t.amount is not None
    ]
    if not paid or len({t.unit for t in paid}) != 1:
        return None
    low, high = min(t.amount or 0 for t in paid), max(t.amount or 0 for t in paid)
    suffix = UNIT_SUFFIX.get(paid[0].unit, "บาท")
    return f"{low:,} {suffix}" if low == high else f"{low:,}–{high:,} {suffix}"


@dataclass(frozen=True)
class Figure:
    """What this person gets: the big figure, the lines that explain it, and the tier it came from."""

    figure: str | None
    lines: list[str]
    tier: Tier | None


def figure_for(programme: Programme, age: int | None) -> Figure:
    rules = programme.eligibility
    aged = programme.aged_tiers()
    if age is not None and aged:
        if rules.age_min is not None and age < rules.age_min:
            return Figure(f"อายุ {age} ปี ยังไม่ถึงเกณฑ์", [f"รับได้ตั้งแต่อายุ {rules.age_min} ปีค่ะ"], None)
        if rules.age_max is not None and age > rules.age_max:
            return Figure(f"อายุ {age} ปี เกินเกณฑ์", [f"โครงการนี้ถึงอายุ {rules.age_max} ปีค่ะ"], None)
        tier = programme.tier_for_age(age)
        if tier is not None:
            extra = [f"เพิ่ม {amount_text(t)}: {t.condition}" for t in programme.tiers if t.condition and t.amount]
            return Figure(amount_text(tier), [f"อายุ {age} ปี ได้ {amount_text(tier)} ({tier.label})", *extra], tier)
    if not programme.tiers:
        return Figure(None, [programme.summary], None)
    if len(programme.tiers) == 1:
        only = programme.tiers[0]
        return Figure(amount_text(only), [only.label], only)
    return Figure(amount_range(programme), [tier_line(t) for t in programme.tiers][:4], programme.tiers[0])


# --- reading a message -------------------------------------------------------------------------------------


def normalised(text: str | None) -> str:
    return str(thai_digit_to_arabic_digit(text or "")).lower().strip()


def names_of(programme: Programme) -> list[str]:
    return sorted({programme.name.lower(), *(a.lower() for a in programme.aliases)}, key=len, reverse=True)


def mentions(programme: Programme, text: str) -> bool:
    return any(n in text for n in names_of(programme))


def aspect_in(text: str, follow_ups: FollowUps) -> Aspect | None:
    for aspect in follow_ups.order:
        if any(word in text for word in follow_ups.aspects[aspect].words):
            return aspect
    return None


def exclusion_in(programme: Programme, text: str) -> Exclusion | None:
    for exclusion in programme.exclusions:
        if any(word.lower() in text for word in exclusion.words):
            return exclusion
    return None


def switch_in(text: str, topic: Programme, knowledge: Knowledge) -> str | None:
    """The intent of another topic the message names, if any (its own programme's names do not count)."""
    own = names_of(topic)
    rest = text
    for own_name in own:
        rest = rest.replace(own_name, " ")
    for programme in knowledge.programmes.values():
        if programme.id != topic.id and programme.intent != topic.intent and mentions(programme, rest):
            return programme.intent
    for intent, words in knowledge.follow_ups.switch_words.items():
        if intent == topic.intent:
            continue
        for word in words:
            if word in rest and not any(word in own_name for own_name in own):
                return intent
    return None


def residue(text: str, follow_ups: FollowUps, also: list[str]) -> str:
    """What a message says besides who, an age, "and what about", and the follow-up words already recognised."""
    rest = text
    for word in sorted(also, key=len, reverse=True):
        rest = rest.replace(word, " ")
    ignored = {*follow_ups.relatives, *follow_ups.fillers}
    tokens = word_tokenize(rest, engine="newmm", keep_whitespace=False)
    return "".join(t for t in tokens if t not in ignored and not NUMBER.fullmatch(t) and WORDLIKE.search(t))


def relative_in(text: str, follow_ups: FollowUps) -> str | None:
    tokens = set(word_tokenize(text, engine="newmm", keep_whitespace=False))
    return next((r for r in sorted(follow_ups.relatives, key=len, reverse=True) if r in tokens), None)


def age_of(turn: Turn, text: str, plain: bool) -> int | None:
    """The age NLU found; in a message of only who/age/"what about" (`plain`), a bare number is that age.

    The bare-number reading bridges until NLU reads a bare answer as the requested slot (issue 7, item 2).
    """
    value = turn.understanding.entities.get("age")
    if isinstance(value, int):
        return value
    if plain:
        numbers = [int(n) for n in AGE_IN_TEXT.findall(text)]
        if len(numbers) == 1 and 0 <= numbers[0] <= 120:
            return numbers[0]
    return None


@dataclass(frozen=True)
class FollowUp:
    """A message read as continuing the conversation about `programme`."""

    programme: Programme
    aspect: Aspect | None = None
    exclusion: Exclusion | None = None
    age: int | None = None
    person: str | None = None
    unsure: bool = False
    other_intent: str | None = None  # when unsure between the topic and what NLU guessed
    died: bool = False  # the asker confirmed (by button) that the person has died


def postback_follow_up(turn: Turn, knowledge: Knowledge) -> FollowUp | None:
    data = turn.postback
    programme = knowledge.programmes.get(data.get("topic", ""))
    if programme is None or not ({"aspect", "age"} & set(data)):
        return None
    aspect = Aspect(data["aspect"]) if data.get("aspect") in set(Aspect) else None
    age = int(data["age"]) if data.get("age", "").isdigit() else None
    return FollowUp(programme, aspect=aspect, age=age, died=data.get("died") == "1")


def read_follow_up(turn: Turn, knowledge: Knowledge) -> FollowUp | None:
    """How this turn continues the topic in progress, or None when it does not (a new question, a switch)."""
    if turn.kind is EventKind.postback:
        return postback_follow_up(turn, knowledge)
    topic = knowledge.programmes.get(turn.state.topic or "")
    understanding = turn.understanding
    if topic is None or turn.kind is not EventKind.text or not turn.text or understanding.danger is not None:
        return None
    follow_ups = knowledge.follow_ups
    text = normalised(turn.text)
    if any(word in text for word in follow_ups.not_follow_up):
        return None
    if switch_in(text, topic, knowledge) is not None:
        return None
    exclusion = exclusion_in(topic, text)
    aspect = aspect_in(text, follow_ups)
    recognised = [
        *(w.lower() for w in (exclusion.words if exclusion else [])),
        *(follow_ups.aspects[aspect].words if aspect else []),
        *names_of(topic),
    ]
    left = residue(text, follow_ups, recognised)
    plain = len(left) <= SMALL_RESIDUE
    age = age_of(turn, text, plain)
    person = relative_in(text, follow_ups)
    if mentions(topic, text) and understanding.intent == topic.intent and exclusion is None and aspect is None:
        return None  # a new question about the same programme: answered as one
    if understanding.intent == "emergency" or "emergency" in understanding.alternatives:
        # NLU's guess (or its doubt), not the danger lexicon: only the plainest follow-ups ("แล้วแม่ 85 ล่ะ",
        # "พ่อยังไม่ตาย"); anything more goes to the emergency reply or its "did you mean".
        if plain and (exclusion is not None or aspect is not None or age is not None or person is not None):
            return FollowUp(topic, aspect, exclusion, age, person)
        return None
    if exclusion is not None or aspect is not None:
        return FollowUp(topic, aspect, exclusion, age, person)
    other_programme = understanding.intent in knowledge.programme_intents() and understanding.intent != topic.intent
    if other_programme and understanding.confidence >= SWITCH_CONFIDENCE:
        return None
    if (age is not None and len(left) <= MEDIUM_RESIDUE) or (person is not None and plain):
        return FollowUp(topic, age=age, person=person)
    continues = any(marker in text for marker in follow_ups.continuations)
    if continues and len(text) <= 40 and understanding.confidence < UNSURE_CONFIDENCE and not mentions(topic, text):
        return FollowUp(topic, unsure=True, other_intent=understanding.intent if other_programme else None)
    return None


def accepts_follow_up(turn: Turn, knowledge: Knowledge) -> bool:
    """Whether this turn is a follow-up on the programme just discussed (the engine asks before intent dispatch)."""
    return read_follow_up(turn, knowledge) is not None


# --- buttons -----------------------------------------------------------------------------------------------


def detail_button(programme: Programme, aspect: Aspect, follow_ups: FollowUps) -> Button:
    words = follow_ups.aspects[aspect]
    data = urlencode({"topic": programme.id, "aspect": aspect.value})
    return Button(label=words.label, text=words.heading, data=data)


def age_buttons(programme: Programme) -> list[Button]:
    """One postback per age band: the chat shows the band, the value travels in data."""
    buttons = []
    for tier in programme.aged_tiers():
        low = tier.age_min if tier.age_min is not None else 0
        data = urlencode({"topic": programme.id, "age": low})
        buttons.append(Button(label=tier.label[:LINE_LABEL_LIMIT], text=tier.label, data=data))
    return buttons


MAIN_MENU_BUTTON = Button(label="เมนูหลัก", text="เมนู")


def with_menu(buttons: list[Button], knowledge: Knowledge) -> tuple[Button, ...]:
    """The next steps for this answer and one button back to the main menu (the whole menu when there are
    none): a short row the person can read, not every topic of the service after every answer."""
    if not buttons:
        return tuple(knowledge.replies.main_menu[:LINE_QUICK_REPLY_LIMIT])
    return (*buttons[: LINE_QUICK_REPLY_LIMIT - 1], MAIN_MENU_BUTTON)


def short_name(programme: Programme, knowledge: Knowledge) -> str:
    """A name that fits a button: the main menu's label for it, its official name, or its first alias."""
    names = {n.lower() for n in (programme.name, *programme.aliases)}
    for button in knowledge.replies.main_menu:
        if button.text.lower() in names:
            return button.label
    fitting = [n for n in (programme.name, *programme.aliases) if len(n) <= LINE_LABEL_LIMIT]
    return fitting[0] if fitting else programme.aliases[0][:LINE_LABEL_LIMIT]


def other_topic_button(follow_ups: FollowUps) -> Button:
    return Button(label=follow_ups.text("other_topic_label"), text=follow_ups.text("other_topic_text"))


# --- cards -----------------------------------------------------------------------------------------------


def where_to_apply(programme: Programme, province: str | None) -> str:
    if province == "กรุงเทพมหานคร" and programme.apply.bangkok:
        return programme.apply.bangkok
    return programme.ask_at


def main_card(
    programme: Programme,
    knowledge: Knowledge,
    *,
    age: int | None = None,
    province: str | None = None,
    asked: str | None = None,
    exclusion: Exclusion | None = None,
    reason: str | None = None,
) -> CardReply:
    """The figure for this person first, then a few short lines, then buttons for the details."""
    follow_ups = knowledge.follow_ups
    buttons = tuple(detail_button(programme, a, follow_ups) for a in follow_ups.card_buttons)
    quick = list(age_buttons(programme)) if age is None and programme.amount_depends_on_age else []
    if exclusion is not None and not exclusion.eligible:
        figure = follow_ups.text("not_eligible", programme=programme.name)
        footnote = source_line(programme, source=exclusion.source if exclusion.source is not None else 0)
        return CardReply(
            alt_text=f"{programme.name}: {figure} {exclusion.answer}",
            title=programme.name,
            lines=(exclusion.answer, f"สอบถามเพิ่มเติม: {programme.ask_at}"),
            buttons=buttons,
            quick_replies=with_menu([], knowledge),
            figure=figure,
            footnote=footnote,
        )
    found = figure_for(programme, age)
    lines: list[str] = []
    rumour = rumoured_amount(asked, programme, age)
    if rumour is not None:
        official = ", ".join(f"{t.label} {amount_text(t)}" for t in programme.tiers if t.amount)
        heard = f"{rumour:,} บาท " if rumour else ""
        lines.append(f"ข่าว{heard}ยังไม่มีประกาศปรับเพิ่มจาก{programme.owner}ค่ะ อัตราที่จ่ายจริงตอนนี้: {official}")
        found = Figure(found.figure, found.lines if age is not None else [], found.tier)
    if reason:
        lines.append(reason)
    if exclusion is not None:
        lines.append(exclusion.answer)
    if OWN_MINISTRY not in programme.ministry:
        lines.append(f"เป็นงานของ{programme.ministry} ({programme.owner}) ไม่ใช่ พม. ค่ะ")
    tail: list[str] = []
    if programme.pay_day:
        tail.append(f"เงินเข้า: {programme.pay_day}")
    elif programme.frequency and not any(programme.frequency in line for line in (*lines, *found.lines)):
        tail.append(programme.frequency)
    tail.append(f"ยื่นที่: {where_to_apply(programme, province)}")
    room = max(1, MAX_CARD_LINES - len(lines) - len(tail))
    lines += found.lines[:room] + tail
    first = found.figure or (lines[0] if lines else programme.summary)
    return CardReply(
        alt_text=f"{programme.name}: {first}",
        title=programme.name,
        lines=tuple(lines),
        buttons=buttons,
        quick_replies=with_menu(quick, knowledge),
        figure=found.figure,
        footnote=source_line(programme, found.tier),
    )


def aspect_lines(programme: Programme, aspect: Aspect, province: str | None, knowledge: Knowledge) -> list[str]:
    """What the catalogue says about one aspect; empty when it says nothing (the caller says so honestly)."""
    apply = programme.apply
    detail = programme.details.get(aspect)
    if aspect is Aspect.pay_day:
        return [x for x in (programme.pay_day, programme.frequency if not programme.pay_day else None, detail) if x]
    if aspect is Aspect.where:
        lines: list[str] = [apply.bangkok] if province == "กรุงเทพมหานคร" and apply.bangkok else list(apply.where)
        if apply.bangkok and province != "กรุงเทพมหานคร":
            lines.append(f"กรุงเทพฯ: {apply.bangkok}")
        if apply.online:
            lines.append(f"ออนไลน์: {apply.online}")
        return [*lines, *([detail] if detail else [])]
    if aspect is Aspect.documents:
        return [f"• {d}" for d in apply.documents] + ([detail] if detail else [])
    if aspect is Aspect.deadline:
        return [x for x in (apply.when, detail) if x]
    if aspect is Aspect.income:
        rules = programme.eligibility
        lines = [detail] if detail else []
        if rules.income_max_baht_per_year is not None and not detail:
            lines.append(f"รายได้ไม่เกิน {rules.income_max_baht_per_year:,} บาทต่อคนต่อปี")
        lines += [o for o in rules.other if "รายได้" in o and o not in lines]
        return lines
    if aspect is Aspect.eligibility:
        return eligibility_lines(programme, knowledge)
    return [detail] if detail else []


def eligibility_lines(programme: Programme, knowledge: Knowledge) -> list[str]:
    rules = programme.eligibility
    lines = [knowledge.follow_ups.text("eligibility_intro")]
    if rules.age_min is not None and rules.age_max is not None:
        lines.append(f"• อายุ {rules.age_min}–{rules.age_max} ปี")
    elif rules.age_min:
        lines.append(f"• อายุ {rules.age_min} ปีขึ้นไป")
    if rules.thai_nationality:
        lines.append("• สัญชาติไทย")
    if rules.needs_disability_card:
        lines.append("• มีบัตรประจำตัวคนพิการ")
    if rules.needs_welfare_card:
        lines.append("• มีบัตรสวัสดิการแห่งรัฐ")
    lines += [f"• {o}" for o in rules.other if o.strip() and f"• {o}" not in lines][:5]
    return lines


def aspect_card(programme: Programme, aspect: Aspect, knowledge: Knowledge, province: str | None = None) -> CardReply:
    follow_ups = knowledge.follow_ups
    heading = follow_ups.aspects[aspect].heading
    lines = aspect_lines(programme, aspect, province, knowledge)
    if not lines:
        lines = [follow_ups.text("unknown", aspect=heading, programme=programme.name, ask_at=programme.ask_at)]
    elif aspect in (Aspect.late_payment, Aspect.proxy, Aspect.income) or (
        aspect is Aspect.pay_day and not programme.pay_day
    ):
        lines.append(f"สอบถามเพิ่มเติม: {programme.ask_at}")
    others = [detail_button(programme, a, follow_ups) for a in follow_ups.detail_buttons if a is not aspect]
    if aspect is Aspect.eligibility:
        others.insert(0, Button(label=follow_ups.text("full_check_label"), text=follow_ups.text("full_check_text")))
    return CardReply(
        alt_text=f"{heading} ({programme.name}): {lines[0]}",
        title=heading,
        lines=(programme.name, *lines),
        quick_replies=with_menu(others, knowledge),
        footnote=source_line(programme),
    )


def programme_card(
    programme: Programme,
    age: int | None,
    province: str | None,
    reason: str | None,
    knowledge: Knowledge | None = None,
) -> CardReply:
    """A programme as a card for the screener's result: the figure for this person, why it fits, the details."""
    return main_card(programme, knowledge or get_knowledge(), age=age, province=province, reason=reason)


# --- answering ---------------------------------------------------------------------------------------------


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


def topic_state(turn: Turn, programme: Programme) -> DialogueState:
    """The topic is this programme; a bare age next is read as this programme's age when the amount depends on it."""
    return replace(turn.state, topic=programme.id, requested_slot="age" if programme.amount_depends_on_age else None)


def lacks_needed_words(programme: Programme, text: str) -> bool:
    return (
        bool(programme.needs_words)
        and not any(w in text for w in programme.needs_words)
        and not mentions(programme, text)
    )


def unsure_of_death(programme: Programme, age: int | None, turn: Turn, knowledge: Knowledge) -> Outcome:
    """A funeral-grant question that does not say anyone died: ask, rather than answer as if they had."""
    follow_ups = knowledge.follow_ups
    age_part = f" (อายุ {age} ปี)" if age is not None else ""
    allowance = knowledge.programmes.get(ELDERLY_ALLOWANCE)
    buttons: list[Button] = []
    if allowance is not None:
        data = {"topic": allowance.id, **({"age": str(age)} if age is not None else {"aspect": "eligibility"})}
        buttons.append(Button(label=short_name(allowance, knowledge), text=allowance.name, data=urlencode(data)))
    died = {"topic": programme.id, "died": "1", **({"age": str(age)} if age is not None else {"aspect": "eligibility"})}
    buttons.append(Button(label="เสียชีวิตแล้ว", text=f"ถามเรื่อง{programme.aliases[0]} (เสียชีวิตแล้ว)", data=urlencode(died)))
    buttons.append(other_topic_button(follow_ups))
    text = follow_ups.text("funeral_unsure", programme=programme.name, age_part=age_part)
    # The topic stays where it was: nothing was answered yet.
    return Outcome([TextReply(text, tuple(buttons))], state=replace(turn.state, requested_slot=None))


def answer_follow_up(turn: Turn, knowledge: Knowledge, follow_up: FollowUp) -> Outcome:
    programme = follow_up.programme
    follow_ups = knowledge.follow_ups
    found_province = turn.understanding.entities.get("province")
    province = found_province if isinstance(found_province, str) else None
    text = normalised(turn.text)
    if follow_up.unsure:
        if follow_up.other_intent is not None:
            other = next(p for p in knowledge.programmes.values() if p.intent == follow_up.other_intent)
            ask = follow_ups.text("clarify_programme", programme=programme.name, other=other.name)
            buttons = [
                detail_button(programme, Aspect.eligibility, follow_ups).model_copy(
                    update={"label": short_name(programme, knowledge), "text": programme.name}
                ),
                Button(label=short_name(other, knowledge), text=other.name),
            ]
        else:
            ask = follow_ups.text("clarify", programme=programme.name)
            buttons = [detail_button(programme, a, follow_ups) for a in follow_ups.detail_buttons]
        quick = (*buttons, other_topic_button(follow_ups))[:LINE_QUICK_REPLY_LIMIT]
        return Outcome([TextReply(ask, quick)], state=turn.state)
    if follow_up.exclusion is not None and (not follow_up.exclusion.eligible or follow_up.aspect is None):
        card = main_card(programme, knowledge, age=follow_up.age, province=province, exclusion=follow_up.exclusion)
        return Outcome([card], state=topic_state(turn, programme))
    if follow_up.aspect is not None:
        replies: list[Reply] = [aspect_card(programme, follow_up.aspect, knowledge, province)]
        return Outcome(replies, state=topic_state(turn, programme))
    if programme.needs_words and not follow_up.died and lacks_needed_words(programme, text):
        return unsure_of_death(programme, follow_up.age, turn, knowledge)
    if follow_up.age is None and follow_up.person is not None and programme.amount_depends_on_age:
        ask = follow_ups.text("ask_age", person=follow_up.person, programme=programme.name)
        state = replace(turn.state, topic=programme.id, requested_slot="age")
        return Outcome([TextReply(ask, with_menu(age_buttons(programme), knowledge))], state=state)
    card = main_card(programme, knowledge, age=follow_up.age, province=province)
    return Outcome([card], state=topic_state(turn, programme))


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    follow_up = read_follow_up(turn, knowledge)
    if follow_up is not None:
        return answer_follow_up(turn, knowledge, follow_up)
    entities = turn.understanding.entities
    age = entities.get("age") if isinstance(entities.get("age"), int) else None
    province = entities.get("province") if isinstance(entities.get("province"), str) else None
    matching = [p for p in knowledge.programmes.values() if p.intent == turn.understanding.intent]
    menu = tuple(knowledge.replies.main_menu)
    if not matching:
        answer = knowledge.intent_replies.intents[turn.understanding.intent].answer
        return Outcome([TextReply(answer, menu)])
    text = normalised(turn.text)
    first, *others = choose(matching, text, age)
    exclusion = exclusion_in(first, text)
    if exclusion is None and lacks_needed_words(first, text):
        return unsure_of_death(first, age, turn, knowledge)
    replies: list[Reply] = [
        main_card(first, knowledge, age=age, province=province, asked=turn.text, exclusion=exclusion)
    ]
    aspect = aspect_in(text, knowledge.follow_ups)
    if aspect is not None and exclusion is None:
        replies.append(aspect_card(first, aspect, knowledge, province))
    if others:
        also = "\n".join(f"• {p.name}: {p.summary}" for p in others)
        replies.append(TextReply(f"เรื่องใกล้เคียงที่อาจเกี่ยวข้อง:\n{also}", menu))
    return Outcome(replies, state=topic_state(turn, first))
