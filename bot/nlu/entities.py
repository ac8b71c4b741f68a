"""Entities in a Thai chat message: age, province, monthly income, ticket ID, phone, national ID.

`extract_entities(text)` returns only the keys it found (the DESIGN.md "Entities" contract):
    age             int, years (0-120)
    province        official Thai name of one of the 77 provinces (bot/nlu/geography.py)
    monthly_income  int, baht per month
    ticket_id       "PM-<BE year>-<6 digits>"
    phone           digits only, "0…" (a "+66" number is written with its leading 0)
    national_id     13 digits, only when the mod-11 checksum holds

Precision comes first: a number counts only next to a marker that says what it is.
- age: after อายุ/วัย/age ("อายุ๗๒", "อายุแม่ 72 ปี", "วัย 60", "age 67"), before ขวบ, or before ปี right after
  a person (แม่ 72 ปี, ผม 45 ปี), or "67yo"/"67 years old". Durations (รอมา 3 ปี, 3 ปีที่แล้ว), years (ปี 2569),
  criteria (อายุ 60 ปีขึ้นไป, ถ้าอายุ…, เมื่ออายุ…, ผู้สูงอายุ…) and ranges are not ages. "อายุ 6 เดือน" is 0.
  "60 กว่า" is 60 (a lower bound).
- monthly_income: after รายได้/เงินเดือน/รายรับ/ค่าจ้าง/ค่าแรง/หาได้/บำนาญ/income/salary/wage (with filler words
  such as ของแม่, ต่อเดือน, ประมาณ, ทั้งครอบครัว in between, never another noun such as ค่าเช่า or เบี้ย), after
  ได้/รับจ้าง + เดือนละ/วันละ/ปีละ ("ขายของได้วันละ 300", but not "เบี้ยได้เดือนละ 600"), or at the very start of
  a message ("เดือนละ 5000 ค่ะ"). "ไม่มีรายได้ (เลย)", "รายได้ไม่มี", "ขาดรายได้" are 0. A daily figure is
  multiplied by 30 (the Thai labour-law convention of a 30-day month for daily wages, e.g. severance pay
  for daily workers); a yearly figure is divided by 12; weekly and hourly figures, comparisons (ไม่เกิน 5000,
  ไม่ถึงหมื่น) and ranges (200-300) are left out rather than guessed.
- Amounts: "12,000", "12000", "๑๒,๐๐๐", "12k", "1.2 หมื่น", "2หมื่น5", "ห้าพัน", and the spoken short forms
  "หมื่นสอง" (12,000), "สามพันห้า" (3,500), "หมื่นห้า" (15,000), "หมื่นครึ่ง" (15,000), "หมื่นนึง" (10,000).
  Thai number words go through pythainlp's `thaiword_to_num`, imported on first use (pythainlp's import costs
  ~60 ms; `warm_up()` does it at start-up).
- phone: Thai mobile 06/08/09 + 8 digits, landline 02/03/04/05/07 + 7 digits, "+66" numbers; dashes, spaces,
  dots, brackets or Thai digits in between. Hotlines (1300, 191, 1669) are no phones; a 13-digit ID, a ticket
  number or a bank account written 3-1-5-1 is never read as a phone.
- national_id: any grouping of 13 digits whose check digit holds (knowledge/SOURCES.md §15). IDs starting
  with 0 are kept (issued to some non-Thai and stateless registrants), except when the digits read as a phone
  followed by more digits. This module never logs.

`redact(text)` masks phones and national IDs for logs and officer lists; it also masks a 13-digit number whose
check digit fails, since a mistyped ID is still someone's ID.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final, Literal

from bot.nlu import geography
from bot.nlu.geography import LazyPattern
from bot.nlu.normalise import aligned as aligned_form
from bot.nlu.normalise import canonical

__all__ = ["extract_entities", "is_valid_national_id", "mask_national_id", "mask_phone", "redact", "warm_up"]

Expect = Literal["age", "monthly_income", "province"]

MAX_AGE: Final = 120
MAX_MONTHLY_INCOME: Final = 10_000_000  # baht; above this a figure is not someone's income at a welfare desk
DAYS_PER_MONTH: Final = 30  # daily wage x 30: see the module docstring
MONTHS_PER_YEAR: Final = 12

_THAI_END_EDGE = "(?![\u0e30-\u0e3a\u0e45\u0e47-\u0e4e])"


# --- text forms -----------------------------------------------------------------------------------------
# Both come from bot/nlu/normalise.py, the one normaliser: `aligned` (Thai digits only, the same length as the
# message, so spans of tickets, phones and IDs are spans of the message) and `canonical` (the full clean-up,
# lower case, not the same length: ages, incomes and provinces are read in it, positions are not reported).


# --- ticket IDs, phones and national IDs ----------------------------------------------------------------

_SEP_CHARS = "\\-\u2010-\u2015.()+\u00a0\u200b-\u200f\u2060\ufeff"
_TICKET = LazyPattern(
    rf"(?<![a-z0-9])(?:pm|พีเอ็ม|พีเอม)[ _:#{_SEP_CHARS}]*(25[6-9][0-9]|2600)"
    rf"(?:[ _/{_SEP_CHARS}]+([0-9]{{1,6}})|([0-9]{{6}}))(?![0-9])",
    re.IGNORECASE,
)
# Without "PM": only a BE year and 6 digits right after a word for a case number ("เลขเรื่อง ๒๕๖๙-๐๐๐๓๓๓").
_BARE_TICKET = LazyPattern(
    rf"(?:เลขเรื่อง|เลขที่เรื่อง|เลขที่|เลขเคส|หมายเลขเรื่อง|เรื่องเลขที่|เคสเลขที่|ticket|case|ref)(?:\s*(?:no\.?|number|#|:))?"
    rf"[ :#]*(25[6-9][0-9]|2600)[ _{_SEP_CHARS}]+([0-9]{{6}})(?![0-9])",
    re.IGNORECASE,
)
_CHAIN = LazyPattern(rf"(?<![A-Za-z])[0-9]+(?:(?:[^\S\n]|[{_SEP_CHARS}]){{1,3}}[0-9]+)*")
_GROUP = LazyPattern("[0-9]+")
_MOBILE = LazyPattern("0[689][0-9]{8}")
_LANDLINE = LazyPattern("0[2-57][0-9]{7}")
_ID_GROUPING: Final = (1, 4, 5, 2, 1)
_BANK_GROUPING: Final = (3, 1, 5, 1)

Kind = Literal["phone", "national_id", "id_like"]


@dataclass(frozen=True, slots=True)
class _Found:
    kind: Kind
    value: str  # digits
    start: int
    end: int


def _check_digit(first12: str) -> int:
    """knowledge/SOURCES.md §15: S = sum of d_i x (13 - i) for i = 0..11; check digit = (11 - S mod 11) mod 10."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def is_valid_national_id(value: str) -> bool:
    """13 digits (Thai digits, dashes and spaces allowed) whose check digit holds."""
    digits = "".join(ch for ch in aligned_form(value) if "0" <= ch <= "9")
    return len(digits) == 13 and _check_digit(digits[:12]) == int(digits[12])


def _classify(digits: str, lengths: tuple[int, ...], plus: bool) -> tuple[Kind, str] | None:
    """What a run of digit groups is: `digits` joined, `lengths` of the groups, `plus` when "+" comes first."""
    if plus:  # +66 8x xxx xxxx, +66 (0) 2 xxx xxxx
        if not digits.startswith("66"):
            return None
        rest = digits[2:]
        national = "0" + (rest[1:] if rest.startswith("0") else rest)
        return ("phone", national) if _MOBILE.fullmatch(national) or _LANDLINE.fullmatch(national) else None
    if len(digits) == 13:
        id_shaped = len(lengths) == 1 or lengths[0] == 1 or lengths == _ID_GROUPING
        if _check_digit(digits[:12]) == int(digits[12]):
            if digits[0] != "0" or id_shaped:
                return "national_id", digits
        elif id_shaped:
            return "id_like", digits
    if lengths != _BANK_GROUPING and (_MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits)):
        return "phone", digits
    return None


def _numbers(aligned: str) -> Iterator[_Found]:
    """Phones and national IDs in text whose digits are ASCII, with their spans, in text order.

    Digits are read in groups (a run of digits is never split); consecutive groups joined by at most three
    separator characters are tried together, the longest reading first (an ID before a phone).
    """
    for chain in _CHAIN.finditer(aligned):
        if chain.end() - chain.start() < 9:  # fewer than 9 digits: no phone, no ID
            continue
        groups = [(m.start(), m.end(), m.group(0)) for m in _GROUP.finditer(aligned, chain.start(), chain.end())]
        i = 0
        while i < len(groups):
            best: tuple[int, Kind, str] | None = None
            plus = groups[i][0] > 0 and aligned[groups[i][0] - 1] == "+"
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > 13:
                    break
                if len(digits) >= 9:
                    found = _classify(digits, tuple(len(g[2]) for g in groups[i : j + 1]), plus)
                    if found is not None:
                        best = (j, *found)
            if best is None:
                i += 1
                continue
            j, kind, value = best
            start = groups[i][0] - 1 if plus and kind == "phone" else groups[i][0]
            yield _Found(kind, value, start, groups[j][1])
            i = j + 1


def _tickets(aligned: str) -> Iterator[tuple[str, int, int]]:
    for m in _TICKET.finditer(aligned):
        sequence = m.group(2) or m.group(3)
        yield f"PM-{m.group(1)}-{int(sequence):06d}", m.start(), m.end()
    for m in _BARE_TICKET.finditer(aligned):
        yield f"PM-{m.group(1)}-{m.group(2)}", m.start(1), m.end()


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def mask_national_id(value: str) -> str:
    """Show only the last 4 digits, in the usual grouping: "1-1017-00123-45-6" -> "x-xxxx-xxxx3-45-6"."""
    digits = "".join(ch for ch in aligned_form(value) if "0" <= ch <= "9")
    if len(digits) != 13:
        return "x" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "x" * len(digits)
    m = "x" * 9 + digits[9:]
    return f"{m[0]}-{m[1:5]}-{m[5:10]}-{m[10:12]}-{m[12]}"


def mask_phone(value: str) -> str:
    """Show only the last 4 digits: "081-234-5678" -> "xxx-xxx-5678", "02-123-4567" -> "xx-xxx-4567"."""
    digits = "".join(ch for ch in aligned_form(value) if "0" <= ch <= "9")
    if len(digits) == 10:
        return f"xxx-xxx-{digits[6:]}"
    if len(digits) == 9:
        return f"xx-xxx-{digits[5:]}"
    return "x" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "x" * len(digits)


def redact(text: str) -> str:
    """`text` with every phone number and national ID (and 13-digit ID-shaped number) masked."""
    aligned = aligned_form(text)
    if not _HAS_DIGIT.search(aligned):
        return text
    aligned = _blank(aligned, [(s, e) for _, s, e in _tickets(aligned)])
    out: list[str] = []
    last = 0
    for found in _numbers(aligned):
        out.append(text[last : found.start])
        out.append(mask_phone(found.value) if found.kind == "phone" else mask_national_id(found.value))
        last = found.end
    out.append(text[last:])
    return "".join(out)


_HAS_DIGIT = LazyPattern("[0-9]")


# --- Thai numbers ---------------------------------------------------------------------------------------

_DIGIT_WORD = "(?:หนึ่ง|สอง|สาม(?!ี)|สี่|ห้า(?!ม)|หก(?!ล้ม)|เจ็ด|แปด|เก้า(?!อี้))"
_POWER_WORD = "(?:สิบ|ร้อย|พัน(?!ธ)|หมื่น|แสน|ล้าน(?!นา))"
_BIG_POWER = "(?:พัน(?!ธ)|หมื่น|แสน|ล้าน(?!นา))"
_WORDNUM = (
    rf"(?<!เรียบ)(?:(?:(?:{_DIGIT_WORD}|ยี่(?=สิบ))?{_POWER_WORD})+(?:เอ็ด|{_DIGIT_WORD}|นึง|ครึ่ง)?"
    rf"|{_DIGIT_WORD}){_THAI_END_EDGE}"
)
_DIGITNUM = r"(?<![0-9.,])(?:[0-9]{1,3}(?:,[0-9]{3}){1,3}(?![0-9])|[0-9]{1,9}(?![0-9]))(?:\.[0-9]{1,4})?"
# An amount: digits (optionally with k or a Thai power word and a spoken trailing digit) or Thai number words.
_AMOUNT = LazyPattern(
    rf"(?P<dig>{_DIGITNUM})(?:\s?(?P<k>k)(?![a-z])"
    rf"|\s?(?P<big>{_BIG_POWER})(?:\s?(?P<tail>[1-9](?![0-9])|{_DIGIT_WORD}|ครึ่ง))?"
    rf"|\s?(?P<small>สิบ|ร้อย))?"
    rf"|(?P<words>{_WORDNUM})"
)
_DIGIT_VALUES: Final = {"หนึ่ง": 1, "นึง": 1, "สอง": 2, "สาม": 3, "สี่": 4, "ห้า": 5, "หก": 6, "เจ็ด": 7, "แปด": 8, "เก้า": 9}
_POWER_VALUES: Final = {"สิบ": 10, "ร้อย": 100, "พัน": 1_000, "หมื่น": 10_000, "แสน": 100_000, "ล้าน": 1_000_000}
_SPOKEN_TAIL = LazyPattern("(.*?)(พัน|หมื่น|แสน|ล้าน)(หนึ่ง|นึง|สอง|สาม|สี่|ห้า|หก|เจ็ด|แปด|เก้า|ครึ่ง)")
_LONGEST_NUMERAL = 40  # characters; "เก้าแสนเก้าหมื่นเก้าพันเก้าร้อยเก้าสิบเก้า" has 37
_ANY_NUMBER = LazyPattern(f"[0-9]|{_DIGIT_WORD}|{_POWER_WORD}")


@cache
def _thaiword_to_num() -> Any:
    from pythainlp.util import thaiword_to_num  # ~60 ms: only when a number word appears

    return thaiword_to_num


@lru_cache(maxsize=4096)
def _words_value(words: str) -> int | None:
    """Thai number words as an int, reading the spoken short forms: หมื่นสอง = 12,000, สามพันห้า = 3,500."""
    if len(words) > _LONGEST_NUMERAL:
        return None
    m = _SPOKEN_TAIL.fullmatch(words)
    if m is not None:
        head, power, tail = m.groups()
        base = _words_value(head + power)
        if base is None:
            return None
        unit = _POWER_VALUES[power]
        if tail == "ครึ่ง":
            return base + unit // 2
        if tail in ("หนึ่ง", "นึง"):  # หมื่นนึง: "one ten-thousand"
            return base
        return base + _DIGIT_VALUES[tail] * unit // 10
    if words.endswith("ครึ่ง"):  # สิบครึ่ง, ร้อยครึ่ง
        base = _words_value(words.removesuffix("ครึ่ง"))
        power = next((p for p in ("ร้อย", "สิบ") if words.removesuffix("ครึ่ง").endswith(p)), None)
        return None if base is None or power is None else base + _POWER_VALUES[power] // 2
    try:
        return int(_thaiword_to_num()(words.replace("นึง", "หนึ่ง")))
    except (ValueError, TypeError):
        return None


def _amount_value(m: re.Match[str]) -> float | None:
    """The value of an `_AMOUNT` match (a float: "1.5" stays 1.5 until the caller rounds)."""
    if m.group("words"):
        spelled = _words_value(m.group("words"))
        return None if spelled is None else float(spelled)
    number = float(m.group("dig").replace(",", ""))
    if m.group("k"):
        return number * 1_000
    if m.group("small"):
        return number * _POWER_VALUES[m.group("small")]
    big = m.group("big")
    if not big:
        return number
    unit = _POWER_VALUES[big.rstrip()]
    value = number * unit
    tail = m.group("tail")
    if tail == "ครึ่ง":
        value += unit / 2
    elif tail and (tail.isdigit() or tail != "หนึ่ง"):  # 2หมื่น5 = 25,000; 2หมื่นหนึ่ง: two ten-thousands
        value += (int(tail) if tail.isdigit() else _DIGIT_VALUES[tail]) * unit / 10
    return value


# --- age ------------------------------------------------------------------------------------------------

_PERSON = (
    "(?:คุณ|แม่|พ่อ|ยาย|ตา|ปู่|ย่า|ทวด|ลุง|ป้า|น้า|อา|ลูกชาย|ลูกสาว|ลูก|หลาน|เหลน|ผม|ฉัน|ดิฉัน|หนู|เรา|กู|ข้า|"
    "พี่|น้อง|สามี|ภรรยา|ภริยา|เมีย|ผัว|แฟน|เด็กชาย|เด็กหญิง|เด็ก|ด\\.ช\\.|ด\\.ญ\\.|นางสาว|นาง|นาย|น\\.ส\\.|"
    "ผู้ป่วย|คนไข้|คนแก่|คนชรา|ผู้สูงอายุ|ตัวเอง|เขา|เค้า|ท่าน|บุตร|บิดา|มารดา|ผู้ชาย|ผู้หญิง|เพศชาย|เพศหญิง|ชาย|หญิง|"
    "แม่ใหญ่|พ่อใหญ่|แม่เฒ่า|พ่อเฒ่า|ป้อหลวง|แม่หลวง|อุ้ย|ข้อย|เฮา)"
)
_AGE_MARKER = LazyPattern(r"อายุ|วัย|(?<![a-z])aged?(?![a-z])")
_AGE_FILLER = rf"(?:\s|[:=]|ของ|{_PERSON}|ตอนนี้|ปัจจุบัน|ปีนี้|ก็|ได้|ประมาณ|ราว|ๆ|เต็ม|ครบ|คือ|เป็น|จริง|is|of|about|around)*"
# "ลูกอายุ 3 วัน" is a newborn; "อายุ 72 วันนี้…" is not 72 days.
_DAY_UNIT = "วัน(?!นี้|นี่|ที่|ก่อน|หน้า|จันทร์|อังคาร|พุธ|พฤหัส|ศุกร์|เสาร์|อาทิตย์|ไหน|เกิด|หยุด|พระ|สำคัญ|เวลา|ละ)"
_AGE_NUMBER = rf"(?P<num>[0-9]{{1,3}}(?![0-9]|[.,][0-9])|{_WORDNUM})"
_AGE_AFTER_MARKER = LazyPattern(
    rf"{_AGE_FILLER}{_AGE_NUMBER}\s*(?P<unit>ปี|ขวบ|เดือน|{_DAY_UNIT}|สัปดาห์|อาทิตย์|years?\s*old|years?|yrs?|y/o|yo)?",
    re.IGNORECASE,
)
_AGE_ENGLISH = LazyPattern(
    r"(?<![a-z])(?:i\s*am|i'm|im|(?:he|she|mother|father|mom|mum|dad|son|daughter|wife|husband|grandma|grandmother|"
    r"grandfather|grandpa|granny|child|kid|baby|brother|sister|uncle|aunt)(?:'s|\s+is)|man|woman|boy|girl|male|female)"
    r"\s+(?P<num>[0-9]{1,3})(?![0-9]|[.,][0-9])(?P<unit>)"
)
_AGE_UNIT = LazyPattern(
    rf"(?<![0-9])(?P<num>[0-9]{{1,3}}(?![0-9]|[.,][0-9])|{_WORDNUM})\s*"
    r"(?P<unit>ขวบ|ปี|years?\s*old|yrs?\s*old|y/o|yo(?![a-z]))"
)
# Before the marker: the age is a rule, a wish or the past, not a fact about someone.
_NOT_AN_AGE_LEAD = LazyPattern(
    r"(?:หมด|ต่อ|เกษียณ|สูง|ถ้า|หาก|กรณี|สมมติ|สมมุติ|คนที่|ผู้ที่|ต้อง|ต้องมี|เกณฑ์|ตั้งแต่|เริ่ม|เมื่อ|ตอน|จน|ถึง|ช่วง|ไม่ถึง|"
    r"ไม่เกิน|เกิน|ต่ำกว่า|กว่า|จะ|ตาม|จำกัด|if|when|over|under|until|till|from|at|by|before|after|minimum|max(?:imum)?)\s*$"
)
_DURATION_LEAD = LazyPattern(
    r"(?:มา|รอ|นาน|ทุก|ผ่าน|อีก|ภายใน|เมื่อ|ตั้ง|ตลอด|เป็นเวลา|ช่วง|ตั้งแต่|กว่า|ไป|แล้ว|เกิน|ไม่เกิน|ต่ำกว่า|ไม่ถึง|ถึง|"
    r"ละ|for|in)\s*$"
)
_PERSON_LEAD = LazyPattern(
    rf"(?<!กับ)(?<!ให้)(?<!ดูแล)(?<!เลี้ยง)(?<!ส่ง)(?<!เจอ)(?<!พา)(?:{_PERSON}|{_PERSON}\s*(?:ของ)?\s*{_PERSON})"
    r"\s*(?:ก็|ตอนนี้|ปีนี้|นี่|นี้|เขา|เค้า)?\s*$"
)
_NOT_AN_AGE_TAIL = LazyPattern(
    r"\s*(?:ขึ้นไป|ลงมา|ลงไป|บริบูรณ์ขึ้นไป|ที่แล้ว|ก่อน|ละ|ข้างหน้า|หน้า|ที่ผ่านมา|"
    r"(?:-|–|~|ถึง)\s*(?:[0-9]|หนึ่ง|สอง|สาม|สี่|ห้า|หก|เจ็ด|แปด|เก้า|สิบ)|"
    r"บาท|คน(?!ไข้|แก่|เดียว)|ราย(?=\s|$|ค่ะ|ครับ)|ครั้ง|ชั่วโมง|นาที|%|เปอร์เซ็นต์|หลัง(?!จาก)|ครอบครัว|แห่ง|"
    r"กิโล|kg|cm|ซม|baht|\+|\s*(?:days?|weeks?|months?|years?(?!\s*old)|hours?|minutes?|times|people|persons|"
    r"kids|children|%|am|pm|km|percent|and\s+(?:a\s+)?half))",
    re.IGNORECASE,
)


_HAS_LATIN_WORD = LazyPattern("[a-z]{2}")


def _number_value(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    return _words_value(raw)


def _age_from(m: re.Match[str], text: str) -> int | None:
    if _NOT_AN_AGE_TAIL.match(text, m.end()):
        return None
    value = _number_value(m.group("num"))
    if value is None:
        return None
    unit = m.group("unit") or ""
    if unit.startswith("เดือน"):
        value //= 12
    elif unit.startswith(("วัน", "สัปดาห์", "อาทิตย์")):
        value = 0 if value < 400 else MAX_AGE + 1
    return value if 0 <= value <= MAX_AGE else None


def _find_age(text: str) -> tuple[int, int] | None:
    """(position, age) of the first age in normalised text."""
    candidates: list[tuple[int, int]] = []
    for marker in _AGE_MARKER.finditer(text):
        if _NOT_AN_AGE_LEAD.search(text[max(0, marker.start() - 12) : marker.start()]):
            continue
        m = _AGE_AFTER_MARKER.match(text, marker.end())
        if m is None:
            continue
        age = _age_from(m, text)
        if age is not None:
            candidates.append((marker.start(), age))
            break
    if _HAS_LATIN_WORD.search(text):
        for m in _AGE_ENGLISH.finditer(text):
            age = _age_from(m, text)
            if age is not None:
                candidates.append((m.start(), age))
                break
    for m in _AGE_UNIT.finditer(text):
        if candidates and m.start() > min(candidates)[0]:
            break
        before = text[max(0, m.start() - 24) : m.start()]
        unit = m.group("unit").lower()
        if unit == "ขวบ":
            ok = not _DURATION_LEAD.search(before)
        elif unit == "ปี":
            ok = bool(_PERSON_LEAD.search(before))
        else:  # 67yo, 67 years old
            ok = True
        if ok:
            age = _age_from(m, text)
            if age is not None:
                candidates.append((m.start(), age))
                break
    return min(candidates) if candidates else None


# --- monthly income -------------------------------------------------------------------------------------

_PERIOD_WORD = "(?:เดือน|วัน|ปี|สัปดาห์|อาทิตย์|ชั่วโมง|ชม\\.?)"
_INCOME_KEYWORD = "(?:รายได้|เงินเดือน|รายรับ|ค่าจ้าง|ค่าแรง|หาได้|หาเงินได้|บำนาญ|income|salary|wages?|earn(?:s|ing)?)"
_INCOME_FILLER = (
    rf"(?:\s|[:=]|ของ|ทั้ง{_PERIOD_WORD}|ทั้ง|ครอบครัว|ครัวเรือน|ต่อครัวเรือน|ที่บ้าน|บ้าน|รวม|ทั้งหมด|ต่อ\s*{_PERIOD_WORD}|{_PERIOD_WORD}ละ|ราย{_PERIOD_WORD}|"
    rf"ประมาณ|ราว|ๆ|ก็|ได้รับ|ได้|แค่|เพียง|อยู่ที่|อยู่|ตก|เฉลี่ย|ปกติ|ตอนนี้|ปัจจุบัน|คือ|ที่|รับ|หลัก|ไม่แน่นอน|"
    rf"ไม่แน่|{_PERSON}|จาก[^\s0-9]{{0,20}}|approx\.?|about|around|is|of|per\s*month|monthly|a\s*month)*"
)
_INCOME_AFTER_KEYWORD = LazyPattern(_INCOME_FILLER)
_INCOME_KEYWORD_RE = LazyPattern(rf"(?<![a-z]){_INCOME_KEYWORD}(?![a-z])")
# ได้/รับจ้าง + a period + amount: "ขายของได้วันละ 300", "ได้เงินเดือนละ 5000", "รับจ้างวันละ 350".
_EARN_PERIOD = LazyPattern(
    rf"(?:ได้(?:เงิน)?|รับจ้าง(?:ทั่วไป)?)\s*(?:ประมาณ|ราว\s*ๆ?|แค่|เพียง|ก็)?\s*(?P<period>{_PERIOD_WORD}ละ|ต่อ\s*{_PERIOD_WORD})"
    r"\s*(?:ประมาณ|ราว\s*ๆ?|แค่|เพียง|ก็)?\s*"
)
_START_PERIOD = LazyPattern(
    rf"^(?:ประมาณ|ราว\s*ๆ?|ก็|ได้)?\s*(?P<period>{_PERIOD_WORD}ละ|ต่อ\s*{_PERIOD_WORD})\s*(?:ประมาณ|ราว\s*ๆ?)?\s*"
)
_BENEFIT_BEFORE = LazyPattern(r"(?:เบี้ย|ยังชีพ|อุดหนุน|สวัสดิการ|บัตร|ช่วยเหลือ|สงเคราะห์|เงินเด็ก|คนพิการ|ผู้สูงอายุ|จะ|ควร|ต้อง)[^\s]*$")
# People in general ("คนไม่มีรายได้ได้อะไรบ้าง", "ผู้มีรายได้น้อย"), a condition, a rule or the past; "คน" only at the
# start of the message, since "หลานสองคน ไม่มีรายได้" is a fact about two people.
_NOT_OWN_INCOME_LEAD = LazyPattern(
    r"(?:ถ้า|หาก|กรณี|สมมติ|สมมุติ|ที่|^คน|คนที่|ผู้|เคย|เมื่อก่อน|ต้อง|เกณฑ์|สำหรับ(?:คน)?)\s*(?:มี)?\s*$"
)
_AFTER_AMOUNT = LazyPattern(
    rf"\s*(?:กว่า)?\s*(?:บาท|฿|baht|thb)?\s*(?:กว่า)?\s*(?:(?P<sep>/|ต่อ|per|a|ละ)\s*(?P<period>{_PERIOD_WORD}|month|day|year|week|hour))?",
    re.IGNORECASE,
)
_NOT_AN_INCOME_TAIL = LazyPattern(
    rf"\s*(?:(?:-|–|~|ถึง)\s*(?:[0-9]|{_DIGIT_WORD}|{_POWER_WORD})|คน(?!เดียว)|ครั้ง|{_PERIOD_WORD}(?!ละ)|%|เปอร์เซ็นต์|"
    r"ขวบ|หลัง(?!จาก)|ไร่)"
)
_ZERO_INCOME = LazyPattern(
    r"ไม่มี\s*(?:รายได้|เงินเดือน|รายรับ)(?!\s*(?:ประจำ|แน่นอน|ที่แน่นอน|อื่น|เสริม|พอ|เพียงพอ|มาก|เพิ่ม|ทาง|จาก|หลัก))"
    r"|(?:รายได้|เงินเดือน|รายรับ)\s*(?:ก็|เลย)?\s*(?:ไม่มี(?!\s*(?:ประจำ|แน่นอน))|เป็นศูนย์|ศูนย์\s*บาท|=\s*0(?![0-9]))"
    rf"|ขาดรายได้(?!\s*(?:ไป|ประมาณ|[0-9]|{_DIGIT_WORD}|{_POWER_WORD}))"
    r"|(?:no|zero)\s+income"
)


def _period_factor(period: str | None) -> float | None:
    """Multiplier to a month; None for a period that cannot be turned into one honestly."""
    if not period:
        return 1.0
    period = period.lower()
    if period.startswith(("เดือน", "month")):
        return 1.0
    if period.startswith(("วัน", "day")):
        return float(DAYS_PER_MONTH)
    if period.startswith(("ปี", "year")):
        return 1 / MONTHS_PER_YEAR
    return None  # weekly, hourly


def _income_at(text: str, pos: int, period_before: str | None) -> int | None:
    """The monthly income whose amount starts at `pos` (after the keyword and filler), or None."""
    m = _AMOUNT.match(text, pos)
    if m is None or not m.group(0).strip():
        return None
    value = _amount_value(m)
    if value is None or _NOT_AN_INCOME_TAIL.match(text, m.end()):
        return None
    after = _AFTER_AMOUNT.match(text, m.end())
    period = period_before
    if after is not None and after.group("period"):
        period = after.group("period")
    factor = _period_factor(period)
    if factor is None:
        return None
    income = round(value * factor)
    return income if income <= MAX_MONTHLY_INCOME else None


def _filler_period(filler: str) -> str | None:
    m = re.search(_PERIOD_WORD, filler)
    return m.group(0) if m else None


def _find_income(text: str) -> tuple[int, int] | None:
    """(position, monthly income in baht) of the first income statement in normalised text."""
    candidates: list[tuple[int, int]] = []
    for m in _ZERO_INCOME.finditer(text):
        if not _NOT_OWN_INCOME_LEAD.search(text, max(0, m.start() - 10), m.start()):
            candidates.append((m.start(), 0))
            break
    if _ANY_NUMBER.search(text):
        for kw in _INCOME_KEYWORD_RE.finditer(text):
            if _NOT_OWN_INCOME_LEAD.search(text, max(0, kw.start() - 10), kw.start()):
                continue
            filler = _INCOME_AFTER_KEYWORD.match(text, kw.end())
            end = filler.end() if filler else kw.end()
            if len(text[kw.end() : end]) > 48:
                continue
            income = _income_at(text, end, _filler_period(text[kw.end() : end]))
            if income is not None:
                candidates.append((kw.start(), income))
                break
        for m in _EARN_PERIOD.finditer(text):
            if _BENEFIT_BEFORE.search(text[max(0, m.start() - 20) : m.start()]):
                continue
            income = _income_at(text, m.end(), m.group("period"))
            if income is not None:
                candidates.append((m.start(), income))
                break
        start = _START_PERIOD.match(text)
        if start is not None:
            income = _income_at(text, start.end(), start.group("period"))
            if income is not None:
                candidates.append((0, income))
    return min(candidates) if candidates else None


# --- answers to a question the bot asked ----------------------------------------------------------------

_ANSWER_LEAD = r"^(?:ประมาณ|ราว\s*ๆ?|ก็|about|around|approx\.?)?\s*"
_ANSWER_TAIL = LazyPattern(r"\s*(?:ปี|ขวบ|บาท|กว่า|ค่ะ|คะ|ค่า|ครับ|คับ|จ้า|จ้ะ|นะ|แล้ว|ต่อเดือน|เดือนละ|ๆ|[.!~])*\s*$")
_BARE_ZERO = LazyPattern(r"^(?:ไม่มี|ไม่มีเลย|ไม่มีรายได้|none|no|0|ศูนย์)\s*(?:เลย)?\s*(?:ค่ะ|คะ|ครับ|คับ|จ้า|นะ)?\s*$")


_PROVINCE_ANSWER = LazyPattern(
    r"^(?:อยู่|ที่|ค่ะ|คะ|ครับ|จังหวัด|จ\.|จว\.|\s)*(?P<name>.+?)(?:\s|ค่ะ|คะ|ค่า|ครับ|คับ|จ้า|จ้ะ|นะ|[.!~])*$"
)


def _province_answer(text: str) -> str | None:
    """A message that is only a province name or alias ("เลยค่ะ", "จ.ตาก"): the answer to "which province?"."""
    m = _PROVINCE_ANSWER.match(text)
    return geography.canonical_province(m.group("name")) if m else None


def _bare_answer(text: str, expect: Literal["age", "monthly_income"]) -> int | None:
    """A message that is only a number, read as the answer to "how old?" or "how much a month?"."""
    lead = re.match(_ANSWER_LEAD, text)
    pos = lead.end() if lead else 0
    if expect == "monthly_income" and _BARE_ZERO.match(text[pos:]):
        return 0
    m = _AMOUNT.match(text, pos)
    if m is None or not m.group(0).strip():
        return None
    after = _AFTER_AMOUNT.match(text, m.end())
    end = after.end() if after else m.end()
    if not _ANSWER_TAIL.fullmatch(text, end):
        return None
    value = _amount_value(m)
    if value is None:
        return None
    if expect == "age":
        if after is not None and after.group("period"):
            return None
        return int(value) if value.is_integer() and 0 <= value <= MAX_AGE else None
    factor = _period_factor(after.group("period") if after else None)
    income = None if factor is None else round(value * factor)
    return income if income is not None and income <= MAX_MONTHLY_INCOME else None


# --- public API -----------------------------------------------------------------------------------------


def extract_entities(text: str, *, expect: Expect | None = None) -> dict[str, Any]:
    """The entities in one message; only the keys found (see the module docstring).

    `expect` is the slot the bot has just asked for: a message that is only a number ("72", "เจ็ดสิบสอง",
    "5,000 บาท") or only a province name ("เลยค่ะ", which alone is too common a word to count) is then read as
    that slot.
    """
    entities: dict[str, Any] = {}
    aligned = aligned_form(text)
    spans: list[tuple[int, int]] = []
    if _HAS_DIGIT.search(aligned):
        for ticket_id, start, end in _tickets(aligned):
            entities.setdefault("ticket_id", ticket_id)
            spans.append((start, end))
        blanked = _blank(aligned, spans)
        for found in _numbers(blanked):
            if found.kind != "id_like":
                entities.setdefault(found.kind, found.value)
            spans.append((found.start, found.end))
        aligned = _blank(blanked, spans)
    norm = canonical(aligned)
    age = _find_age(norm) if _ANY_NUMBER.search(norm) else None
    if age is not None:
        entities["age"] = age[1]
    province = geography.find_province(norm) if norm else None
    if province is not None:
        entities["province"] = province
    income = _find_income(norm)
    if income is not None:
        entities["monthly_income"] = income[1]
    if expect is not None and expect not in entities and norm:
        answer = _province_answer(norm) if expect == "province" else _bare_answer(norm, expect)
        if answer is not None:
            entities[expect] = answer
    return {key: entities[key] for key in _ORDER if key in entities}


_ORDER: Final = ("age", "province", "monthly_income", "ticket_id", "phone", "national_id")


def warm_up() -> None:
    """Build every lookup now (province names, pythainlp's number words) instead of on the first message."""
    geography.warm_up()
    _words_value("เจ็ดสิบสอง")
