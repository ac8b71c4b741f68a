"""The one text normaliser: every part of understanding (intents, commands, the danger lexicon, entities,
province names) cleans Thai text here, in one of three forms.

* `aligned(text)`: Thai digits as ASCII digits and nothing else, so it has the same length as `text` and a
  span found in it is the same span of `text`. Entities use it for numbers whose place in the message
  matters (phones, national IDs and ticket IDs are found, then blanked or masked in the original).
* `canonical(text)`: `clean` then lower case. The form entities read ages, incomes and provinces in, and
  the form lexicon entries (danger phrases, province names) are compared in.
* `normalise(text, coverage)`: `canonical` plus what only the intent model needs: a message typed with the
  keyboard left in English layout turned back into Thai, laughter ("5555") as one token `555`, runs of one
  repeated letter collapsed ("มากกกก" → "มาก").

`clean` is PyThaiNLP's `normalize` (zero-width characters out, single spaces, no space before a mark, tone
marks and vowels in canonical order: ท่ี → ที่, เเ → แ, ํา → ำ, ๅ → า, repeated vowels and marks once, no
mark dangling at the start of a word) and its `thai_digit_to_arabic_digit`, after our own Unicode clean-up
(NFC, every invisible format character out, control characters as spaces). PyThaiNLP's `normalize` runs
some thirty regular expressions (about 0.1 ms a message); it is skipped when `_NEEDS_PYTHAINLP` (built from
PyThaiNLP's own character classes, one test per rule) finds nothing it could change, which
tests/test_nlu.py checks against `normalize` itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from pythainlp import thai_above_vowels, thai_below_vowels, thai_follow_vowels, thai_lead_vowels, thai_tonemarks
from pythainlp.util import eng_to_thai, normalize, thai_digit_to_arabic_digit

THAI_DIGIT = re.compile("[๐-๙]")
# Format characters (zero-width space and joiners, direction marks, soft hyphen, word joiner, BOM) go;
# control characters become spaces.
FORMAT_CHARS = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
CONTROL_CHARS = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f]")
LAUGHTER = re.compile(r"(?<![0-9])5{3,}(?![0-9])")
# Runs of three or more of one non-digit character ("ยยยย", "!!!"); digits are left alone (0800000000).
REPEATS = re.compile(r"([^\d\s])\1{2,}")
TONE_MARK_RE = re.compile(f"[{thai_tonemarks}\u0e4c]")
LAYOUT_MIN_LENGTH = 4
LAYOUT_MIN_COVERAGE = 0.9

# Where pythainlp.util.normalize could change a single-spaced, stripped text, rule by rule (its
# normalize.py): zero-width characters; a space before a non-base character (remove_spaces_before_marks,
# remove_dangling after a space) or one at the start (remove_dangling); เเ; a tone mark or thanthakhat
# before an above/below vowel; a nikhahit (ํา → ำ); a follow vowel before a tone mark; lakkhangyao; a
# repeated vowel or sign (also across spaces); two tone marks.
_DANGLING = f"{thai_above_vowels}{thai_below_vowels}{thai_tonemarks}\u0e3a\u0e4c\u0e4d\u0e4e"
_NO_REPEAT = f"{thai_follow_vowels}{thai_lead_vowels}{thai_above_vowels}{thai_below_vowels}\u0e3a\u0e4c\u0e4d\u0e4e"
_NEEDS_PYTHAINLP = re.compile(
    "[\u200b\u200c\u0e4d\u0e45]|\u0e40\u0e40"
    f"|(?:^| )[{_DANGLING}]"
    f"|[{thai_tonemarks}\u0e4c][{thai_above_vowels}{thai_below_vowels}]"
    f"|[{thai_follow_vowels}][{thai_tonemarks}]"
    f"|([{_NO_REPEAT}]) *\\1"
    f"|[{thai_tonemarks}]{{2}}"
)


@dataclass(frozen=True)
class Normalised:
    original: str
    text: str
    layout_repaired: bool = False
    laughter: bool = False


def aligned(text: str) -> str:
    """Thai digits as ASCII digits: the same length as `text`, so spans found in it are spans of `text`."""
    return thai_digit_to_arabic_digit(text) if THAI_DIGIT.search(text) else text


def strip_tone_marks(text: str) -> str:
    """Tone marks and the thanthakhat removed: the form people write when they skip them."""
    return TONE_MARK_RE.sub("", text)


def clean(text: str) -> str:
    """Unicode and typing clean-up, single spaces, ASCII digits; case is kept (Shift matters for the
    keyboard-layout check)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if FORMAT_CHARS.search(text):
        text = FORMAT_CHARS.sub("", text)
    if CONTROL_CHARS.search(text):
        text = CONTROL_CHARS.sub(" ", text)
    text = " ".join(aligned(text).split())
    if _NEEDS_PYTHAINLP.search(text):
        text = " ".join(normalize(text).split())  # a dropped dangling mark can leave a space at the end
    return text


def canonical(text: str) -> str:
    """`clean` in lower case: the form entities and lexicon entries are compared in."""
    return clean(text).lower()


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
    if laughter:
        cleaned = LAUGHTER.sub(" 555 ", cleaned)
    if REPEATS.search(cleaned):
        cleaned = " ".join(REPEATS.sub(r"\1", cleaned).split())
    elif laughter:
        cleaned = " ".join(cleaned.split())
    return Normalised(original=text, text=cleaned, layout_repaired=repaired is not None, laughter=laughter)
