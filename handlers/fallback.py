"""What we did not understand, and topics whose full answers are still to come."""

from __future__ import annotations

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Knowledge

name = "fallback"

# Thai names of intents whose capability is not built yet, for an honest routing answer.
TOPIC_THAI: dict[str, str] = {
    "elderly_allowance": "เบี้ยยังชีพผู้สูงอายุ",
    "disability_allowance": "เบี้ยความพิการ",
    "disability_card": "บัตรคนพิการ",
    "child_support_grant": "เงินอุดหนุนเด็กแรกเกิด",
    "welfare_card": "บัตรสวัสดิการแห่งรัฐ",
    "emergency_cash": "เงินสงเคราะห์",
    "funeral_assistance": "เงินช่วยจัดการศพผู้สูงอายุ",
    "elderly_fund_loan": "กู้ยืมกองทุนผู้สูงอายุ",
    "disability_fund_loan": "กู้ยืมกองทุนคนพิการ",
    "home_adaptation": "ปรับสภาพบ้าน",
    "housing": "ที่อยู่อาศัย",
    "homeless_shelter": "ที่พักคนไร้ที่พึ่ง",
    "eligibility_check": "เช็คสิทธิ",
    "complaint": "ร้องเรียน",
    "request_help": "ขอความช่วยเหลือ",
    "report_case": "แจ้งเคส",
    "ticket_status": "ติดตามเรื่อง",
    "talk_to_officer": "คุยกับเจ้าหน้าที่",
    "contact_office": "ติดต่อสำนักงาน",
}


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    replies = knowledge.replies
    topic = TOPIC_THAI.get(turn.understanding.intent)
    text = replies.routing_pending.format(topic=topic) if topic is not None else replies.fallback
    return Outcome([TextReply(text, tuple(replies.main_menu))])
