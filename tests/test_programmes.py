"""The programme catalogue against knowledge/SOURCES.md: every figure a citizen is told, and nothing unverified."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.loader import INTENTS, LINE_TEXT_LIMIT, load_knowledge
from knowledge.programmes import PROGRAMME_IDS, Confidence, Programme, Unit, load_programmes

SOURCES = Path(__file__).resolve().parents[1] / "knowledge" / "SOURCES.md"


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


def sections_of(text: str) -> dict[str, str]:
    """knowledge/SOURCES.md cut at its numbered headings: "§5b" → the text under "### 5b. ..." up to the next."""
    parts = re.split(r"^#{2,3} (\d+[a-z]?)\. .*$", text, flags=re.M)
    return {f"§{number}": body for number, body in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.fixture(scope="module")
def sources_file() -> dict[str, str]:
    return sections_of(SOURCES.read_text(encoding="utf-8"))


def test_every_source_is_recorded_under_its_section(
    catalogue: dict[str, Programme], sources_file: dict[str, str]
) -> None:
    for programme in catalogue.values():
        for source in programme.sources:
            section = sources_file.get(source.sources_section)
            assert section is not None, (programme.id, source.sources_section, "no such section")
            wanted = [source.title, str(source.url).rstrip("/")] if source.url else [source.title]
            line = next((row for row in section.splitlines() if all(w in row for w in wanted)), None)
            assert line is not None, (programme.id, source.title, f"not listed under {source.sources_section}")
            assert source.date.isoformat() in line, (programme.id, source.title, "date differs")
            mark = "✅" if source.confidence is Confidence.verified else "⚠️"
            assert mark in line, (programme.id, source.title, "confidence differs")


def test_every_figure_told_is_written_in_sources(catalogue: dict[str, Programme], sources_file: dict[str, str]) -> None:
    for programme in catalogue.values():
        section = sources_file[programme.sources[0].sources_section]
        assert f"knowledge/programmes/{programme.id}.yaml" in section, programme.id
        told = {t.amount for t in programme.tiers if t.amount is not None}
        if programme.eligibility.income_max_baht_per_year:
            told.add(programme.eligibility.income_max_baht_per_year)
        for amount in told:
            assert f"**{amount:,} " in section, (programme.id, amount, "figure not in knowledge/SOURCES.md")


def test_every_hotline_given_is_in_sources(sources_file: dict[str, str]) -> None:
    hotlines = load_knowledge().hotlines.hotlines
    assert hotlines
    for hotline in hotlines:
        assert f"| **{hotline.number}** |" in sources_file["§10"], hotline.number
        assert "SOURCES.md §10" in hotline.source


def test_a_changed_figure_no_longer_matches(catalogue: dict[str, Programme], sources_file: dict[str, str]) -> None:
    """The check above can fail: the old-age allowance at 1,250 ฿ (the rumoured rate) is not in the file."""
    assert "**1,250 " not in sources_file["§1"]
    assert "**1,000 ฿/month**" in sources_file["§1"]


def test_texts_fit_line_and_are_thai(catalogue: dict[str, Programme]) -> None:
    thai = re.compile("[\u0e00-\u0e7f]")
    for programme in catalogue.values():
        texts = [programme.summary, *programme.warnings, *programme.apply.where, *programme.apply.documents]
        assert all(len(t) <= LINE_TEXT_LIMIT for t in texts)
        assert thai.search(programme.summary), programme.id
        assert programme.aliases
