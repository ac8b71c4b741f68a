"""An in-memory `handlers.base.TicketPort` for handler tests, with `SqlTicketPort`'s behaviour.

    port = FakeTicketPort("U1")
    turn = Turn(..., tickets=port)
    ticket_id = port.open(NewTicket(kind="complaint", summary="..."))   # PM-2569-000001
    port.tickets[ticket_id].status                                        # "new"
    port.officer_holds(ticket_id)                                         # for handoff tests

One `FakeTicketPort` is one person; give several ports the same `FakeTicketStore` to share the numbering and
tickets between people (another person's ticket is invisible to `find`, as on SQL). The same webhook event
(`source_event_id`) opens one ticket only; `tests/test_tickets.py` runs the same scenarios on both ports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import geothai

from handlers.base import REOPEN_DAYS, NewTicket, TicketView
from storage.tickets import OPEN_STATUSES, STATUS_TH, TRANSITIONS, Status, mask_phone, year_be


@cache
def _official_names() -> frozenset[str]:
    """The offices' names (the migration seeds the same list): an unknown name goes to the central queue."""
    return frozenset(p.name_th for p in geothai.provinces())


@dataclass
class FakeTicket:
    id: str
    line_user_id: str
    kind: str
    summary: str
    details: dict[str, Any]
    urgency: str
    province: str | None
    phone_masked: str | None
    contact_consent: bool
    legal_basis: str | None
    attachment_ids: list[int]
    source_event_id: str | None
    created_at: float
    status: str = "new"
    assignee: str | None = None
    handoff_until: float | None = None
    location: dict[str, Any] | None = None
    resolved_at: float | None = None
    satisfaction: int | None = None
    comment: str | None = None
    # (type, at, actor, visibility, data): the same event types as storage.tickets.
    events: list[tuple[str, float, str, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class FakeTicketStore:
    tickets: dict[str, FakeTicket] = field(default_factory=dict)
    last_number: int = 0


class FakeTicketPort:
    def __init__(
        self,
        line_user_id: str = "U-test",
        *,
        store: FakeTicketStore | None = None,
        source_event_id: str | None = None,
        now: float | None = None,
    ) -> None:
        self.line_user_id = line_user_id
        self.store = store or FakeTicketStore()
        self.source_event_id = source_event_id
        self.now = now if now is not None else time.time()

    @property
    def tickets(self) -> dict[str, FakeTicket]:
        return self.store.tickets

    # --- the port -----------------------------------------------------------------------------------

    def open(self, ticket: NewTicket) -> str:
        if self.source_event_id is not None:
            for existing in self.store.tickets.values():
                if existing.source_event_id == self.source_event_id:
                    return existing.id
        self.store.last_number += 1
        ticket_id = f"PM-{year_be(datetime.fromtimestamp(self.now, UTC))}-{self.store.last_number:06d}"
        location = None
        if ticket.location is not None:
            location = dict(ticket.location.__dict__)
        row = FakeTicket(
            id=ticket_id,
            line_user_id=self.line_user_id,
            kind=ticket.kind,
            summary=ticket.summary,
            details=dict(ticket.details),
            urgency=ticket.urgency,
            province=ticket.province if ticket.province in _official_names() else None,
            phone_masked=mask_phone(ticket.phone) if ticket.phone else None,
            contact_consent=ticket.contact_consent,
            legal_basis=ticket.legal_basis,
            attachment_ids=list(dict.fromkeys(ticket.attachment_ids)),
            source_event_id=self.source_event_id,
            created_at=self.now,
            location=location,
        )
        row.events.append(("opened", self.now, "citizen", "public", {"kind": ticket.kind}))
        self.store.tickets[ticket_id] = row
        return ticket_id

    def mine(self, limit: int = 5) -> list[TicketView]:
        own = [t for t in self.store.tickets.values() if t.line_user_id == self.line_user_id]
        own.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        return [self._view(t) for t in own[:limit]]

    def find(self, ticket_id: str) -> TicketView | None:
        row = self._own(ticket_id)
        return self._view(row) if row is not None else None

    def add_message(self, ticket_id: str, text: str | None, attachment_id: int | None = None) -> bool:
        row = self._own(ticket_id)
        if row is None or row.status == "closed" or (not text and attachment_id is None):
            return False
        data: dict[str, Any] = {}
        if text:
            data["text"] = text
        if attachment_id is not None:
            data["attachment_id"] = attachment_id
            if attachment_id not in row.attachment_ids:
                row.attachment_ids.append(attachment_id)
        row.events.append(("citizen_message", self.now, "citizen", "public", data))
        if row.status == "waiting_citizen":
            self._set_status(row, "in_progress", "citizen")
        return True

    def withdraw(self, ticket_id: str) -> bool:
        row = self._own(ticket_id)
        if row is None or row.status == "closed":
            return False
        row.events.append(("withdrawn", self.now, "citizen", "public", {}))
        self._set_status(row, "closed", "citizen")
        return True

    def held_handoff(self) -> TicketView | None:
        held = [
            t
            for t in self.store.tickets.values()
            if t.line_user_id == self.line_user_id
            and t.kind == "handoff"
            and t.status in OPEN_STATUSES
            and t.assignee is not None
        ]
        held.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        if not held or held[0].handoff_until is None or held[0].handoff_until <= self.now:
            return None  # as storage.tickets.held_handoff: assigned and the hold not run out
        return self._view(held[0])

    def rate(self, ticket_id: str, score: int, comment: str | None = None) -> bool:
        row = self._own(ticket_id)
        if row is None or row.status not in ("resolved", "closed") or not 1 <= score <= 5:
            return False
        row.satisfaction = score
        data: dict[str, Any] = {"score": score}
        if comment:
            row.comment = comment
            data["comment"] = comment
        row.events.append(("satisfaction", self.now, "citizen", "internal", data))
        return True

    def reopen(self, ticket_id: str, text: str | None = None) -> bool:
        row = self._own(ticket_id)
        if row is None or row.status != "resolved" or row.resolved_at is None:
            return False
        if self.now - row.resolved_at > REOPEN_DAYS * 86400:
            return False
        self._set_status(row, "in_progress", "citizen")
        if text:
            row.events.append(("citizen_message", self.now, "citizen", "public", {"text": text}))
        return True

    # --- what officers do, for tests ------------------------------------------------------------------

    def set_status(self, ticket_id: str, status: str, actor: str = "officer:test") -> None:
        """Move a ticket as an officer would (ValueError for a transition the status machine refuses)."""
        self._set_status(self.store.tickets[ticket_id], status, actor)

    def officer_message(self, ticket_id: str, text: str, actor: str = "officer:test") -> None:
        self.store.tickets[ticket_id].events.append(("message", self.now, actor, "public", {"text": text}))

    def officer_holds(self, ticket_id: str, officer: str = "officer:test", until: float | None = None) -> None:
        """Assigning a handoff holds the chat for storage.tickets.HANDOFF_HOLD (30 minutes)."""
        row = self.store.tickets[ticket_id]
        row.assignee = officer
        row.handoff_until = until if until is not None else self.now + 30 * 60

    # --- helpers --------------------------------------------------------------------------------------

    def _set_status(self, row: FakeTicket, status: str, actor: str) -> None:
        if Status(status) not in TRANSITIONS[Status(row.status)]:
            raise ValueError(f"status {row.status} cannot change to {status}")
        data: dict[str, Any] = {"from": row.status, "to": status}
        if status == "resolved":
            row.resolved_at = self.now
        elif row.status == "resolved" and status == "in_progress":
            row.resolved_at = None
            data["reopened"] = True
        row.events.append(("status_changed", self.now, actor, "public", data))
        row.status = status

    def _own(self, ticket_id: str) -> FakeTicket | None:
        row = self.store.tickets.get(ticket_id.strip().upper())
        return row if row is not None and row.line_user_id == self.line_user_id else None

    def _view(self, row: FakeTicket) -> TicketView:
        public = [e for e in row.events if e[3] == "public" and e[0] in ("opened", "status_changed", "message")]
        last = public[-1] if public else None
        text: str | None = None
        if last is not None:
            kind, _, _, _, data = last
            if kind == "message":
                text = str(data.get("text") or "")
            elif kind == "status_changed":
                text = STATUS_TH.get(str(data["to"]), str(data["to"]))
            else:
                text = STATUS_TH["new"]
        return TicketView(
            id=row.id,
            kind=row.kind,
            status=row.status,
            urgency=row.urgency,
            province=row.province,
            created_at=row.created_at,
            last_public_update=text,
            last_public_at=last[1] if last is not None else None,
            resolved_at=row.resolved_at,
            summary=row.summary,
        )
