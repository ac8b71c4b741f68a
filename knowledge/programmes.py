"""The welfare programme catalogue (knowledge/programmes/*.yaml): typed, validated at start-up.

Every figure carries its source; a figure we could not confirm (knowledge/SOURCES.md) is never told as fact, so the
schema has no place for one: such facts go to `warnings` as "ask the office" text, or are left out.
"""

from __future__ import annotations

import enum
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator


class Confidence(enum.StrEnum):
    verified = "verified"  # ✅ in knowledge/SOURCES.md
    single_source = "single_source"  # ⚠️ in knowledge/SOURCES.md: tell it, and say it may change / ask the office


class Unit(enum.StrEnum):
    baht_per_month = "baht_per_month"
    baht_per_time = "baht_per_time"
    baht_once = "baht_once"
    baht_loan_max = "baht_loan_max"
    baht_per_house = "baht_per_house"
    service = "service"  # a card, a place, a visit: no money amount


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    url: HttpUrl | None = None
    date: date  # when the source said it (its as-of date)
    confidence: Confidence
    sources_section: str = Field(pattern=r"^§\d+[a-z]?$")  # where knowledge/SOURCES.md lists it: "§1", "§5b"


class Tier(BaseModel):
    """One benefit amount and who gets it (an age band, or a condition in words)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int | None = Field(default=None, ge=0)
    unit: Unit
    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    condition: str | None = None  # Thai, e.g. "ถือบัตรสวัสดิการแห่งรัฐด้วย"
    label: str  # Thai, shown to the citizen: "อายุ 70–79 ปี"
    source: int = 0  # index into the programme's sources

    def fits_age(self, age: int) -> bool:
        return (self.age_min is None or age >= self.age_min) and (self.age_max is None or age <= self.age_max)


class Eligibility(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    thai_nationality: bool | None = None  # None: not a condition, or sources conflict (say so in warnings)
    needs_disability_card: bool = False
    needs_welfare_card: bool = False
    income_max_baht_per_year: int | None = Field(default=None, ge=0)  # per person (household average when said)
    other: list[str] = []  # Thai, conditions a person must judge themselves


class HowToApply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    where: list[str] = Field(min_length=1)  # Thai
    bangkok: str | None = None  # Thai: where in Bangkok, when different
    documents: list[str] = []  # Thai
    online: str | None = None  # Thai with the service's name/address, e.g. "แอป 'เงินเด็ก'"
    when: str | None = None  # Thai: registration period or deadline


class Aspect(enum.StrEnum):
    """What a follow-up asks about the programme just discussed (knowledge/replies/follow_ups.yaml words)."""

    pay_day = "pay_day"
    where = "where"
    documents = "documents"
    proxy = "proxy"  # applying on someone's behalf
    late_payment = "late_payment"
    income = "income"  # the income limit
    deadline = "deadline"  # registration period or deadline
    eligibility = "eligibility"  # who can get it ("เช็คสิทธิ์")


class Exclusion(BaseModel):
    """Something the asker may mention that changes the answer (a pension, a person still alive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    words: list[str] = Field(min_length=1)  # Thai, any of them marks it (lower case, as typed)
    eligible: bool  # whether the person can still get the programme
    answer: str = Field(min_length=1, max_length=400)  # Thai, what to tell them
    source: int | None = None  # index into the programme's sources; None: a ⚠️ point cited in a YAML comment


class Programme(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]+$")
    intent: str  # the NLU intent that asks about it
    # False when the intent is mostly about something else (a carer's grant under request_help): the
    # programme then appears in the screener and in answers, but does not take the intent's questions.
    answers_intent: bool = True
    name: str  # official Thai name
    name_en: str
    aliases: list[str] = Field(min_length=1)  # what people call it
    owner: str  # the agency responsible (Thai)
    ministry: str  # e.g. "กระทรวงการพัฒนาสังคมและความมั่นคงของมนุษย์", "กระทรวงการคลัง"
    paid_or_run_by: str | None = None  # who pays or runs it when not the owner (Thai)
    summary: str = Field(max_length=300)  # one or two Thai sentences
    eligibility: Eligibility
    tiers: list[Tier] = []
    frequency: str | None = None  # Thai: "ทุกเดือน", "ครั้งละ … ปีละไม่เกิน 3 ครั้ง"
    pay_day: str | None = None  # Thai
    apply: HowToApply
    warnings: list[str] = []  # Thai: unconfirmed points, rumours, conflicts → "ask the office"
    ask_at: str = Field(min_length=1, max_length=120)  # Thai: where to ask what the catalogue cannot answer
    # Follow-up answers the fields above do not hold (who may apply for someone, a late payment), SOURCES.md only;
    # an aspect with neither a field nor a detail is answered honestly with `ask_at`.
    details: dict[Aspect, str] = {}
    exclusions: list[Exclusion] = []
    # Words without which a message is not taken to be about this programme (the funeral grant needs a death):
    # a message that only the intent ties to it gets a clarifying question instead.
    needs_words: list[str] = []
    sources: list[Source] = Field(min_length=1)
    as_of: date  # the newest source date behind the figures

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        for tier in self.tiers:
            if tier.source >= len(self.sources):
                raise ValueError(f"{self.id}: tier {tier.label!r} cites source #{tier.source}, which does not exist")
            if (tier.amount is None) != (tier.unit is Unit.service):
                raise ValueError(f"{self.id}: tier {tier.label!r} needs an amount unless its unit is 'service'")
        if self.as_of < max(s.date for s in self.sources):
            raise ValueError(f"{self.id}: as_of is older than its newest source")
        for exclusion in self.exclusions:
            if exclusion.source is not None and exclusion.source >= len(self.sources):
                raise ValueError(f"{self.id}: exclusion {exclusion.words[0]!r} cites a source that does not exist")
        for text in (self.summary, *self.warnings, *self.details.values(), *(e.answer for e in self.exclusions)):
            if "❓" in text:
                raise ValueError(f"{self.id}: an unverified (❓) fact cannot be told to citizens")
        return self

    def aged_tiers(self) -> list[Tier]:
        """The tiers an age band decides (not those with a condition in words)."""
        return [
            t
            for t in self.tiers
            if t.condition is None and t.amount is not None and (t.age_min, t.age_max) != (None, None)
        ]

    @property
    def amount_depends_on_age(self) -> bool:
        return len({t.amount for t in self.aged_tiers()}) > 1

    def tier_for_age(self, age: int) -> Tier | None:
        """The one tier whose age band holds `age` (tiers with a condition in words are not chosen here)."""
        fitting = [t for t in self.tiers if t.condition is None and t.fits_age(age) and t.amount is not None]
        return fitting[0] if len(fitting) == 1 else None


PROGRAMMES_DIR = Path(__file__).parent / "programmes"
PROGRAMME_IDS = (
    "elderly_allowance",
    "disability_allowance",
    "disability_card",
    "child_support_grant",
    "welfare_card",
    "low_income_family_grant",
    "elderly_hardship_grant",
    "elderly_funeral_grant",
    "elderly_fund_loan",
    "disability_fund_loan",
    "elderly_home_adaptation",
    "disability_home_adaptation",
    "community_housing",
    "destitute_shelter",
    "elderly_foster_family",
)


def load_programmes(directory: Path = PROGRAMMES_DIR) -> dict[str, Programme]:
    """Every programme file, validated; the file name is the programme's id."""
    programmes: dict[str, Programme] = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            data: Any = yaml.safe_load(handle)
        programme = Programme.model_validate(data)
        if programme.id != path.stem:
            raise ValueError(f"{path.name} holds programme {programme.id!r}: the file name must match")
        programmes[programme.id] = programme
    missing = set(PROGRAMME_IDS) - set(programmes)
    if missing:
        raise ValueError(f"programmes missing from the catalogue: {sorted(missing)}")
    return programmes
