"""An in-memory `handlers.base.TicketPort` for handler tests: the same Protocol as storage's SqlTicketPort,
bound to one person, with a shared store so another person's tickets exist and stay invisible."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from handlers.base import REOPEN_DAYS, NewTicket, TicketView

OPEN_STATUSES = ("new", "acknowledged", "in_progress", "waiting_citizen")


@dataclass
class FakeTicket:
    id: str
    line_user_id: str
    ticket: NewTicket
    status: str = "new"
    created_at: float = 0.0
    resolved_at: float | None = None
    held: bool = False  # a handoff an officer holds
    source_event_id: str | None = None
    messages: list[tuple[str | None, int | None]] = field(default_factory=list)  # the citizen's additions
    public_updates: list[tuple[float, str]] = field(default_factory=list)
    satisfaction: int | None = None
    comment: str | None = None
    events: list[str] = field(default_factory=list)

    def view(self) -> TicketView:
        last = self.public_updates[-1] if self.public_updates else None
        return TicketView(
            id=self.id,
            kind=self.ticket.kind,
            status=self.status,
            urgency=self.ticket.urgency,
            province=self.ticket.province,
            created_at=self.created_at,
            last_public_update=last[1] if last else None,
            last_public_at=last[0] if last else None,
            resolved_at=self.resolved_at,
            summary=self.ticket.summary,
        )


@dataclass
class FakeTicketStore:
    tickets: dict[str, FakeTicket] = field(default_factory=dict)
    year_be: int = 2569
    last_value: int = 0

    def next_id(self) -> str:
        self.last_value += 1
        return f"PM-{self.year_be}-{self.last_value:06d}"


class FakeTicketPort:
    """The port bound to `line_user_id`; `event_id` plays the webhook event a real turn carries."""

    def __init__(self, line_user_id: str = "U-fake", store: FakeTicketStore | None = None) -> None:
        self.line_user_id = line_user_id
        self.store = store if store is not None else FakeTicketStore()
        self.event_id: str | None = None
        self.now: float | None = None  # None: the wall clock

    # --- the Protocol -------------------------------------------------------------------------------

    def open(self, ticket: NewTicket) -> str:
        if self.event_id is not None:
            for existing in self.store.tickets.values():
                if existing.source_event_id == self.event_id:
                    return existing.id  # a redelivered event: the ticket it already made
        ticket_id = self.store.next_id()
        self.store.tickets[ticket_id] = FakeTicket(
            id=ticket_id,
            line_user_id=self.line_user_id,
            ticket=ticket,
            created_at=self._now() + len(self.store.tickets) * 1e-3,  # newest first stays stable
            source_event_id=self.event_id,
        )
        return ticket_id

    def mine(self, limit: int = 5) -> list[TicketView]:
        own = [t for t in self.store.tickets.values() if t.line_user_id == self.line_user_id]
        own.sort(key=lambda t: t.created_at, reverse=True)
        return [t.view() for t in own[:limit]]

    def find(self, ticket_id: str) -> TicketView | None:
        found = self._own(ticket_id)
        return found.view() if found else None

    def add_message(self, ticket_id: str, text: str | None, attachment_id: int | None = None) -> bool:
        found = self._own(ticket_id)
        if found is None or found.status == "closed":
            return False
        found.messages.append((text, attachment_id))
        if found.status == "waiting_citizen":
            found.status = "in_progress"  # the citizen's reply resumes the work
        return True

    def withdraw(self, ticket_id: str) -> bool:
        found = self._own(ticket_id)
        if found is None or found.status not in OPEN_STATUSES:
            return False
        found.status = "closed"
        found.events.append("withdrawn")
        return True

    def held_handoff(self) -> TicketView | None:
        for ticket in self.store.tickets.values():
            if (
                ticket.line_user_id == self.line_user_id
                and ticket.held
                and ticket.ticket.kind == "handoff"
                and ticket.status in OPEN_STATUSES
            ):
                return ticket.view()
        return None

    def rate(self, ticket_id: str, score: int, comment: str | None = None) -> bool:
        found = self._own(ticket_id)
        if found is None or found.status not in ("resolved", "closed") or not 1 <= score <= 5:
            return False
        found.satisfaction = score
        if comment:
            found.comment = comment
        return True

    def reopen(self, ticket_id: str, text: str | None = None) -> bool:
        found = self._own(ticket_id)
        if found is None or found.status != "resolved" or found.resolved_at is None:
            return False
        if self._now() - found.resolved_at > REOPEN_DAYS * 86400:
            return False
        found.status = "in_progress"
        found.events.append("reopened")
        if text:
            found.messages.append((text, None))
        return True

    # --- for tests: what officers and jobs would do -------------------------------------------------

    def as_user(self, line_user_id: str) -> FakeTicketPort:
        other = FakeTicketPort(line_user_id, self.store)
        other.now = self.now
        return other

    def get(self, ticket_id: str) -> FakeTicket:
        return self.store.tickets[ticket_id]

    def all(self) -> list[FakeTicket]:
        return list(self.store.tickets.values())

    def set_status(self, ticket_id: str, status: str, update: str | None = None, at: float | None = None) -> None:
        ticket = self.store.tickets[ticket_id]
        ticket.status = status
        when = at if at is not None else self._now()
        if status == "resolved":
            ticket.resolved_at = when
        if update:
            ticket.public_updates.append((when, update))

    def hold(self, ticket_id: str, held: bool = True) -> None:
        self.store.tickets[ticket_id].held = held

    def details(self, ticket_id: str) -> dict[str, Any]:
        return dict(self.store.tickets[ticket_id].ticket.details)

    def new_ticket(self, ticket_id: str) -> NewTicket:
        return replace(self.store.tickets[ticket_id].ticket)

    def _own(self, ticket_id: str) -> FakeTicket | None:
        found = self.store.tickets.get(ticket_id)
        return found if found is not None and found.line_user_id == self.line_user_id else None

    def _now(self) -> float:
        return self.now if self.now is not None else time.time()
