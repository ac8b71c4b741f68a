"""Entity extraction (bot/nlu/entities.py, bot/nlu/geography.py): DESIGN.md's "Entities" contract.

Every input is the kind of message citizens type: no spaces between words, Thai digits, missing tone marks,
colloquial names. A key is present only when the message states it; false positives count as failures.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.nlu import geography
from bot.nlu.entities import (
    extract_entities,
    is_valid_national_id,
    mask_national_id,
    mask_phone,
    redact,
)

VALID_IDS = ("1101700123456", "3100500123458", "1234567890121", "5700100345675", "8100200000017")


# --- whole messages ---------------------------------------------------------------------------------------

MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("แม่อายุ๗๒ อยู่โคราช รายได้ไม่มีเลยค่ะ", {"age": 72, "province": "นครราชสีมา", "monthly_income": 0}),
    (
        "ผมอายุ 65 ปี อยู่ อ.หาดใหญ่ จ.สงขลา ตกงาน รายได้วันละ 300 บาท",
        {"age": 65, "province": "สงขลา", "monthly_income": 9000},
    ),
    ("ยายอายุเจ็ดสิบแปด อยู่คนเดียวที่บุรีรัมย์ ได้เบี้ยเดือนละ 700 ค่ะ", {"age": 78, "province": "บุรีรัมย์"}),
    ("ลูก 3 ขวบ รายได้ครอบครัวหมื่นสอง อยู่กทม.", {"age": 3, "province": "กรุงเทพมหานคร", "monthly_income": 12000}),
    ("ติดตามเรื่อง PM-2569-000123 ค่ะ โทร 081-234-5678", {"ticket_id": "PM-2569-000123", "phone": "0812345678"}),
    (
        "เลขบัตร 1-1017-00123-45-6 เบอร์ 089 876 5432 อยู่เชียงใหม่",
        {"province": "เชียงใหม่", "phone": "0898765432", "national_id": "1101700123456"},
    ),
    ("สวัสดีค่ะ อยากสอบถามเรื่องเบี้ยผู้สูงอายุค่ะ", {}),
    ("ลงทะเบียนบัตรสวัสดิการแห่งรัฐได้ที่ไหนครับ", {}),
    ("โดนสามีทำร้ายร่างกาย ช่วยด้วยค่ะ", {}),
    ("สำนักงานพัฒนาสังคมและความมั่นคงของมนุษย์จังหวัดอยู่ที่ไหน", {}),
    ("พ่ออายุ 80 ติดเตียงมา 3 ปีแล้ว อยู่อุบลค่ะ", {"age": 80, "province": "อุบลราชธานี"}),
    ("ตกงาน ไม่มีรายได้ ลูกอายุ ๕ ขวบ อยู่ปากน้ำ", {"age": 5, "province": "สมุทรปราการ", "monthly_income": 0}),
    ("รอเบี้ยมา 2 ปีแล้วยังไม่ได้เลย", {}),
    ("ขอเลขที่เรื่องด้วยค่ะ pm2569000042", {"ticket_id": "PM-2569-000042"}),
    ("", {}),
    ("   \u200b  ", {}),
]


@pytest.mark.parametrize(("text", "expected"), MESSAGES)
def test_whole_messages(text: str, expected: dict[str, Any]) -> None:
    assert extract_entities(text) == expected


def test_only_the_contract_keys_and_types() -> None:
    found = extract_entities("แม่อายุ 72 อยู่โคราช รายได้ 3000 PM-2569-000001 โทร 0812345678 บัตร 1101700123456")
    assert found == {
        "age": 72,
        "province": "นครราชสีมา",
        "monthly_income": 3000,
        "ticket_id": "PM-2569-000001",
        "phone": "0812345678",
        "national_id": "1101700123456",
    }
    assert all(isinstance(found[k], int) for k in ("age", "monthly_income"))
    assert all(isinstance(found[k], str) for k in ("province", "ticket_id", "phone", "national_id"))


# --- age --------------------------------------------------------------------------------------------------

AGES: list[tuple[str, int | None]] = [
    ("แม่อายุ๗๒", 72),
    ("อายุ 72 ปี", 72),
    ("อายุ72ปีค่ะ", 72),
    ("ตอนนี้อายุ 67 แล้ว", 67),
    ("อายุหกสิบเจ็ด", 67),
    ("แม่อายุเจ็ดสิบสองปีแล้วค่ะ", 72),
    ("พ่ออายุแปดสิบ", 80),
    ("อายุแม่ 72 ปี", 72),
    ("อายุของพ่อตอนนี้ก็ 75 แล้ว", 75),
    ("อายุประมาณ 70", 70),
    ("อายุ 3 ปีแล้ว", 3),
    ("แม่ 72 ปีแล้ว", 72),
    ("ผม 45 ปี ตกงานครับ", 45),
    ("คุณยาย 85 ปี อยู่คนเดียว", 85),
    ("ลูก 5 ขวบ", 5),
    ("หลานห้าขวบ", 5),
    ("5 ขวบค่ะ", 5),
    ("ลูกสาวสองขวบครึ่ง", 2),
    ("ลูกอายุ 6 เดือน", 0),
    ("อายุ 18 เดือน", 1),
    ("วัย 60", 60),
    ("ยายวัยเก้าสิบ", 90),
    ("age 67", 67),
    ("aged 70", 70),
    ("67yo", 67),
    ("my mother is 81 years old", 81),
    ("อายุ 60 กว่าแล้ว", 60),
    ("เด็กชาย 8 ปี ถูกทำร้าย", 8),
    ("แจ้งเคส: ชาย 70 ปี ติดเตียง ม.3", 70),
    ("อพม.แจ้งเคสค่ะ ผู้สูงอายุ 82 ปี อยู่ลำพัง", 82),
    ("แม่ใหญ่ 90 ปี ตาบอด", 90),
    ("I am 67 and low income", 67),
    ("my mother is 72, how much allowance", 72),
    ("ลูกอายุ 3 วัน", 0),
    ("แม่อายุ 72 วันนี้ไปหาหมอ", 72),
    ("อายุ 0 ปี", 0),
    # not ages
    ("แม่ 72 แล้ว", None),
    ("ปี 2569 ยื่นไปแล้ว", None),
    ("รอมา 3 ปีแล้ว", None),
    ("3 ปีที่แล้วเคยได้เบี้ย", None),
    ("ทำงานมา 2 ปี", None),
    ("ติดเตียง 3 ปีแล้ว", None),
    ("ไปอยู่กับลูก 3 ปีแล้ว", None),
    ("ผู้สูงอายุ 60 ปีขึ้นไปได้เท่าไหร่", None),
    ("อายุ 60 ปีขึ้นไป", None),
    ("เบี้ยผู้สูงอายุ 70-79 ปี ได้ 700", None),
    ("ถ้าอายุ 59 ได้ไหม", None),
    ("ต้องอายุ 60 ก่อนใช่ไหม", None),
    ("เกษียณอายุ 60", None),
    ("บัตรหมดอายุ 2570", None),
    ("อายุ 150", None),
    ("อายุครรภ์ 7 เดือน", None),
    ("ผู้สูงอายุ 100 คนในหมู่บ้าน", None),
    ("อายุ 72,000", None),
    ("แม่หกล้ม", None),
    ("ลูก 2 คน", None),
    ("waited 3 years", None),
    ("จะอายุ 60 ต้องไปลงทะเบียนที่ไหน", None),
    ("เบี้ยยังชีพขึ้นตามอายุ ครบ 70 ต้องไปแจ้งไหม", None),
    ("is it until age 6", None),
    ("I turn 60 next year", None),
    ("the payment is 10 days late", None),
    ("พ่อเกิดปี 2509", None),
]


@pytest.mark.parametrize(("text", "age"), AGES)
def test_age(text: str, age: int | None) -> None:
    assert extract_entities(text).get("age") == age


# --- monthly income ---------------------------------------------------------------------------------------

INCOMES: list[tuple[str, int | None]] = [
    ("รายได้ 12,000 บาท", 12000),
    ("รายได้12000", 12000),
    ("รายได้ ๑๒,๐๐๐ บาทค่ะ", 12000),
    ("เงินเดือน 12k", 12000),
    ("รายได้ 1.2 หมื่น", 12000),
    ("รายได้หมื่นสอง", 12000),
    ("รายได้ประมาณห้าพัน", 5000),
    ("รายได้สามพันห้า", 3500),
    ("เงินเดือนหมื่นห้า", 15000),
    ("รายได้สองหมื่น", 20000),
    ("รายได้ 2หมื่น5", 25000),
    ("รายได้หมื่นนึง", 10000),
    ("รายได้สามพันห้าร้อยบาท", 3500),
    ("รายได้ 9,000 บาท/เดือน", 9000),
    ("รายได้ต่อเดือน 8000", 8000),
    ("รายได้ทั้งครอบครัวประมาณ 8000 บาทต่อเดือน", 8000),
    ("รายได้ของแม่ 3000", 3000),
    ("รายได้จากลูกส่งมาเดือนละ 2000", 2000),
    ("ได้เดือนละ 5000", 5000),
    ("เดือนละ 5000 ค่ะ", 5000),
    ("ได้วันละ 300", 9000),
    ("ค่าแรงวันละ 350", 10500),
    ("ขายของได้วันละ 200", 6000),
    ("รับจ้างวันละ 400 บาท", 12000),
    ("รายได้ 300 บาทต่อวัน", 9000),
    ("รายได้ปีละ 60,000", 5000),
    ("รายได้ต่อปี 120000 บาท", 10000),
    ("income 9000 baht", 9000),
    ("salary 15k", 15000),
    ("เงินเดือน 5000 กว่าบาท", 5000),
    ("รายได้ 0 บาท", 0),
    ("ไม่มีรายได้", 0),
    ("ไม่มีรายได้เลยค่ะ", 0),
    ("ตกงาน ไม่มีรายได้", 0),
    ("รายได้ไม่มีเลย", 0),
    ("รายได้ก็ไม่มี", 0),
    ("ไม่มีเงินเดือน", 0),
    ("ขาดรายได้ตั้งแต่โควิด", 0),
    ("รายได้เป็นศูนย์", 0),
    ("เหลือป้ากับหลานสองคน ไม่มีรายได้เลย", 0),
    ("ครอบครัวนี้ 4 คน ไม่มีรายได้", 0),
    ("ไม่มีรายได้ 3 เดือนแล้วค่ะ", 0),
    # not income
    ("เบี้ย 600 บาท", None),
    ("ค่าเช่า 3000", None),
    ("เบี้ยได้เดือนละ 600", None),
    ("ได้เบี้ยเดือนละ 600", None),
    ("จ่ายค่าเช่าเดือนละ 3000", None),
    ("ผ่อนรถเดือนละ 5000", None),
    ("ได้ 600 บาท", None),
    ("รายได้ไม่พอจ่ายค่าเช่า 3000", None),
    ("รายได้ไม่ถึง 5000", None),
    ("รายได้ไม่เกิน 100,000 บาทต่อปี", None),
    ("ขายของได้วันละ 200-300", None),
    ("ค่าแรงอาทิตย์ละ 1500", None),
    ("ยังไม่ได้เงินเดือน 3 เดือนแล้ว", None),
    ("ถ้าไม่มีรายได้จะได้ไหม", None),
    ("คนไม่มีรายได้ได้อะไรบ้าง", None),
    ("สำหรับคนไม่มีรายได้มีอะไรบ้าง", None),
    ("ไม่มีรายได้ประจำ", None),
    ("ไม่มีรายได้อื่นนอกจากเบี้ย", None),
    ("ผู้มีรายได้น้อย", None),
    ("ไม่มีรายได้มากนัก", None),
    ("ไม่ค่อยมีรายได้", None),
    ("เคยมีรายได้ 9000", None),
    ("รายได้ 2 คน", None),
    ("ตกงาน", None),
    ("ค่าไฟเดือนละ 800 ค่ะ", None),
    ("รายได้ 99999999999999999999999", None),
    ("รายได้ 50 ล้าน", None),
]


@pytest.mark.parametrize(("text", "income"), INCOMES)
def test_monthly_income(text: str, income: int | None) -> None:
    assert extract_entities(text).get("monthly_income") == income


# --- ticket IDs -------------------------------------------------------------------------------------------

TICKETS: list[tuple[str, str | None]] = [
    ("PM-2569-000123", "PM-2569-000123"),
    ("ติดตามเรื่อง pm-2569-000123 ค่ะ", "PM-2569-000123"),
    ("PM2569000123", "PM-2569-000123"),
    ("pm 2569 000123", "PM-2569-000123"),
    ("เลขเรื่อง PM-๒๕๖๙-๐๐๐๑๒๓", "PM-2569-000123"),
    ("Pm-2570-12", "PM-2570-000012"),
    ("พีเอ็ม-2569-000777", "PM-2569-000777"),
    ("PM-2569-000123ค่ะ", "PM-2569-000123"),
    ("PM-1999-000123", None),
    ("PM-2569-0001234", None),
    ("PM25690001", None),
    ("APM-2569-000123", None),
    ("เลขเรื่อง ๒๕๖๙-๐๐๐๓๓๓ อัพเดทให้หน่อยค่ะ", "PM-2569-000333"),  # no "PM", but right after เลขเรื่อง
    ("ticket no. 2569-000123", "PM-2569-000123"),
    ("โทรมา 2569-000123", None),
]


@pytest.mark.parametrize(("text", "ticket"), TICKETS)
def test_ticket_id(text: str, ticket: str | None) -> None:
    found = extract_entities(text)
    assert found.get("ticket_id") == ticket
    assert "phone" not in found and "national_id" not in found


# --- phones -----------------------------------------------------------------------------------------------

PHONES: list[tuple[str, str | None]] = [
    ("โทร 081-234-5678", "0812345678"),
    ("0812345678", "0812345678"),
    ("เบอร์ 081 234 5678 ค่ะ", "0812345678"),
    ("ติดต่อ 081.234.5678", "0812345678"),
    ("โทร๐๘๑๒๓๔๕๖๗๘", "0812345678"),
    ("เบอร์ 06-1234-5678", "0612345678"),
    ("เบอร์ 095-555-1234", "0955551234"),
    ("+66 81 234 5678", "0812345678"),
    ("+66812345678", "0812345678"),
    ("(+66) 81-234-5678", "0812345678"),
    ("+66 (0) 81 234 5678", "0812345678"),
    ("+66 2 123 4567", "021234567"),
    ("02-123-4567", "021234567"),
    ("(02) 123 4567 ต่อ 12", "021234567"),
    ("053 123 456", "053123456"),
    ("เบอร์บ้าน 074-123456", "074123456"),
    ("อายุ 72 โทร 0891234567", "0891234567"),
    # not phones
    ("โทร 1300 หรือ 191 หรือ 1669", None),
    ("1101700123456", None),
    ("1-1017-00123-45-7", None),
    ("PM-2569-000123", None),
    ("เลขบัญชี 068-1-23456-7", None),
    ("081234567", None),
    ("08123456789", None),
    ("0123456789", None),
    ("เลขพัสดุ TH0812345678", None),
    ("+1 415 555 0100", None),
    ("รายได้ 12,000 บาท", None),
    ("นัดวันที่ 12/05/2569 เวลา 08.30", None),
]


@pytest.mark.parametrize(("text", "phone"), PHONES)
def test_phone(text: str, phone: str | None) -> None:
    assert extract_entities(text).get("phone") == phone


def test_phone_and_id_side_by_side() -> None:
    found = extract_entities("1-1017-00123-45-6 0812345678")
    assert found == {"phone": "0812345678", "national_id": "1101700123456"}
    assert extract_entities("081 234 5678 089 876 5432")["phone"] == "0812345678"


# --- national IDs -----------------------------------------------------------------------------------------

NATIONAL_IDS: list[tuple[str, str | None]] = [
    ("1101700123456", "1101700123456"),
    ("เลขบัตร 1-1017-00123-45-6", "1101700123456"),
    ("1 1017 00123 45 6", "1101700123456"),
    ("3-1005-00123-45-8", "3100500123458"),
    ("เลขประชาชน ๑๑๐๑๗๐๐๑๒๓๔๕๖ ค่ะ", "1101700123456"),
    ("11017 00123 456", "1101700123456"),
    ("บัตร1101700123456ค่ะ", "1101700123456"),
    ("0123456789016", "0123456789016"),  # knowledge/SOURCES.md §15: IDs starting with 0 exist; do not reject them
    ("1101700123457", None),  # check digit wrong
    ("1-1017-00123-45-7", None),
    ("110170012345", None),  # 12 digits
    ("11017001234567", None),  # 14 digits
    ("โทร 081-234-5678", None),
]


@pytest.mark.parametrize(("text", "national_id"), NATIONAL_IDS)
def test_national_id(text: str, national_id: str | None) -> None:
    assert extract_entities(text).get("national_id") == national_id


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_ids_pass_the_checksum_and_every_wrong_check_digit_fails(value: str) -> None:
    assert is_valid_national_id(value)
    for digit in "0123456789":
        if digit != value[-1]:
            assert not is_valid_national_id(value[:-1] + digit)
            assert "national_id" not in extract_entities(value[:-1] + digit)


def test_module_never_logs() -> None:
    from pathlib import Path

    import bot.nlu.entities as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    assert "logging" not in source and "logger" not in source and "print(" not in source


@pytest.mark.parametrize(
    "text",
    ["9" * 1000, "รายได้ " + "9" * 400, "อายุ " + "หนึ่ง" * 300, "รายได้" + "สองหมื่น" * 200, "+" * 100 + "66", "กทม" * 2000],
)
def test_hostile_input_is_handled(text: str) -> None:
    extract_entities(text)
    redact(text)


# --- masking and redaction --------------------------------------------------------------------------------


def test_mask_national_id_shows_the_last_four_digits() -> None:
    assert mask_national_id("1101700123456") == "x-xxxx-xxxx3-45-6"
    assert mask_national_id("1-1017-00123-45-6") == "x-xxxx-xxxx3-45-6"
    assert mask_national_id("๑๑๐๑๗๐๐๑๒๓๔๕๖") == "x-xxxx-xxxx3-45-6"
    assert "1101700" not in mask_national_id("1101700123456")


def test_mask_phone_shows_the_last_four_digits() -> None:
    assert mask_phone("081-234-5678") == "xxx-xxx-5678"
    assert mask_phone("021234567") == "xx-xxx-4567"


def test_redact_masks_ids_and_phones_and_keeps_the_rest() -> None:
    text = "เลขบัตร 1-1017-00123-45-6 โทร 081-234-5678 เรื่อง PM-2569-000123 อายุ 72 รายได้ 3,000 สายด่วน 1300"
    assert redact(text) == (
        "เลขบัตร x-xxxx-xxxx3-45-6 โทร xxx-xxx-5678 เรื่อง PM-2569-000123 อายุ 72 รายได้ 3,000 สายด่วน 1300"
    )


def test_redact_handles_thai_digits_plus66_and_mistyped_ids() -> None:
    assert redact("บัตร ๑๑๐๑๗๐๐๑๒๓๔๕๖ ค่ะ") == "บัตร x-xxxx-xxxx3-45-6 ค่ะ"
    assert redact("call +66 81 234 5678 now") == "call xxx-xxx-5678 now"
    # a 13-digit number whose check digit fails is still someone's (mistyped) ID: masked in logs
    assert redact("1101700123457") == "x-xxxx-xxxx3-45-7"
    assert redact("ไม่มีเลขอะไรเลย") == "ไม่มีเลขอะไรเลย"
    for value in VALID_IDS:
        assert value not in redact(f"id {value} end")


# --- answers to a question the bot just asked ------------------------------------------------------------

ANSWERS: list[tuple[str, str, int | str | None]] = [
    ("72", "age", 72),
    ("เจ็ดสิบสองค่ะ", "age", 72),
    ("72 ปีค่ะ", "age", 72),
    ("๖๕", "age", 65),
    ("200", "age", None),
    ("5,000 บาท", "monthly_income", 5000),
    ("ประมาณห้าพันค่ะ", "monthly_income", 5000),
    ("วันละ 300", "monthly_income", 9000),
    ("ไม่มีค่ะ", "monthly_income", 0),
    ("ไม่แน่ใจค่ะ", "monthly_income", None),
    ("72 อยู่โคราช", "age", None),
    ("เลยค่ะ", "province", "เลย"),
    ("จ.ตาก", "province", "ตาก"),
    ("แพร่", "province", "แพร่"),
    ("โคราชค่ะ", "province", "นครราชสีมา"),
    ("ไม่ทราบค่ะ", "province", None),
]


@pytest.mark.parametrize(("text", "slot", "value"), ANSWERS)
def test_bare_answer_when_the_bot_asked(text: str, slot: Any, value: int | str | None) -> None:
    assert extract_entities(text, expect=slot).get(slot) == value
    if slot == "age" and text.isdigit():
        assert "age" not in extract_entities(text)  # without the question, a bare number is nothing


# --- provinces --------------------------------------------------------------------------------------------

PROVINCES: list[tuple[str, str | None]] = [
    ("อยู่โคราช", "นครราชสีมา"),
    ("อยู่ กทม. ค่ะ", "กรุงเทพมหานคร"),
    ("บ้านอยู่กรุงเทพฯ", "กรุงเทพมหานคร"),
    ("ทำงานที่บางกอก", "กรุงเทพมหานคร"),
    ("อยู่ bkk", "กรุงเทพมหานคร"),
    ("อยู่อยุธยา", "พระนครศรีอยุธยา"),
    ("อยู่อุบลค่ะ", "อุบลราชธานี"),
    ("ย้ายมาอยู่อุดร", "อุดรธานี"),
    ("อยู่นครศรีฯ", "นครศรีธรรมราช"),
    ("ชาวนครศรี", "นครศรีธรรมราช"),
    ("จ.นศ", "นครศรีธรรมราช"),
    ("อยู่สุราษฎร์", "สุราษฎร์ธานี"),
    ("อยู่สุราษ", "สุราษฎร์ธานี"),
    ("อยู่สุราษฏร์ธานี", "สุราษฎร์ธานี"),
    ("อยู่เมืองกาญ", "กาญจนบุรี"),
    ("อยู่กาญค่ะ", "กาญจนบุรี"),
    ("อยู่ปากน้ำ", "สมุทรปราการ"),
    ("อยู่ชลค่ะ", "ชลบุรี"),
    ("อยู่แปดริ้ว", "ฉะเชิงเทรา"),
    ("อยู่สุพรรณ", "สุพรรณบุรี"),
    ("อยู่ประจวบ", "ประจวบคีรีขันธ์"),
    ("อยู่อุตรดิษถ์", "อุตรดิตถ์"),
    ("อยู่ร้อย-เอ็ด", "ร้อยเอ็ด"),
    ("อยู่ร้อยเอ็ดค่ะ", "ร้อยเอ็ด"),
    ("ทำงานพัทยา", "ชลบุรี"),
    ("อยู่บางละมุง", "ชลบุรี"),
    ("อยู่หาดใหญ่", "สงขลา"),
    ("อยู่แม่สาย", "เชียงราย"),
    ("อยู่ อ.ฝาง", "เชียงใหม่"),
    ("อำเภอพล", "ขอนแก่น"),
    ("อยู่เขตจอมทอง", "กรุงเทพมหานคร"),
    ("อยู่อำเภอจอมทอง", "เชียงใหม่"),
    ("อยู่ลาดพร้าว", "กรุงเทพมหานคร"),
    ("อยู่ อ.เมือง จ.เชียงใหม่", "เชียงใหม่"),
    ("อยู่ศรีเชียงใหม่", "หนองคาย"),
    ("อยู่อุบลรัตน์", "ขอนแก่น"),
    ("อยู่กาญจนดิษฐ์", "สุราษฎร์ธานี"),
    ("อยู่พระนครศรีอยุธยา", "พระนครศรีอยุธยา"),
    ("อยู่หนองบัวลำพู", "หนองบัวลำภู"),
    ("อยู่ศรีษะเกษ", "ศรีสะเกษ"),
    ("อยู่จังหวัดเลย", "เลย"),
    ("อยู่ตากค่ะ", "ตาก"),
    ("อยู่แพร่", "แพร่"),
    ("อยู่ Chiang Mai", "เชียงใหม่"),
    ("from chiangmai", "เชียงใหม่"),
    ("I live in Korat", "นครราชสีมา"),
    ("Hat Yai", "สงขลา"),
    # several places: where someone lives (อยู่/บ้าน/จ./อำเภอ) first, the place they left (เคย/จาก) last
    ("อยู่โคราช แต่ลูกอยู่ จ.ขอนแก่น", "นครราชสีมา"),
    ("ย้ายจากโคราชมาอยู่ขอนแก่น", "ขอนแก่น"),
    ("เคยอยู่ภูเก็ต ตอนนี้ย้ายมาอยู่นนทบุรี", "นนทบุรี"),
    ("ไปทำงานกรุงเทพ แม่อยู่บ้านที่ศรีสะเกษคนเดียว", "ศรีสะเกษ"),
    ("ลูกเรียนเชียงใหม่ เคยอยู่ลำปาง", "เชียงใหม่"),
    # not provinces
    ("ไม่มีรายได้เลยค่ะ", None),
    ("ไปเลย", None),
    ("ตากผ้าอยู่", None),
    ("นอนตากฝน", None),
    ("เผยแพร่ข่าว", None),
    ("รอนานมาก", None),
    ("กระทรวงการพัฒนาสังคมและความมั่นคงของมนุษย์", None),
    ("เงินเข้าธนาคารกรุงเทพไหม", None),
    ("ไปหาหมอที่ รพ.กรุงเทพ", None),
    ("บ้านอยู่ถนนเพชรบุรี", None),
    ("ต.หนองบัว", None),
    ("อยู่อำเภอเมือง", None),
    ("อำเภอเฉลิมพระเกียรติ", None),
    ("ลูกสองพี่น้อง", None),
    ("มะพร้าวน้ำหอม", None),
    ("ถ้าอากาศอำนวยจะไป", None),
    ("ค่าเช่าร้อยเอ็ดบาท", None),
    ("อายุร้อยเอ็ดปี", None),
    ("อยากได้บ้านแพง", None),
    ("ผมสอง คนครับ", None),
    ("แม่อายุ 70", None),
    ("ประจวบกับช่วงนี้ตกงาน", None),
    ("ป้าอุบลใจดี", None),
    ("ชลประทาน", None),
    ("อพม.บ้านโคกแจ้งเคส", None),  # a village, not the district บ้านโคก (อุตรดิตถ์)
    ("อยู่บ้านหนองแค", None),
    ("อยู่อำเภอบ้านโคก", "อุตรดิตถ์"),
    ("กองทุนผู้สูงอายุ อัตราดอกเบี้ยเท่าไหร่", None),  # อัตราดอกเบี้ย holds ตราด
    ("ทะเลาะเบาะแว้งกับสามี", None),
    ("สถานบันเทิง", None),
    ("มีที่พักสำหรับคนไร้บ้านไหมครับ", None),
]


@pytest.mark.parametrize(("text", "province"), PROVINCES)
def test_province(text: str, province: str | None) -> None:
    assert extract_entities(text).get("province") == province


def test_there_are_77_official_provinces() -> None:
    names = geography.province_names()
    assert len(names) == 77 == len(set(names))
    assert names[0] == "กรุงเทพมหานคร"


@pytest.mark.parametrize("name", geography.province_names())
def test_every_province_by_its_official_name(name: str) -> None:
    assert extract_entities(f"อยู่จังหวัด{name}ค่ะ").get("province") == name
    assert extract_entities(f"จ.{name}").get("province") == name
    assert geography.canonical_province(name) == name
    if name not in ("เลย", "ตาก", "แพร่"):  # everyday words: they need จ./จังหวัด or อยู่/ที่/จาก before them
        assert extract_entities(f"บ้านอยู่{name} ช่วยด้วย").get("province") == name
        assert extract_entities(f"ครอบครัวเราย้ายมาจาก{name}นานแล้ว").get("province") == name


TONELESS: list[tuple[str, str]] = [
    ("อยู่เชียงใหม", "เชียงใหม่"),
    ("อยู่ขอนแกน", "ขอนแก่น"),
    ("อยู่กาฬสินธ", "กาฬสินธุ์"),
    ("อยู่อางทอง", "อ่างทอง"),
    ("อยู่สุราษฎรธานี", "สุราษฎร์ธานี"),
    ("อยู่ภูเกต", "ภูเก็ต"),
    ("อยู่หาดใหญ", "สงขลา"),
    ("อยู่เชียงใหม้", "เชียงใหม่"),
]


@pytest.mark.parametrize(("text", "province"), TONELESS)
def test_names_without_tone_marks(text: str, province: str) -> None:
    assert extract_entities(text).get("province") == province


def test_toneless_short_names_do_not_match_everyday_words() -> None:
    assert "province" not in extract_entities("รอนานแล้ว")  # นาน is not น่าน
    assert "province" not in extract_entities("โดนแกลงที่โรงเรียน")  # a typo of แกล้ง, not the district แกลง
    assert "province" not in extract_entities("ลูกนางร้องไห้ทั้งคืน")  # ร้อง has a mark that นางรอง does not
    assert "province" not in extract_entities("ใส่หมวกเหล็ก")  # ห leads ม: not the district มวกเหล็ก


def test_english_province_names() -> None:
    assert geography.canonical_province("Chiang Mai") == "เชียงใหม่"
    assert geography.canonical_province("korat") == "นครราชสีมา"
    assert geography.canonical_province("โคราช") == "นครราชสีมา"
    assert geography.canonical_province("หาดใหญ่") is None  # a district, not a province name
    assert extract_entities("I am from Ubon Ratchathani").get("province") == "อุบลราชธานี"
    assert extract_entities("Nan").get("province") is None  # too short to trust alone


# --- the alias file ---------------------------------------------------------------------------------------


def test_alias_file_is_valid() -> None:
    data = geography.load_alias_file()
    official = set(geography.province_names())
    assert data["aliases"], "the alias file lists no aliases"
    assert set(data["aliases"].values()) <= official
    assert {"กทม", "โคราช", "อยุธยา", "อุบล", "อุดร", "พัทยา", "แปดริ้ว"} <= set(data["aliases"])


def test_every_alias_resolves() -> None:
    data = geography.load_alias_file()
    for alias, target in data["aliases"].items():
        assert geography.canonical_province(alias) == target, alias
        message = f"I live in {alias} now" if alias.isascii() else f"บ้านอยู่{alias} ค่ะ"
        found = extract_entities(message)
        expected = None if alias in data["needs_prefix"] else target
        assert found.get("province") == expected, alias


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aliases:\n  โคราช: นครราชสีมาา\n", "not official province names"),
        ("aliases:\n  ขอนแก่น: อุดรธานี\n", "another province's official name"),
        ("aliases: {}\nneeds_prefix: [ไม่มีที่นี่]\n", "no province, district or alias"),
        ("aliases: {}\nneeds_prefix: [ตาก]\nneeds_context: [ตาก]\n", "both"),
        ("aliasses: {}\n", "expected the keys"),
        ("aliases: [โคราช]\n", "must map"),
    ],
)
def test_alias_file_validation_rejects_mistakes(text: str, message: str) -> None:
    with pytest.raises(geography.AliasFileError, match=message):
        geography.load_alias_file(text)
