"""Which office to contact: the provincial office (พมจ.) of the person's province, or Bangkok's routing."""

from __future__ import annotations

from dataclasses import replace

from handlers.base import Outcome, TextReply, Turn
from knowledge.loader import Button, Knowledge

name = "contact"
FLOW = "contact"
ASK_PROVINCE = "อยู่จังหวัดไหนคะ พิมพ์ชื่อจังหวัดมาได้เลย (เช่น โคราช อุดร หาดใหญ่)"


def office_text(province: str, knowledge: Knowledge) -> str:
    offices = knowledge.offices
    office = offices.office_name(province)
    if office is None:
        routes = "\n".join(f"• {route.topic}: {route.where}" for route in offices.bangkok.routes)
        return f"{offices.bangkok.note}\n{routes}"
    short = offices.provincial_office.short.format(province=province)
    return (
        f"{office} ({short})\nดูแลเรื่อง{offices.provincial_office.handles}\n"
        f"เบอร์โทรและที่อยู่ของ {short} สอบถามได้ที่สายด่วน 1300 ตลอด 24 ชั่วโมงค่ะ"
    )


def accepts(turn: Turn) -> bool:
    return isinstance(turn.understanding.entities.get("province"), str)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    province = turn.understanding.entities.get("province")
    menu = tuple(knowledge.replies.main_menu)
    if isinstance(province, str):
        return Outcome([TextReply(office_text(province, knowledge), menu)])
    buttons = (Button(label="กรุงเทพฯ", text="กรุงเทพ"), Button(label="ยกเลิก", text="ยกเลิก"))
    state = replace(turn.state, form=FLOW, requested_slot="province", slots={})
    return Outcome([TextReply(ASK_PROVINCE, buttons)], state=state)
