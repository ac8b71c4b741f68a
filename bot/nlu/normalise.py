"""Clean up a chat message the way citizens type it, before any matching.

NFC, zero-width and control characters out, Thai digits to Arabic, tone marks and vowels put back in
their canonical order, runs of a repeated letter collapsed ("มากกกก" → "มาก"), laughter ("5555")
kept as one token, and a message typed with the keyboard left in English layout turned back into Thai.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from pythainlp.util import eng_to_thai

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
LAUGHTER = re.compile(r"(?<![0-9])5{3,}(?![0-9])")
# Runs of three or more of one non-digit character ("ยยยย", "!!!"); digits are left alone (0800000000).
REPEATS = re.compile(r"([^\d\s])\1{2,}")
TONE_MARKS = "\u0e48\u0e49\u0e4a\u0e4b"
UPPER_VOWELS = "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e47"
# A tone mark typed before its upper vowel (ท่ี) goes after it (ที่); a doubled mark (ที่่) counts once.
TONE_BEFORE_VOWEL = re.compile(f"([{TONE_MARKS}])([{UPPER_VOWELS}\u0e38\u0e39])")
DOUBLED_MARK = re.compile(f"([{TONE_MARKS}{UPPER_VOWELS}\u0e38\u0e39\u0e4c])\\1+")
TONE_MARK_RE = re.compile(f"[{TONE_MARKS}\u0e4c]")
LAYOUT_MIN_LENGTH = 4
LAYOUT_MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class Normalised:
    original: str
    text: str
    layout_repaired: bool = False
    laughter: bool = False


def strip_tone_marks(text: str) -> str:
    """Tone marks and the thanthakhat removed: the form people write when they skip them."""
    return TONE_MARK_RE.sub("", text)


def clean(text: str) -> str:
    """Unicode and typing clean-up; case is kept (Shift matters for the keyboard-layout check)."""
    text = unicodedata.normalize("NFC", text)
    text = INVISIBLE.sub(" ", text).translate(THAI_DIGITS)
    text = DOUBLED_MARK.sub(r"\1", TONE_BEFORE_VOWEL.sub(r"\2\1", text))
    return " ".join(text.split())


def looks_like_wrong_layout(text: str, coverage: Callable[[str], float]) -> str | None:
    """The Thai meant, when an all-ASCII message reads as Thai typed on the English layout.

    Accepted only when at least 90 % of the converted characters fall in dictionary words: English
    messages measured 0.00–0.62 (THAI-NLP.md), and short words ("ok" → "นา") are never converted.
    """
    compact = text.replace(" ", "")
    if len(compact) < LAYOUT_MIN_LENGTH or not text.isascii() or not any(c.isalpha() for c in text):
        return None
    converted = str(eng_to_thai(text))
    if coverage(converted) >= LAYOUT_MIN_COVERAGE:
        return converted
    return None


def normalise(text: str, coverage: Callable[[str], float]) -> Normalised:
    """The message ready for tokenising and classification; `coverage` scores dictionary coverage."""
    cleaned = clean(text)
    repaired = looks_like_wrong_layout(cleaned, coverage)
    if repaired is not None:
        cleaned = clean(repaired)
    cleaned = cleaned.lower()
    laughter = bool(LAUGHTER.search(cleaned))
    cleaned = LAUGHTER.sub(" 555 ", cleaned)
    cleaned = " ".join(REPEATS.sub(r"\1", cleaned).split())
    return Normalised(original=text, text=cleaned, layout_repaired=repaired is not None, laughter=laughter)
