"""Typed loader for everything in knowledge/: fails loudly at start-up when content is invalid."""

from __future__ import annotations

import re
import string
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.programmes import Aspect, Programme, load_programmes

KNOWLEDGE_DIR = Path(__file__).parent
LINE_TEXT_LIMIT = 5000
LINE_QUICK_REPLY_LIMIT = 13
LINE_LABEL_LIMIT = 20

# The placeholders each reply may use; anything else in {braces} is a typo caught at start-up.
ALLOWED_PLACEHOLDERS: dict[str, set[str]] = {
    "welcome": {"name_part"},
    "greeting": {"name_part"},
    "file_saved": {"file_name"},
    "attachment_too_large": {"limit_mb"},
    "location": {"address_part"},
    "bare_age_question": {"age"},
    "my_data": {"general", "sensitive", "messages", "attachments", "profile", "flow", "tickets_part", "erased_part"},
}


INTENTS = (
    "greeting",
    "thanks",
    "elderly_allowance",
    "disability_allowance",
    "disability_card",
    "child_support_grant",
    "welfare_card",
    "emergency_cash",
    "funeral_assistance",
    "elderly_fund_loan",
    "disability_fund_loan",
    "home_adaptation",
    "housing",
    "homeless_shelter",
    "eligibility_check",
    "complaint",
    "request_help",
    "report_case",
    "emergency",
    "ticket_status",
    "talk_to_officer",
    "contact_office",
    "data_rights",
    "out_of_scope",
)


class Button(BaseModel):
    """A button or quick reply. `text` is what the person is seen to say when they tap it; with `data` the tap
    is a postback carrying that value (so a label never puts words in the person's mouth), with `tel` it dials."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, max_length=LINE_LABEL_LIMIT)
    text: str = Field(min_length=1, max_length=300)
    data: str | None = Field(default=None, min_length=1, max_length=300)
    tel: str | None = Field(default=None, pattern=r"^\+?\d{3,15}$")

    @model_validator(mode="after")
    def _one_action(self) -> Button:
        if self.data is not None and self.tel is not None:
            raise ValueError(f"button {self.label!r}: a postback or a phone call, not both")
        return self


class Hotline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = Field(pattern=r"^\d{3,5}$")
    name: str
    short: str = Field(min_length=1, max_length=14)  # the button label after "โทร "
    what: str
    owner: str
    source: str
    asked_as: list[str] = Field(min_length=1)  # words meaning "this service" in "ขอเบอร์…" questions


class Hotlines(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: str
    hotlines: list[Hotline]

    @model_validator(mode="after")
    def _required_numbers_present(self) -> Hotlines:
        numbers = {h.number for h in self.hotlines}
        missing = {"1300", "191", "1669", "1323"} - numbers
        if missing:
            raise ValueError(f"hotlines missing: {sorted(missing)}")
        return self

    def get(self, number: str) -> Hotline:
        return next(h for h in self.hotlines if h.number == number)


class EmergencyKind(BaseModel):
    """What to say after an emergency of one kind: the numbers that matter most and what to do now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    numbers: list[str] = Field(min_length=1)
    steps: list[str] = Field(min_length=1, max_length=4)


class EmergencyCue(BaseModel):
    """A worry said after an emergency ("โทรหาเพื่อนไม่ติด") and the line that answers it, before the steps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    words: list[str] = Field(min_length=1)
    say: str = Field(min_length=1, max_length=300)


class EmergencyGuide(BaseModel):
    """knowledge/emergency.yaml: follow-up guidance per danger kind (the danger lexicon's categories)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context_minutes: int = Field(ge=10, le=24 * 60)
    kinds: dict[str, EmergencyKind]
    cues: list[EmergencyCue] = []
    follow_up_intro: str
    officer_offer: str
    officer_answer: str
    still_safe_line: str
    hotline_intro: str

    @model_validator(mode="after")
    def _default_kind_and_1300_everywhere(self) -> EmergencyGuide:
        if "unknown" not in self.kinds:
            raise ValueError("emergency guide needs an 'unknown' kind")
        for name, kind in self.kinds.items():
            if "1300" not in kind.numbers:
                raise ValueError(f"emergency kind {name!r} must keep 1300")
        return self


class Replies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    privacy_notice_version: str
    welcome: str
    privacy_notice: str
    consent_given: str
    consent_declined: str
    consent_withdrawn: str
    my_data: str
    erase_question: str
    erase_done: str
    erase_cancelled: str
    attachment_not_kept: str
    menu_prompt: str
    greeting: str
    fallback: str
    did_you_mean: str
    cancelled: str
    sticker: str
    image_saved: str
    file_saved: str
    attachment_too_large: str
    attachment_unavailable: str
    audio: str
    video: str
    location: str
    unsupported: str
    group_not_supported: str
    sorry_error: str
    sensitive_consent_question: str
    sensitive_consent_given: str
    sensitive_consent_declined: str
    form_not_understood: str
    form_confirm_hint: str
    form_edit_hint: str
    form_back_to_question: str
    form_back_to_confirm: str
    form_expired: str
    bare_age_question: str
    acknowledged: str
    main_menu: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)
    consent_buttons: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)
    sensitive_consent_buttons: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)
    my_data_buttons: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)
    erase_buttons: list[Button] = Field(max_length=LINE_QUICK_REPLY_LIMIT)

    @model_validator(mode="after")
    def _texts_fit_line_and_placeholders_known(self) -> Replies:
        for name, value in self.__dict__.items():
            if not isinstance(value, str) or name == "privacy_notice_version":
                continue
            if len(value) > LINE_TEXT_LIMIT:
                raise ValueError(f"reply {name!r} is longer than LINE's {LINE_TEXT_LIMIT} characters")
            used = {field for _, field, _, _ in string.Formatter().parse(value) if field}
            unknown = used - ALLOWED_PLACEHOLDERS.get(name, set())
            if unknown:
                raise ValueError(f"reply {name!r} uses unknown placeholders {sorted(unknown)}")
        return self


class IntentReply(BaseModel):
    """The short answer for one intent, and the quick-reply button that leads to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, max_length=LINE_LABEL_LIMIT)
    text: str = Field(min_length=1, max_length=60)
    also: list[str] = []  # more exact commands that mean this intent ("เมนู" → greeting)
    answer: str = Field(min_length=1, max_length=LINE_TEXT_LIMIT)
    source: str

    @property
    def button(self) -> Button:
        return Button(label=self.label, text=self.text)


class IntentReplies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    intents: dict[str, IntentReply]

    @model_validator(mode="after")
    def _every_intent_and_safe_emergency(self) -> IntentReplies:
        missing = set(INTENTS) - set(self.intents)
        unknown = set(self.intents) - set(INTENTS)
        if missing or unknown:
            raise ValueError(f"intent replies: missing {sorted(missing)}, unknown {sorted(unknown)}")
        first_lines = "\n".join(self.intents["emergency"].answer.splitlines()[:4])
        for number in ("1300", "191", "1669", "1323"):
            if not re.search(rf"(?<!\d){number}(?!\d)", first_lines):
                raise ValueError(f"the emergency answer must give {number} in its first lines")
        commands = [c for reply in self.intents.values() for c in (reply.text, *reply.also)]
        if len({c.lower() for c in commands}) != len(commands):
            raise ValueError("two intents share a command text")
        return self

    def commands(self) -> dict[str, str]:
        """Exact texts (button texts and aliases, lower case) → intent."""
        return {c.lower(): intent for intent, reply in self.intents.items() for c in (reply.text, *reply.also)}


MIN_EXAMPLES = 40
MIN_EXAMPLES_WIDE = 60  # the intents whose phrasing varies most
WIDE_INTENTS = ("emergency", "request_help", "complaint", "out_of_scope")


class IntentExamples(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    intent: str
    description: str
    examples: list[str]

    @model_validator(mode="after")
    def _enough_distinct_examples(self) -> IntentExamples:
        if self.intent not in INTENTS:
            raise ValueError(f"unknown intent {self.intent!r}: the names are fixed in DESIGN.md")
        floor = MIN_EXAMPLES_WIDE if self.intent in WIDE_INTENTS else MIN_EXAMPLES
        distinct = {e.strip() for e in self.examples if e.strip()}
        if len(distinct) < floor:
            raise ValueError(f"intent {self.intent!r} has {len(distinct)} distinct examples; at least {floor} needed")
        return self


class DangerLexicon(BaseModel):
    """Phrases meaning danger now, by kind; `not_danger` phrases are removed before matching."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    not_danger: list[str] = []
    categories: dict[str, list[str]]

    @model_validator(mode="after")
    def _no_empty_phrases(self) -> DangerLexicon:
        for category, phrases in self.categories.items():
            if not phrases or any(len(p.replace("…", "").strip()) < 3 for p in phrases):
                raise ValueError(f"danger category {category!r} is empty or has a phrase under 3 characters")
        return self


class ProvincialOffice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"\{province\}")
    short: str = Field(pattern=r"\{province\}")
    handles: str
    source: str


class BangkokRoute(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    where: str


class BangkokRouting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str
    routes: list[BangkokRoute] = Field(min_length=1)
    source: str


class Offices(BaseModel):
    """The 76 provincial offices (one per province of geothai's list except Bangkok) and Bangkok's routing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provincial_office: ProvincialOffice
    bangkok: BangkokRouting
    provinces: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _seventy_six_offices(self) -> Offices:
        if len(self.provinces) != 77 or "กรุงเทพมหานคร" not in self.provinces:
            raise ValueError(f"expected the 77 provinces with Bangkok, got {len(self.provinces)}")
        return self

    def office_name(self, province: str) -> str | None:
        """The provincial office's full name, or None for Bangkok (no พมจ.) and unknown names."""
        if province == "กรุงเทพมหานคร" or province not in self.provinces:
            return None
        return self.provincial_office.name.format(province=province)


def load_offices(path: Path) -> Offices:
    import geothai

    provinces = tuple(p.name_th for p in geothai.provinces())
    return Offices.model_validate({**_read_yaml(path), "provinces": provinces})


class AspectWords(BaseModel):
    """One thing a follow-up can ask about a programme: its button, its heading and the words that mark it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, max_length=LINE_LABEL_LIMIT)
    heading: str = Field(min_length=1, max_length=60)
    words: list[str] = Field(min_length=1)


FOLLOW_UP_PLACEHOLDERS: dict[str, set[str]] = {
    "unknown": {"aspect", "programme", "ask_at"},
    "clarify": {"programme"},
    "clarify_programme": {"programme", "other"},
    "ask_age": {"person", "programme"},
    "not_eligible": {"programme"},
    "still_eligible": {"programme"},
    "funeral_unsure": {"programme", "age_part"},
}
FOLLOW_UP_TEXTS = (
    *FOLLOW_UP_PLACEHOLDERS,
    "other_topic_label",
    "other_topic_text",
    "full_check_label",
    "full_check_text",
    "eligibility_intro",
)


class FollowUps(BaseModel):
    """knowledge/replies/follow_ups.yaml: how a short message continues the programme just discussed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aspects: dict[Aspect, AspectWords]
    order: list[Aspect]
    card_buttons: list[Aspect] = Field(min_length=1, max_length=4)
    detail_buttons: list[Aspect] = Field(min_length=1, max_length=LINE_QUICK_REPLY_LIMIT - 1)
    relatives: list[str] = Field(min_length=1)
    fillers: list[str]
    continuations: list[str] = Field(min_length=1)
    switch_words: dict[str, list[str]]
    not_follow_up: list[str] = Field(min_length=1)
    texts: dict[str, str]

    @model_validator(mode="after")
    def _complete(self) -> FollowUps:
        if set(self.aspects) != set(Aspect) or sorted(self.order) != sorted(Aspect):
            raise ValueError(f"follow-ups: every aspect needs words and a place in `order`: {sorted(Aspect)}")
        unknown_intents = set(self.switch_words) - set(INTENTS)
        if unknown_intents:
            raise ValueError(f"follow-ups: switch words for unknown intents {sorted(unknown_intents)}")
        missing, extra = set(FOLLOW_UP_TEXTS) - set(self.texts), set(self.texts) - set(FOLLOW_UP_TEXTS)
        if missing or extra:
            raise ValueError(f"follow-ups: texts missing {sorted(missing)} or unknown {sorted(extra)}")
        for name, value in self.texts.items():
            if not value.strip():
                raise ValueError(f"follow-ups: text {name!r} is empty")
            used = {field for _, field, _, _ in string.Formatter().parse(value) if field}
            if used - FOLLOW_UP_PLACEHOLDERS.get(name, set()):
                raise ValueError(f"follow-ups: text {name!r} uses unknown placeholders {sorted(used)}")
        for words in (*(a.words for a in self.aspects.values()), self.relatives, *self.switch_words.values()):
            if any(not w.strip() or w != w.lower() for w in words):
                raise ValueError("follow-ups: words must be non-empty and lower case")
        for label in ("other_topic_label", "full_check_label"):
            if len(self.texts[label]) > LINE_LABEL_LIMIT:
                raise ValueError(f"follow-ups: {label} is longer than LINE's {LINE_LABEL_LIMIT} characters")
        return self

    def text(self, name: str, **values: str) -> str:
        return self.texts[name].format(**values)



TICKET_STATUSES = ("new", "acknowledged", "in_progress", "waiting_citizen", "resolved", "closed")
# Every text of knowledge/replies/tickets.yaml, with the placeholders it may use.
TICKET_TEXTS: dict[str, set[str]] = {
    "unavailable": set(),
    "province_question": set(),
    "contact_question": set(),
    "phone_question": set(),
    "phone_invalid": set(),
    "photo_question": set(),
    "photo_received": set(),
    "unknown_value": set(),
    "location_value": set(),
    "province_unsure_value": {"province"},
    "no_call_value": set(),
    "no_photo_value": set(),
    "photo_value": set(),
    "central_queue": set(),
    "complaint_intro": set(),
    "complaint_what": set(),
    "complaint_about": set(),
    "complaint_summary": {"what", "about", "province", "contact", "photo"},
    "complaint_done": {"ticket_id", "office"},
    "help_intro": set(),
    "help_for_whom": set(),
    "help_who": set(),
    "help_need": set(),
    "help_urgent_question": set(),
    "help_summary": {"who", "need", "province", "urgency", "contact"},
    "help_done": {"ticket_id", "office"},
    "help_done_urgent": set(),
    "self_value": set(),
    "urgent_value": {"signs"},
    "normal_value": set(),
    "emergency_province": set(),
    "emergency_opened": {"ticket_id"},
    "emergency_child_opened": {"ticket_id"},
    "emergency_already": {"ticket_id"},
    "status_none": set(),
    "status_not_found": {"ticket_id"},
    "status_list_intro": set(),
    "status_line": {"ticket_id", "kind", "date", "status", "update_part"},
    "status_update_part": {"date", "update"},
    "status_more": set(),
    "status_one": {"ticket_id", "kind", "date", "status", "update_part"},
    "status_reopen_hint": {"days"},
    "add_question": {"ticket_id"},
    "add_question_again": set(),
    "add_done": {"ticket_id"},
    "add_closed": {"ticket_id"},
    "withdraw_question": {"ticket_id"},
    "withdraw_done": {"ticket_id"},
    "withdraw_failed": {"ticket_id"},
    "reopen_done": {"ticket_id"},
    "reopen_too_late": {"ticket_id", "days"},
    "reopen_none": {"days"},
    "rate_question": {"ticket_id", "days"},
    "rate_thanks": set(),
    "rate_failed": {"ticket_id"},
    "comment_question": set(),
    "comment_thanks": set(),
    "comment_skipped": set(),
    "handoff_intro": set(),
    "handoff_topic": set(),
    "handoff_summary": {"topic", "province"},
    "handoff_opened": {"ticket_id"},
    "handoff_already": {"ticket_id"},
    "handoff_forwarded": set(),
    "handoff_not_forwarded": set(),
}


class TicketReplies(BaseModel):
    """knowledge/replies/tickets.yaml: what the ticket flows say, status and kind names in Thai."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statuses: dict[str, str]
    kinds: dict[str, str]
    texts: dict[str, str]

    @model_validator(mode="after")
    def _complete_and_placeholders_known(self) -> TicketReplies:
        for name, given, expected in (
            ("statuses", self.statuses, TICKET_STATUSES),
            ("kinds", self.kinds, TICKET_KINDS),
            ("texts", self.texts, tuple(TICKET_TEXTS)),
        ):
            missing, unknown = set(expected) - set(given), set(given) - set(expected)
            if missing or unknown:
                raise ValueError(f"tickets.yaml {name}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for name, value in self.texts.items():
            if len(value) > LINE_TEXT_LIMIT:
                raise ValueError(f"tickets.yaml {name!r} is longer than LINE's {LINE_TEXT_LIMIT} characters")
            used = {field for _, field, _, _ in string.Formatter().parse(value) if field}
            if unknown := used - TICKET_TEXTS[name]:
                raise ValueError(f"tickets.yaml {name!r} uses unknown placeholders {sorted(unknown)}")
        return self

    def text(self, name: str, **values: object) -> str:
        return self.texts[name].format(**values)
TICKET_KINDS = ("complaint", "help_request", "case_report", "emergency", "handoff")  # DESIGN.md "Tickets"
URGENCIES = ("normal", "urgent")
SLA_CLOCKS = ("working", "around_the_clock")
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_DURATION_FIELDS = ("first_response", "resolution", "transfer_acceptance", "remind_before")


class SlaRule(BaseModel):
    """One kind and urgency's targets, in minutes of its clock (storage/sla.py's `TargetData`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock: Literal["working", "around_the_clock"]
    first_response_minutes: int = Field(gt=0)
    resolution_minutes: int = Field(gt=0)
    transfer_acceptance_minutes: int = Field(gt=0)
    remind_before_minutes: int = Field(gt=0)

    @model_validator(mode="after")
    def _reminder_before_the_first_due(self) -> SlaRule:
        if self.remind_before_minutes >= self.first_response_minutes:
            raise ValueError("remind_before must be shorter than first_response")
        if self.first_response_minutes > self.resolution_minutes:
            raise ValueError("first_response must not be longer than resolution")
        return self


class SlaRules(BaseModel):
    """knowledge/sla.yaml: working hours, auto-close window and a rule for every ticket kind and urgency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=10)
    day_start: time
    day_end: time
    auto_close_after_days: int = Field(ge=1, le=60)
    rules: dict[str, dict[str, SlaRule]]

    @model_validator(mode="before")
    @classmethod
    def _durations_to_minutes(cls, data: Any) -> Any:
        """"30m", "2h", "3d" → minutes; a "d" is one working day on the working clock, 24 hours otherwise."""
        if not isinstance(data, dict) or "working_hours" not in data:
            return data
        data = dict(data)
        hours = data.pop("working_hours")
        start, end = (time.fromisoformat(str(hours[k])) for k in ("start", "end"))
        working_day = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if working_day <= 0:
            raise ValueError(f"working hours end ({end}) before they start ({start})")
        data["day_start"], data["day_end"] = start, end
        rules: dict[str, dict[str, Any]] = {}
        for kind, by_urgency in (data.get("rules") or {}).items():
            rules[kind] = {}
            for urgency, raw in (by_urgency or {}).items():
                rule = dict(raw)
                for name in _DURATION_FIELDS:
                    if name not in rule:
                        continue
                    match = _DURATION.match(str(rule.pop(name)).strip())
                    if match is None:
                        raise ValueError(f"sla {kind}/{urgency}: {name} is not like 30m, 2h or 3d")
                    number, unit = int(match[1]), match[2]
                    day = working_day if rule.get("clock") == "working" else 24 * 60
                    rule[f"{name}_minutes"] = number * {"m": 1, "h": 60, "d": day}[unit]
                rules[kind][urgency] = rule
        data["rules"] = rules
        return data

    @model_validator(mode="after")
    def _every_kind_and_urgency(self) -> SlaRules:
        if set(self.rules) != set(TICKET_KINDS):
            raise ValueError(f"sla rules: need exactly the kinds {sorted(TICKET_KINDS)}, got {sorted(self.rules)}")
        for kind, by_urgency in self.rules.items():
            if set(by_urgency) != set(URGENCIES):
                raise ValueError(f"sla rules for {kind!r}: need exactly the urgencies {list(URGENCIES)}")
            urgent, normal = by_urgency["urgent"], by_urgency["normal"]
            if urgent.clock != normal.clock:
                raise ValueError(f"sla rules for {kind!r}: urgent and normal run on the same clock")
            for name in _DURATION_FIELDS:
                if getattr(urgent, f"{name}_minutes") > getattr(normal, f"{name}_minutes"):
                    raise ValueError(f"sla rules for {kind!r}: urgent {name} is longer than normal")
        for urgency, rule in self.rules["emergency"].items():
            if rule.clock != "around_the_clock" or rule.first_response_minutes > 60:
                raise ValueError(f"emergency/{urgency}: acknowledged within 1 hour, around the clock")
        return self

    def target(self, kind: str, urgency: str) -> SlaRule:
        return self.rules[kind][urgency]


class HolidayEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    name: str = Field(min_length=2)
    source: str = Field(min_length=10)


class ProvincialHoliday(HolidayEntry):
    provinces: list[str] = Field(min_length=1)


class HolidayOverrides(BaseModel):
    """knowledge/holidays.yaml: days closed nationally or in some provinces beyond the `holidays` package, and
    days open despite it. Province names are checked against geothai and exposed by province code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    closed: list[HolidayEntry] = []
    provincial: list[ProvincialHoliday] = []
    open: list[HolidayEntry] = []
    province_codes: dict[str, str] = {}  # official Thai name → geothai code, filled by the loader

    @model_validator(mode="after")
    def _known_provinces_and_no_contradiction(self) -> HolidayOverrides:
        for entry in self.provincial:
            unknown = [p for p in entry.provinces if p not in self.province_codes]
            if unknown:
                raise ValueError(f"holiday {entry.date} ({entry.name}): unknown provinces {unknown}")
        for day in (*self.closed, *self.open):
            if day.date.weekday() >= 5:
                raise ValueError(f"holiday override {day.date} ({day.name}) is a weekend: never a working day")
        both = {e.date for e in self.open} & {e.date for e in (*self.closed, *self.provincial)}
        if both:
            raise ValueError(f"holiday overrides: {sorted(both)} both closed and open")
        return self

    def closed_days(self) -> dict[date, str]:
        return {e.date: e.name for e in self.closed}

    def provincial_days(self) -> dict[str, dict[date, str]]:
        """Province code → its own closed days."""
        days: dict[str, dict[date, str]] = {}
        for entry in self.provincial:
            for province in entry.provinces:
                days.setdefault(self.province_codes[province], {})[entry.date] = entry.name
        return days

    def open_days(self) -> dict[date, str]:
        return {e.date: e.name for e in self.open}


def load_holiday_overrides(path: Path) -> HolidayOverrides:
    import geothai

    codes = {p.name_th: p.code for p in geothai.provinces()}
    return HolidayOverrides.model_validate({**(_read_yaml(path) or {}), "province_codes": codes})


class Knowledge(BaseModel):
    model_config = ConfigDict(frozen=True)

    replies: Replies
    hotlines: Hotlines
    intent_replies: IntentReplies
    intents: dict[str, IntentExamples]
    danger: DangerLexicon
    programmes: dict[str, Programme]
    offices: Offices
    emergency: EmergencyGuide
    follow_ups: FollowUps
    tickets: TicketReplies
    sla: SlaRules
    holidays: HolidayOverrides

    def programme_intents(self) -> frozenset[str]:
        """The intents whose questions the programme catalogue answers."""
        return frozenset(p.intent for p in self.programmes.values() if p.answers_intent)

    @model_validator(mode="after")
    def _every_intent_has_examples(self) -> Knowledge:
        missing = set(INTENTS) - set(self.intents)
        if missing:
            raise ValueError(f"no example phrases for intents {sorted(missing)}")
        for programme in self.programmes.values():
            if programme.intent not in INTENTS:
                raise ValueError(f"programme {programme.id!r} names unknown intent {programme.intent!r}")
        numbers = {h.number for h in self.hotlines.hotlines}
        for kind, guide in self.emergency.kinds.items():
            if unknown := set(guide.numbers) - numbers:
                raise ValueError(f"emergency kind {kind!r} names numbers not in hotlines.yaml: {sorted(unknown)}")
        unknown_kinds = set(self.emergency.kinds) - set(self.danger.categories) - {"unknown"}
        if unknown_kinds:
            raise ValueError(f"emergency kinds that are no danger category: {sorted(unknown_kinds)}")
        commands = self.intent_replies.commands()
        for name in ("other_topic_text", "full_check_text"):
            if self.follow_ups.texts[name].lower() not in commands:
                raise ValueError(f"follow-ups: {name} must be an intent's command, not {self.follow_ups.texts[name]!r}")
        consent = {b.text.lower() for b in self.replies.consent_buttons}
        for button in self.replies.main_menu:
            if button.text.lower() not in commands and button.text.lower() not in consent:
                raise ValueError(f"main menu button {button.label!r} sends {button.text!r}: no intent's command")
        return self


def load_intents(directory: Path) -> dict[str, IntentExamples]:
    intents: dict[str, IntentExamples] = {}
    for path in sorted((directory / "intents").glob("*.yaml")):
        examples = IntentExamples.model_validate(_read_yaml(path))
        if examples.intent != path.stem:
            raise ValueError(f"{path.name} holds intent {examples.intent!r}: the file name must match")
        intents[examples.intent] = examples
    return intents


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    """Read and validate every knowledge file; raises pydantic.ValidationError naming what is wrong."""
    return Knowledge(
        replies=Replies.model_validate(_read_yaml(directory / "replies" / "core.yaml")),
        hotlines=Hotlines.model_validate(_read_yaml(directory / "hotlines.yaml")),
        intent_replies=IntentReplies.model_validate(_read_yaml(directory / "replies" / "intents.yaml")),
        intents=load_intents(directory),
        danger=DangerLexicon.model_validate(_read_yaml(directory / "nlu" / "danger.yaml")),
        programmes=load_programmes(directory / "programmes"),
        offices=load_offices(directory / "offices.yaml"),
        emergency=EmergencyGuide.model_validate(_read_yaml(directory / "emergency.yaml")),
        follow_ups=FollowUps.model_validate(_read_yaml(directory / "replies" / "follow_ups.yaml")),
        tickets=TicketReplies.model_validate(_read_yaml(directory / "replies" / "tickets.yaml")),
        sla=SlaRules.model_validate(_read_yaml(directory / "sla.yaml")),
        holidays=load_holiday_overrides(directory / "holidays.yaml"),
    )


@lru_cache
def get_knowledge() -> Knowledge:
    return load_knowledge()
