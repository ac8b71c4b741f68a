"""Which of the 77 provinces a Thai chat message names.

Official province and district names come from the `geothai` package (77 provinces, 928 districts; code MIT,
data CC BY 4.0 from GeoThai/data and DOPA). `knowledge/geography/province_aliases.yaml` adds the colloquial
names no package carries (โคราช, กทม, อุบล, …) and lists the names that are also everyday words.

How a name is found in text without spaces between words:
- every name is one branch of a trie-shaped regular expression, so the earliest, then longest, name wins
  ("พระนครศรีอยุธยา" beats the Bangkok district "พระนคร", "อุบลรัตน์" (ขอนแก่น) beats "อุบล");
- a match must start and end on a Thai character-cluster edge: no leading vowel just before it, no
  vowel or tone mark just after it ("สามี" does not hold the district "สาม…");
- จ./จังหวัด/จว. before a name makes it a province, อ./อำเภอ a district outside Bangkok, เขต a Bangkok
  district; ต./ตำบล/แขวง (subdistricts), ถ./ถนน/ซ./ซอย (roads named after provinces) and ธนาคาร/แบงก์
  (ธนาคารกรุงเทพ) stop a name from counting;
- a district name counts without a prefix only when it names one province, has at least 4 characters, does
  not start with บ้าน (village names everywhere: "อพม.บ้านโคก"), does not follow บ้าน, and is not listed under
  `needs_prefix`; "เมือง" alone and names shared by several provinces (เฉลิมพระเกียรติ) never count;
- names listed under `needs_context` (ตาก, แพร่, อุบล, ชล, …) count after a prefix, or after อยู่/ที่/จาก/… when
  the name also ends there; "ร้อยเอ็ด" (also the number 101) does not count next to numbers or units;
- when nothing matches exactly, province names and aliases (and district names of 6 characters or more)
  are compared again without tone marks, ็ and ์ ("เชียงใหม" → เชียงใหม่), unless two places then collide.

When a message names several places, where someone lives wins (after อยู่/บ้าน/อาศัย or จ./อำเภอ), then a
bare name, then a place after เคย/จาก/เมื่อก่อน (where they came from); ties go to the earliest.

The lookup is built on first use (~100 ms: geothai's import, the alias file, the regular expressions); call
`warm_up()` at start-up. English names (geothai's) and Latin aliases are matched as whole words.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from bot.nlu.normalise import canonical


class LazyPattern:
    """A regular expression compiled on first use: the ~50 patterns of this module and entities.py cost ~15 ms
    to compile, which would otherwise be paid by every process that merely imports them."""

    __slots__ = ("_compiled", "_flags", "_pattern")
    _all: ClassVar[list[LazyPattern]] = []

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None
        LazyPattern._all.append(self)

    @classmethod
    def compile_all(cls) -> None:
        for pattern in cls._all:
            _ = pattern.compiled

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string, pos, endpos)

    def sub(self, repl: str, string: str) -> str:
        return self.compiled.sub(repl, string)


BANGKOK: Final = "กรุงเทพมหานคร"
ALIAS_FILE: Final = Path("geography", "province_aliases.yaml")  # inside the knowledge package

Rule = Literal["plain", "context", "prefix"]
Prefix = Literal["province", "amphoe", "khet", "blocked"]

# Tone marks, ็ and ์: dropped for the second, tone-insensitive comparison.
_TONES = LazyPattern("[\u0e47-\u0e4c]")
# A name must not start right after a leading vowel, nor end right before a vowel or a mark above/below.
# ั and ็ always take a final consonant (อัตราดอกเบี้ย holds ตราด); ห leads a low consonant (หมวกเหล็ก holds มวกเหล็ก).
_START_EDGE = "(?<![\u0e40-\u0e44\u0e31\u0e47])(?!(?<=ห)[งญนมยรลว])"
_END_EDGE = "(?![\u0e30-\u0e3a\u0e45\u0e47-\u0e4e])"
_SHORT_DISTRICT = 3  # district names this long or shorter need อ./อำเภอ/เขต
# "บ้าน…" is how villages are named everywhere (อพม.บ้านโคก): district names starting with it need อ./อำเภอ, and a
# district name right after บ้าน is taken for a village.
_VILLAGE_WORD = "บ้าน"
_FUZZY_PROVINCE_MIN = 4  # shortest tone-less province name or alias compared ("น่าน" -> "นาน" is not)
_FUZZY_DISTRICT_MIN = 6  # shortest tone-less district name compared
_MOST_MENTIONS = 32  # bounds the work on a long message

_PREFIX_WORDS: dict[str, Prefix] = {
    "จังหวัด": "province",
    "จ.": "province",
    "จว.": "province",
    "อำเภอ": "amphoe",
    "กิ่งอำเภอ": "amphoe",
    "อ.": "amphoe",
    "เขต": "khet",
    "ตำบล": "blocked",
    "ต.": "blocked",
    "แขวง": "blocked",
    "ถนน": "blocked",
    "ถ.": "blocked",
    "ซอย": "blocked",
    "ซ.": "blocked",
    "ธนาคาร": "blocked",
    "ธ.": "blocked",
    "แบงก์": "blocked",
    "แบงค์": "blocked",
    "หมู่บ้าน": "blocked",
}
# Bangkok Hospital and Bangkok Bank have branches everywhere: "กรุงเทพ" after these does not name Bangkok.
_BANGKOK_BLOCKERS = ("รพ.", "รพ", "โรงพยาบาล", "ประกัน")
_CONTEXT_LEAD = LazyPattern(r"(?:อยู่|ที่|จาก|ชาว|คน|ไป|มา|แถว|ใน|ย้าย|กลับ)\s*$")
_CONTEXT_TAIL = LazyPattern(r"(?:$|[\s.,!?()\"'/:;ฯๆ~\-]|ค่ะ|คะ|ค่า|ครับ|คับ|จ้า|จ้ะ|จ๊ะ|นะ|น้า|เลย|ด้วย|แล้ว|มา|ไป|บ้าง|หรือ|กับ)")
# Thai numerals ("ร้อยเอ็ด" is a province and 101): such a name does not count next to numbers or units.
_NUMERAL = LazyPattern(r"(?:หนึ่ง|เอ็ด|สอง|ยี่|สาม|สี่|ห้า|หก|เจ็ด|แปด|เก้า|สิบ|ร้อย|พัน|หมื่น|แสน|ล้าน)+")
_NUMBER_BEFORE = LazyPattern(r"(?:\d|หนึ่ง|สอง|สาม|สี่|ห้า|หก|เจ็ด|แปด|เก้า|สิบ|พัน|หมื่น|แสน|อายุ|ละ|ได้|จ่าย|ราคา|เลข|เบอร์)\s*$")
_UNIT_AFTER = LazyPattern(r"\s*(?:บาท|ปี|ขวบ|คน|ครั้ง|วัน|เดือน|ชั่วโมง|นาที|ตัว|อัน|ชิ้น|หลัง|กิโล|ลิตร|เมตร|%|เปอร์เซ็นต์)")


_PROVINCE_NAME, _DISTRICT_NAME, _TONELESS_NAME = 0, 1, 2
_PLACE_WORDS = r"(?:\s*(?:ที่|แถว|ใน|ที่บ้าน|บ้าน|จังหวัด|จ\.|อำเภอ|อ\.|เขต))*\s*$"
_HOME_LEAD = LazyPattern(r"(?:อยู่|อาศัย|บ้าน|ภูมิลำเนา|ทะเบียนบ้าน|(?:live[sd]?|living|stay(?:ing)?)\s+in)" + _PLACE_WORDS)
_PAST_LEAD = LazyPattern(
    r"(?:เคย(?:อยู่|ไป|ทำงาน|ทำ)?|เมื่อก่อน(?:อยู่)?|ย้ายจาก|มาจาก|จาก|used\s+to\s+live\s+in)" + _PLACE_WORDS
)


class AliasFileError(ValueError):
    """The alias file names a province or place that geothai does not know."""


@dataclass(frozen=True, slots=True)
class _Place:
    province: str | None  # official province name when the key names a province (official name or alias)
    amphoe: frozenset[str]  # provinces with a district (อำเภอ, outside Bangkok) of this name
    khet: bool  # a Bangkok district (เขต) has this name
    rule: Rule
    numeral: bool  # the key is also a Thai numeral ("ร้อยเอ็ด")


@dataclass(frozen=True, slots=True)
class Mention:
    """One place name found in a text, and the province it stands for."""

    province: str
    start: int
    end: int
    priority: int  # lower wins: see _priority()


@dataclass(frozen=True, slots=True)
class _Lookup:
    places: dict[str, _Place]
    exact: re.Pattern[str]
    fuzzy: re.Pattern[str]
    fuzzy_keys: dict[str, str]  # tone-less key -> the original key it stands for
    latin: re.Pattern[str] | None
    latin_targets: dict[str, str]
    official: tuple[str, ...]
    whole_names: dict[str, str]
    prefix_exact: re.Pattern[str]


# --- public API -----------------------------------------------------------------------------------------


def province_names() -> tuple[str, ...]:
    """The 77 official Thai province names (Bangkok first), as geothai lists them."""
    return _lookup().official


def canonical_province(name: str) -> str | None:
    """The official province for a whole name: official Thai or English name, or an alias ("โคราช")."""
    key = _clean_name(name)
    return _lookup().whole_names.get(key) if key else None


def find_provinces(text: str) -> list[Mention]:
    """The place mentions in `text` (already lower-cased, Thai digits converted; the first 32), in text order."""
    lookup = _lookup()
    mentions = list(islice(_exact_mentions(text, lookup), _MOST_MENTIONS))
    mentions.extend(_latin_mentions(text, lookup))
    if not mentions:
        mentions.extend(_fuzzy_mentions(text, lookup))
    mentions.sort(key=lambda m: m.start)
    return mentions


def find_province(text: str) -> str | None:
    """The province a message is about: the best-ranked mention (see `_priority`), earliest first; None when
    no place is named."""
    mentions = find_provinces(text)
    if not mentions:
        return None
    return min(mentions, key=lambda m: (m.priority, m.start)).province


def warm_up() -> None:
    """Build the lookup now (geothai import, alias file, regular expressions) instead of on first use."""
    _lookup()
    LazyPattern.compile_all()


def alias_file_path() -> Path:
    """Where the alias file is: knowledge/geography/province_aliases.yaml."""
    import knowledge

    for base in knowledge.__path__:  # a plain list, or a namespace path in some editable installs
        candidate = Path(base) / ALIAS_FILE
        if candidate.is_file():
            return candidate
    raise AliasFileError(f"knowledge/{ALIAS_FILE.as_posix()} not found")


def load_alias_file(text: str | None = None) -> dict[str, Any]:
    """Read and validate the alias file (or `text` in its format); raises AliasFileError when invalid."""
    import yaml  # only needed when the lookup is built

    if text is None:
        text = alias_file_path().read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or set(data) - {"aliases", "needs_prefix", "needs_context"}:
        raise AliasFileError("expected the keys aliases, needs_prefix and needs_context only")
    aliases = data.get("aliases") or {}
    needs_prefix = data.get("needs_prefix") or []
    needs_context = data.get("needs_context") or []
    if not isinstance(aliases, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
        raise AliasFileError("aliases must map names to official province names")
    for name, listed in (("needs_prefix", needs_prefix), ("needs_context", needs_context)):
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            raise AliasFileError(f"{name} must be a list of names")
    official, districts = _geothai_places()
    bad_targets = sorted({v for v in aliases.values() if v not in official})
    if bad_targets:
        raise AliasFileError(f"alias targets that are not official province names: {bad_targets}")
    clashes = sorted(k for k in aliases if _clean_name(k) in official and aliases[k] != _clean_name(k))
    if clashes:
        raise AliasFileError(f"aliases that are another province's official name: {clashes}")
    known = set(official) | {_clean_name(k) for k in aliases} | set(districts)
    unknown = sorted({_clean_name(x) for x in [*needs_prefix, *needs_context]} - known)
    if unknown:
        raise AliasFileError(f"needs_prefix/needs_context names that are no province, district or alias: {unknown}")
    both = sorted(set(needs_prefix) & set(needs_context))
    if both:
        raise AliasFileError(f"names listed under both needs_prefix and needs_context: {both}")
    return {
        "aliases": {_clean_name(k): v for k, v in aliases.items()},
        "needs_prefix": [_clean_name(x) for x in needs_prefix],
        "needs_context": [_clean_name(x) for x in needs_context],
    }


# --- building the lookup --------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    """Names are keyed in the form messages are searched in (bot/nlu/normalise.py)."""
    return canonical(name)


@cache
def _geothai_places() -> tuple[tuple[str, ...], dict[str, tuple[frozenset[str], bool]]]:
    """(official province names, district name -> (provinces of its อำเภอ, whether a Bangkok เขต has it))."""
    import geothai  # ~30 ms to import: only when the lookup is built

    provinces = geothai.provinces()
    names = {p.code: p.name_th for p in provinces}
    amphoe: dict[str, set[str]] = {}
    khet: set[str] = set()
    for p in provinces:
        for d in geothai.districts(p.code):
            if p.name_th == BANGKOK:
                khet.add(d.name_th.removeprefix("เขต"))
                continue
            for variant in {d.name_th, d.name_th.replace("-", "")}:
                amphoe.setdefault(variant, set()).add(names[d.province_code])
    districts = {n: (frozenset(amphoe.get(n, ())), n in khet) for n in amphoe.keys() | khet}
    return tuple(p.name_th for p in provinces), districts


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of `words`, longest first at each position."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def _prefix_pattern() -> re.Pattern[str]:
    words = sorted(_PREFIX_WORDS, key=len, reverse=True)
    return re.compile("(?:" + "|".join(re.escape(w) for w in words) + r")\s*$")


@cache
def _lookup() -> _Lookup:
    official, districts = _geothai_places()
    data = load_alias_file()
    aliases: dict[str, str] = data["aliases"]
    needs_prefix = set(data["needs_prefix"])
    needs_context = set(data["needs_context"])

    def rule_for(key: str, district_only: bool) -> Rule:
        short = len(key) <= _SHORT_DISTRICT
        if key in needs_prefix or (district_only and (short or key.startswith(_VILLAGE_WORD))):
            return "prefix"
        return "context" if key in needs_context else "plain"

    thai_targets = {name: name for name in official}
    thai_targets.update({k: v for k, v in aliases.items() if not k.isascii()})
    places: dict[str, _Place] = {}
    for key in thai_targets.keys() | districts.keys():
        province = thai_targets.get(key)
        amphoe, khet = districts.get(key, (frozenset(), False))
        places[key] = _Place(province, amphoe, khet, rule_for(key, province is None), bool(_NUMERAL.fullmatch(key)))
    exact = re.compile(_START_EDGE + "(?:" + _trie_pattern(places) + ")" + _END_EDGE)

    # Tone-insensitive keys: province names and plain aliases, and long district names of one province.
    # A tone-less form shared by two places (or by a place and a rule-bound name) is dropped.
    fuzzy_candidates: dict[str, dict[str, str | None]] = {}
    for key, place in places.items():
        target = place.province
        if target is None:
            owners = set(place.amphoe) | ({BANGKOK} if place.khet else set())
            target = owners.pop() if len(owners) == 1 and len(_TONES.sub("", key)) >= _FUZZY_DISTRICT_MIN else None
        if place.rule != "plain" or len(_TONES.sub("", key)) < _FUZZY_PROVINCE_MIN:
            target = None
        fuzzy_candidates.setdefault(_TONES.sub("", key), {})[key] = target
    fuzzy_keys = {
        stripped: next(iter(keys))
        for stripped, keys in fuzzy_candidates.items()
        if None not in keys.values() and len(set(keys.values())) == 1
    }
    fuzzy = re.compile(_START_EDGE + "(?:" + _trie_pattern(fuzzy_keys) + ")" + _END_EDGE)

    # Latin letters: geothai's English names ("Chiang Mai", "chiangmai", "chiang-mai") and Latin aliases.
    latin_targets: dict[str, str] = {}
    english = dict(zip(_english_names(), official, strict=True))
    for name_en, name_th in english.items():
        if len(name_en.replace(" ", "")) > 3:  # "Nan" and "Tak" are too short to trust
            latin_targets[name_en.lower()] = name_th
    latin_targets.update({k: v for k, v in aliases.items() if k.isascii()})
    latin_alternatives = sorted(
        (r"[\s\-]?".join(re.escape(part) for part in re.split(r"[\s\-]+", k)) for k in latin_targets),
        key=len,
        reverse=True,
    )
    latin = re.compile(r"(?<![a-z])(?:" + "|".join(latin_alternatives) + r")(?![a-z])") if latin_targets else None

    whole_names = dict(thai_targets)
    whole_names.update({k.lower(): v for k, v in english.items()})
    whole_names.update({re.sub(r"[\s\-]+", "", k): v for k, v in latin_targets.items()})
    whole_names.update({k: v for k, v in latin_targets.items()})
    return _Lookup(
        places=places,
        exact=exact,
        fuzzy=fuzzy,
        fuzzy_keys=fuzzy_keys,
        latin=latin,
        latin_targets={re.sub(r"[\s\-]+", "", k): v for k, v in latin_targets.items()},
        official=official,
        whole_names=whole_names,
        prefix_exact=_prefix_pattern(),
    )


def _english_names() -> list[str]:
    import geothai

    return [p.name_en for p in geothai.provinces()]


# --- matching -------------------------------------------------------------------------------------------


def _prefix_before(text: str, start: int, pattern: re.Pattern[str]) -> Prefix | None:
    """The kind of prefix word (จ., อำเภอ, ถนน, …) right before `start`, if any."""
    m = pattern.search(text[max(0, start - 16) : start])
    return None if m is None else _PREFIX_WORDS.get(m.group(0).strip())


def _priority(text: str, start: int, prefix: Prefix | None, kind: int) -> int:
    """Where someone lives beats where they work or go: a name after จ./อำเภอ or after อยู่/อาศัย/บ้าน ranks
    first, a bare name next, one after เคย/จาก/เมื่อก่อน (where they used to be or came from) last; within a
    rank a province name beats a district, which beats a tone-insensitive match."""
    before = text[max(0, start - 20) : start]
    if _PAST_LEAD.search(before):
        rank = 2
    elif prefix is not None or _HOME_LEAD.search(before):
        rank = 0
    else:
        rank = 1
    return rank * 10 + kind


def _in_context(text: str, start: int, end: int) -> bool:
    return bool(_CONTEXT_LEAD.search(text[max(0, start - 8) : start])) and bool(_CONTEXT_TAIL.match(text, end))


def _resolve(key: str, place: _Place, prefix: Prefix | None, text: str, start: int, end: int) -> Mention | None:
    if prefix == "blocked":
        return None
    if place.numeral and prefix != "province":
        before = text[max(0, start - 12) : start]
        if _NUMBER_BEFORE.search(before) or _UNIT_AFTER.match(text, end):
            return None
    if place.province is not None:
        if place.province == BANGKOK and text[max(0, start - 10) : start].rstrip().endswith(_BANGKOK_BLOCKERS):
            return None
        if place.rule == "prefix" and prefix != "province":
            return None
        if place.rule == "context" and prefix is None and not _in_context(text, start, end):
            return None
        return Mention(place.province, start, end, _priority(text, start, prefix, _PROVINCE_NAME))
    if prefix == "province":
        return None
    if place.rule == "prefix" and prefix is None:
        return None
    if prefix is None and text[max(0, start - 5) : start].rstrip().endswith(_VILLAGE_WORD):
        return None
    if place.rule == "context" and prefix is None and not _in_context(text, start, end):
        return None
    if prefix == "khet":
        owners = {BANGKOK} if place.khet else set()
    elif prefix == "amphoe":
        owners = set(place.amphoe)
    else:
        owners = set(place.amphoe) | ({BANGKOK} if place.khet else set())
    if len(owners) != 1:
        return None
    return Mention(owners.pop(), start, end, _priority(text, start, prefix, _DISTRICT_NAME))


def _exact_mentions(text: str, lookup: _Lookup) -> Iterator[Mention]:
    pos = 0
    while True:
        m = lookup.exact.search(text, pos)
        if m is None:
            return
        key = m.group(0)
        prefix = _prefix_before(text, m.start(), lookup.prefix_exact)
        mention = _resolve(key, lookup.places[key], prefix, text, m.start(), m.end())
        if mention is None:
            pos = m.start() + 1  # a shorter or later name may still start inside this one
        else:
            yield mention
            pos = m.end()


def _latin_mentions(text: str, lookup: _Lookup) -> Iterator[Mention]:
    if lookup.latin is None or not _HAS_LATIN.search(text):
        return
    for m in lookup.latin.finditer(text):
        key = re.sub(r"[\s\-]+", "", m.group(0))
        target = lookup.latin_targets.get(key)
        if target is not None:
            yield Mention(target, m.start(), m.end(), _priority(text, m.start(), None, _PROVINCE_NAME))


_HAS_LATIN = LazyPattern("[a-z]{3}")


def _marks_missing_only(written: str, key: str) -> bool:
    """Whether `written` differs from `key` (same letters) only by left-out or different marks: "เชียงใหม" and
    "เชียงใหม้" are เชียงใหม่, but "ร้อง" with a tone mark where "รอง" has none is another word."""
    key_marks = _marks_after_letters(key)
    return all(not mine or theirs for mine, theirs in zip(_marks_after_letters(written), key_marks, strict=False))


def _marks_after_letters(text: str) -> list[str]:
    marks: list[str] = []
    for ch in text:
        if _TONES.match(ch) and marks:
            marks[-1] += ch
        else:
            marks.append("")
    return marks


def _fuzzy_mentions(text: str, lookup: _Lookup) -> Iterator[Mention]:
    stripped = _TONES.sub("", text)
    if not stripped:
        return
    kept: list[int] | None = None  # position in `text` of each character of `stripped`
    for m in lookup.fuzzy.finditer(stripped):
        key = lookup.fuzzy_keys[m.group(0)]
        if kept is None:
            kept = [i for i, ch in enumerate(text) if not _TONES.match(ch)]
        start, end = kept[m.start()], kept[m.end() - 1] + 1
        if text[start:end] == key or not _marks_missing_only(text[start:end], key):
            continue  # written exactly (already judged), or with a mark the name does not have (นางร้องไห้)
        prefix = _prefix_before(text, start, lookup.prefix_exact)
        mention = _resolve(key, lookup.places[key], prefix, text, start, end)
        if mention is not None:
            yield Mention(mention.province, start, end, mention.priority - mention.priority % 10 + _TONELESS_NAME)
