"""Short answers to a question the bot has just asked: yes / no / not sure, and whose age is whose.

Thai vowels and tone marks are not word characters to `re`, so a word cannot be ended with \\b: the patterns
match the whole (short) answer instead, particles allowed around it.
"""

from __future__ import annotations

import re
from typing import Final

from pythainlp.util import thai_digit_to_arabic_digit

_PARTICLES: Final = r"(?:\s*(?:ค่ะ|คะ|ค่า|คับ|ครับ|ครับผม|จ้า|จ้ะ|ฮะ|นะ|น่ะ|เด้อ|เนาะ|อะ|อ่ะ|เลย|แล้ว|ๆ|[.!~]|😊|🙏|👍))*\s*"
_UNSURE: Final = re.compile(
    r"^(?:ก็\s*)?(?:ไม่แน่ใจ|ไม่รู้|ไม่ทราบ|ไม่ชัวร์|บ่รู้|บ่ฮู้|บ่แน่ใจ|จำไม่ได้|ไม่รู้เหมือนกัน|ไม่แน่|not sure|dunno|idk)"
    r"(?:\s*(?:เหมือนกัน|ว่า.*|อ่ะ|นะ))?" + _PARTICLES + "$"
)
_NO: Final = re.compile(
    r"^(?:(?:ยัง)?ไม่(?:มี|ใช่|ได้|เคย|ค่อย|ได้ทำ|มีบัตร|ได้ทำบัตร)?(?:บัตร|นะ|หรอก|อะ)?|ยัง|บ่(?:มี|แม่น|ได้|เคย)?|ม่าย|มะมี|no|nope|nah|n)"
    + _PARTICLES
    + "$"
)
_YES: Final = re.compile(
    r"^(?:ใช่|ช่าย|ใช้|ชั่ย|มี|มีค่ะ|ได้|เคย|แม่น(?:แล้ว)?|ถูก(?:ต้อง)?|จ้า|ค่ะ|ครับ|ok|okay|โอเค|เค|yes|yep|yeah|y)"
    r"(?:\s*(?:ค่ะ|คะ|ครับ|มี|ใช่|จ้า|แล้ว|อยู่|ครับผม))*"
    + _PARTICLES
    + "$"
)

# Who a number belongs to: kin and self words as people write them.
PERSON_WORDS: Final = (
    "ตัวเอง", "ผม", "ฉัน", "ดิฉัน", "หนู", "เรา", "ข้อย", "กู", "เค้า",
    "แม่", "พ่อ", "ยาย", "ตา", "ปู่", "ย่า", "ทวด", "ลูก", "หลาน", "สามี", "ภรรยา", "เมีย", "ผัว", "แฟน",
    "พี่", "น้อง", "ป้า", "ลุง", "น้า", "อา", "แม่ใหญ่", "พ่อใหญ่", "คุณแม่", "คุณพ่อ", "คุณยาย", "คุณตา",
)
_PERSON: Final = "|".join(sorted((re.escape(w) for w in PERSON_WORDS), key=len, reverse=True))
_AGE_OF: Final = re.compile(
    rf"(?P<who>{_PERSON})(?:\S{{0,8}}?)\s*(?:อายุ|อายุได้|ก็)?\s*(?P<n>\d{{1,3}})\s*(?P<unit>ปี|ขวบ|เดือน)?"
)
_SELF: Final = {"ตัวเอง", "ผม", "ฉัน", "ดิฉัน", "หนู", "เรา", "ข้อย", "กู"}


def polarity(text: str) -> str | None:
    """'yes', 'no' or 'unsure' when the whole message is such an answer ("ไม่มีค่ะ", "แม่นแล้ว", "บ่ฮู้"), else None."""
    short = text.strip().lower()
    if not short or len(short) > 40:
        return None
    if _UNSURE.match(short):
        return "unsure"
    if _NO.match(short):
        return "no"
    if _YES.match(short):
        return "yes"
    return None


def ages_of_people(text: str) -> tuple[tuple[str, int], ...]:
    """('แม่', 72), ('หลาน', 4)… for each "person + number" in the message; months count as age 0."""
    found: list[tuple[str, int]] = []
    for m in _AGE_OF.finditer(thai_digit_to_arabic_digit(text)):
        value = int(m.group("n"))
        if m.group("unit") == "เดือน":
            value = 0
        if value > 120:
            continue
        who = "ตัวเอง" if m.group("who") in _SELF else m.group("who").removeprefix("คุณ")
        found.append((who, value))
    return tuple(found)
