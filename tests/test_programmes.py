"""The programme catalogue against ../shared/FACTS.md: every figure a citizen is told, and nothing unverified."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.loader import INTENTS, LINE_TEXT_LIMIT
from knowledge.programmes import PROGRAMME_IDS, Confidence, Programme, Unit, load_programmes

FACTS = Path(__file__).resolve().parents[2] / "shared" / "FACTS.md"


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Programme]:
    return load_programmes()


def amounts(programme: Programme) -> set[int]:
    return {t.amount for t in programme.tiers if t.amount is not None}


def test_every_programme_is_in_the_catalogue(catalogue: dict[str, Programme]) -> None:
    assert set(catalogue) == set(PROGRAMME_IDS)
    for programme in catalogue.values():
        assert programme.intent in INTENTS, programme.id


@pytest.mark.parametrize(
    ("age", "monthly"),
    [(60, 600), (69, 600), (70, 700), (72, 700), (79, 700), (80, 800), (89, 800), (90, 1000), (101, 1000)],
)
def test_elderly_allowance_tiers_follow_facts(catalogue: dict[str, Programme], age: int, monthly: int) -> None:
    tier = catalogue["elderly_allowance"].tier_for_age(age)
    assert tier is not None and tier.amount == monthly and tier.unit is Unit.baht_per_month


def test_elderly_allowance_starts_at_sixty(catalogue: dict[str, Programme]) -> None:
    programme = catalogue["elderly_allowance"]
    assert programme.eligibility.age_min == 60
    assert programme.tier_for_age(55) is None
    assert not amounts(programme) & {1250, 3000}, "rumoured rates are not official"


@pytest.mark.parametrize(("age", "monthly"), [(10, 1000), (17, 1000), (18, 800), (45, 800)])
def test_disability_allowance_by_age(catalogue: dict[str, Programme], age: int, monthly: int) -> None:
    tier = catalogue["disability_allowance"].tier_for_age(age)
    assert tier is not None and tier.amount == monthly


def test_disability_allowance_card_top_up_is_conditional(catalogue: dict[str, Programme]) -> None:
    top_ups = [t for t in catalogue["disability_allowance"].tiers if t.amount == 200]
    assert top_ups and all(t.condition for t in top_ups)
    assert catalogue["disability_allowance"].eligibility.needs_disability_card


def test_child_support_grant(catalogue: dict[str, Programme]) -> None:
    programme = catalogue["child_support_grant"]
    assert programme.tier_for_age(0) is not None and programme.tier_for_age(0).amount == 600  # type: ignore[union-attr]
    assert programme.tier_for_age(5) is not None
    assert programme.tier_for_age(6) is None, "paid until the child turns six"
    assert programme.eligibility.income_max_baht_per_year == 100_000


def test_welfare_card_belongs_to_the_finance_ministry(catalogue: dict[str, Programme]) -> None:
    programme = catalogue["welfare_card"]
    assert "การคลัง" in programme.ministry
    assert programme.eligibility.age_min == 18
    assert programme.eligibility.income_max_baht_per_year == 100_000


@pytest.mark.parametrize(
    ("programme_id", "figures"),
    [
        ("low_income_family_grant", {3000}),
        ("elderly_hardship_grant", {3000}),
        ("elderly_foster_family", {3000}),
        ("elderly_funeral_grant", {3000}),
        ("elderly_fund_loan", {30_000, 100_000}),
        ("disability_fund_loan", {60_000, 120_000, 1_000_000}),
        ("elderly_home_adaptation", {40_000}),
        ("disability_home_adaptation", {40_000}),
    ],
)
def test_amounts_match_facts(catalogue: dict[str, Programme], programme_id: str, figures: set[int]) -> None:
    assert figures <= amounts(catalogue[programme_id])


def test_single_source_figures_carry_a_warning(catalogue: dict[str, Programme]) -> None:
    for programme in catalogue.values():
        weak = [t for t in programme.tiers if programme.sources[t.source].confidence is Confidence.single_source]
        if weak:
            assert programme.warnings, f"{programme.id} tells a single-source figure without a warning"


def test_sources_point_at_real_facts_sections(catalogue: dict[str, Programme]) -> None:
    text = FACTS.read_text(encoding="utf-8")
    sections = {f"§{m}" for m in re.findall(r"^#{2,3} (\d+[a-z]?)\.", text, flags=re.M)}
    for programme in catalogue.values():
        for source in programme.sources:
            assert source.facts_section in sections, (programme.id, source.facts_section)


def test_texts_fit_line_and_are_thai(catalogue: dict[str, Programme]) -> None:
    thai = re.compile("[\u0e00-\u0e7f]")
    for programme in catalogue.values():
        texts = [programme.summary, *programme.warnings, *programme.apply.where, *programme.apply.documents]
        assert all(len(t) <= LINE_TEXT_LIMIT for t in texts)
        assert thai.search(programme.summary), programme.id
        assert programme.aliases
