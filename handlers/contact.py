"""Which office to contact: the provincial office (พมจ.) of the person's province, or Bangkok's routing."""

from __future__ import annotations

from typing import Any

from handlers import forms
from handlers.base import Outcome, Reply, TextReply, Turn
from knowledge.loader import Button, Knowledge

name = "contact"
FLOW = "contact"


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


def extract(turn: Turn, slots: dict[str, Any]) -> dict[str, Any]:
    province = turn.understanding.entities.get("province")
    return {"province": province} if isinstance(province, str) else {}


def finish(turn: Turn, slots: dict[str, Any], knowledge: Knowledge) -> list[Reply]:
    province = slots.get("province")
    menu = tuple(knowledge.replies.main_menu)
    if not isinstance(province, str) or province == forms.UNSURE_VALUE:
        return [TextReply("ไม่เป็นไรค่ะ สอบถามสายด่วน 1300 ได้ตลอด 24 ชั่วโมง เจ้าหน้าที่จะบอกสำนักงานที่ใกล้ที่สุดให้ค่ะ", menu)]
    return [TextReply(office_text(province, knowledge), menu)]


FORM = forms.Form(
    name=FLOW,
    intro="",
    slots=(
        forms.Slot(
            "province",
            "province",
            "อยู่จังหวัดไหนคะ พิมพ์ชื่อจังหวัดมาได้เลย (เช่น โคราช อุดร หาดใหญ่)",
            (Button(label="กรุงเทพฯ", text="กรุงเทพ"), Button(label="ยกเลิก", text="ยกเลิก")),
        ),
    ),
    finish=finish,
    extract=extract,
    intents=frozenset({"contact_office"}),
)


def accepts(turn: Turn) -> bool:
    return forms.accepts(FORM, turn)


def handle(turn: Turn, knowledge: Knowledge) -> Outcome:
    return forms.run(FORM, turn, knowledge)
