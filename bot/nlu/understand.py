"""Interim keyword understanding for the conversation skeleton.

The measured classifier (normalisation, tokenisation, example phrases in knowledge/intents/) replaces
the body of `understand` in the understanding issue; the signature stays.
"""

from __future__ import annotations

import re
import unicodedata

from handlers.base import Understanding

# Danger words are checked first: missing an emergency is the worst error this system can make.
DANGER_WORDS = (
    "ฆ่าตัวตาย",
    "อยากตาย",
    "ทำร้ายตัวเอง",
    "กระโดดตึก",
    "กระโดดสะพาน",
    "ถูกทำร้าย",
    "โดนทำร้าย",
    "โดนตบ",
    "โดนตี",
    "ทุบตี",
    "ข่มขืน",
    "ล่วงละเมิด",
    "ถูกขัง",
    "โดนขัง",
    "กักขัง",
    "ค้ามนุษย์",
    "ช่วยด้วย",
    "ฉุกเฉิน",
    "suicide",
    "kill myself",
    "help me",
)

INTENT_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("thanks", ("ขอบคุณ", "ขอบใจ", "thank", "thx")),
    ("greeting", ("สวัสดี", "หวัดดี", "ดีครับ", "ดีค่ะ", "hello", "hi")),
    ("data_rights", ("ข้อมูลของฉัน", "ลบข้อมูล", "ยินยอม", "ความเป็นส่วนตัว", "pdpa")),
    ("elderly_allowance", ("เบี้ยผู้สูงอายุ", "เบี้ยคนแก่", "เบี้ยยังชีพ")),
    ("disability_allowance", ("เบี้ยคนพิการ", "เบี้ยความพิการ")),
    ("disability_card", ("บัตรคนพิการ",)),
    ("child_support_grant", ("เงินเด็กแรกเกิด", "เงินอุดหนุนเด็ก")),
    ("welfare_card", ("บัตรสวัสดิการ", "บัตรคนจน")),
    ("eligibility_check", ("เช็คสิทธิ", "เช็กสิทธิ", "ตรวจสิทธิ")),
    ("complaint", ("ร้องเรียน", "ร้องทุกข์")),
    ("request_help", ("ขอความช่วยเหลือ", "ช่วยเหลือ")),
    ("ticket_status", ("ติดตามเรื่อง", "ติดตามเคส")),
    ("talk_to_officer", ("คุยกับเจ้าหน้าที่", "ขอคุยกับคน")),
    ("contact_office", ("เบอร์ติดต่อ", "ที่อยู่ พมจ", "ติดต่อ พมจ")),
)

MENU_WORDS = ("เมนู", "menu", "เริ่มใหม่")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")


def normalise(text: str) -> str:
    """NFC, no zero-width characters, lower case, single spaces."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.lower().split())


def understand(text: str) -> Understanding:
    """The intent of one message, with a confidence in 0..1."""
    clean = normalise(text)
    if not clean:
        return Understanding("out_of_scope", 0.0)
    if any(word in clean for word in DANGER_WORDS):
        return Understanding("emergency", 0.9)
    if any(clean == word for word in MENU_WORDS):
        return Understanding("greeting", 0.6, {"menu": True})
    for intent, keywords in INTENT_KEYWORDS:
        if any(keyword in clean for keyword in keywords):
            return Understanding(intent, 0.7)
    return Understanding("out_of_scope", 0.2)
