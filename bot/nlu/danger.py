"""The danger-now lexicon (knowledge/nlu/danger.yaml) as a matcher tolerant of spacing and tone marks."""

from __future__ import annotations

import re

from bot.nlu.normalise import canonical, strip_tone_marks
from knowledge.loader import DangerLexicon

GAP = "…"
LATIN_LETTER = re.compile("[a-z]")


def _compact(text: str) -> str:
    """Thai is compared without spaces or tone marks."""
    return strip_tone_marks(text.lower()).replace(" ", "")


def _latin_pattern(phrase: str) -> re.Pattern[str]:
    parts = [r"\s+".join(re.escape(word) for word in part.split()) for part in phrase.lower().split(GAP)]
    return re.compile(r"\b" + r"\b.{0,30}?\b".join(parts) + r"\b")


def _thai_gap_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(".{0,20}?".join(re.escape(_compact(part)) for part in phrase.split(GAP)))


class DangerMatcher:
    """Plain phrases are substring checks (fast); phrases with a gap or in Latin script are regexes."""

    def __init__(self, lexicon: DangerLexicon) -> None:
        self.plain: list[tuple[str, str]] = []
        self.patterns: list[tuple[re.Pattern[str], str, bool]] = []  # (pattern, category, on compact text)
        for category, entries in lexicon.categories.items():
            for phrase in (canonical(entry) for entry in entries):  # in the form messages are matched in
                if phrase.replace(GAP, "").isascii():
                    self.patterns.append((_latin_pattern(phrase), category, False))
                elif GAP in phrase:
                    self.patterns.append((_thai_gap_pattern(phrase), category, True))
                else:
                    self.plain.append((_compact(phrase), category))
        harmless = sorted((_compact(canonical(p)) for p in lexicon.not_danger), key=len, reverse=True)
        self.harmless = re.compile("|".join(re.escape(p) for p in harmless)) if harmless else None

    def match(self, text: str) -> str | None:
        """The danger category the text speaks of, or None (`text` normalised: bot/nlu/normalise.py)."""
        compact = _compact(text)
        if self.harmless is not None:
            compact = self.harmless.sub("|", compact)
        for phrase, category in self.plain:
            if phrase in compact:
                return category
        lowered = text.lower()
        has_latin = LATIN_LETTER.search(lowered) is not None
        for pattern, category, on_compact in self.patterns:
            if (on_compact or has_latin) and pattern.search(compact if on_compact else lowered):
                return category
        return None
