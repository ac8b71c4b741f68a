"""The API's JSON shapes: a ticket (DESIGN.md "Tickets over the API"), its history, transfers, referrals.

A ticket never carries the citizen's LINE user ID or the phone number in clear: `phone` is the masked form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from storage import tickets
from storage.officers import province_name

TEXT_LIMIT = 5000  # LINE's limit for one text message


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_json(ticket: tickets.Ticket, *, now: datetime, assignee: str | None) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "kind": ticket.kind.value,
        "status": ticket.status.value,
        "urgency": ticket.urgency.value,
        "province": ticket.province_name,  # None: the central queue
        "province_code": ticket.province_code,
        "summary": ticket.summary,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "due_at": _iso(ticket.due_at),
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "resolution_due_at": _iso(ticket.resolution_due_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "sla_paused": ticket.sla_paused_at is not None,
        "overdue": tickets.is_overdue(ticket, now),
        "assignee": assignee,
        "phone": ticket.phone_masked,
        "contact_consent": ticket.contact_consent,
    }


def event_json(event: tickets.TicketEvent) -> dict[str, Any]:
    data = dict(event.data or {})
    for key in ("from", "to", "province"):  # province codes (2 digits) read as official names
        value = data.get(key)
        if isinstance(value, str) and len(value) == 2 and value.isdigit():
            data[key] = province_name(value) or value
    return {
        "id": event.id,
        "type": event.type,
        "at": _iso(event.at),
        "actor": event.actor,
        "visibility": event.visibility.value,
        "data": data,
    }


def transfer_json(transfer: tickets.Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "ticket_id": transfer.ticket_id,
        "status": transfer.status.value,
        "from_province": province_name(transfer.from_province) if transfer.from_province else None,
        "to_province": province_name(transfer.to_province) or transfer.to_province,
        "reason": transfer.reason,
        "answer_reason": transfer.answer_reason,
        "created_at": _iso(transfer.created_at),
        "expires_at": _iso(transfer.expires_at),
        "answered_at": _iso(transfer.answered_at),
    }


def referral_json(referral: tickets.Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "ticket_id": referral.ticket_id,
        "agency": referral.agency,
        "note": referral.note,
        "status": referral.status.value,
        "basis": referral.basis,
        "created_at": _iso(referral.created_at),
        "updated_at": _iso(referral.updated_at),
    }


class TicketPatch(BaseModel):
    status: str | None = None
    assignee: str | None = Field(default=None, description="an officer's username; null to unassign")


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=TEXT_LIMIT)


class TransferIn(BaseModel):
    to_province: str = Field(min_length=1, description="official Thai name or 2-digit province code")
    reason: str = Field(default="", max_length=2000)


class AnswerIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class ReferralIn(BaseModel):
    agency: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=4000)
    basis: str | None = Field(
        default=None,
        description='"consent" or "legal:<reason>"; when absent, the consent or legal basis the ticket recorded',
    )


class ReferralPatch(BaseModel):
    status: str
    note: str | None = None


class CollaboratorIn(BaseModel):
    province: str = Field(min_length=1, description="official Thai name or 2-digit province code")
