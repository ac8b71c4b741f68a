"""The handlers' ticket port (`handlers.base.TicketPort`) on SQL, bound to one person and the turn's session.

Handlers never see SQL: the turn gets `SqlTicketPort(db_session, line_user_id, source_event_id, key, now)`
(`bot/processing.py`), and tests get `tests/support/fake_tickets.py: FakeTicketPort` with the same behaviour.
Everything happens in the turn's transaction: a turn that fails opens no ticket and spends no number.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handlers.base import REOPEN_DAYS, NewTicket, TicketView
from storage import tickets
from storage.tickets import Status, Ticket


class SqlTicketPort:
    """What a handler may do with the tickets of the person of the turn."""

    def __init__(
        self, db_session: Session, line_user_id: str, source_event_id: str | None, key: str | None, now: datetime
    ) -> None:
        self.db_session = db_session
        self.line_user_id = line_user_id
        self.source_event_id = source_event_id
        self.key = key  # SECRET_KEY, for the phone number's encryption
        self.now = now

    def open(self, ticket: NewTicket) -> str:
        """The new ticket's ID; the same ID again for the same webhook event (a redelivery)."""
        province_code = tickets.office_code(db_session=self.db_session, province=ticket.province)
        location = asdict(ticket.location) if ticket.location is not None else None
        row = tickets.open_ticket(
            db_session=self.db_session,
            kind=ticket.kind,
            summary=ticket.summary,
            details=ticket.details,
            urgency=ticket.urgency,
            province_code=province_code,
            line_user_id=self.line_user_id,
            location=location,
            phone=ticket.phone,
            secret_key=self.key,
            contact_consent=ticket.contact_consent,
            legal_basis=ticket.legal_basis,
            attachment_ids=ticket.attachment_ids,
            source_event_id=self.source_event_id,
            actor="citizen",
            now=self.now,
        )
        return row.id

    def mine(self, limit: int = 5) -> list[TicketView]:
        rows = tickets.citizen_tickets(db_session=self.db_session, line_user_id=self.line_user_id, limit=limit)
        return [self._view(row) for row in rows]

    def find(self, ticket_id: str) -> TicketView | None:
        row = self._own(ticket_id)
        return self._view(row) if row is not None else None

    def add_message(self, ticket_id: str, text: str | None, attachment_id: int | None = None) -> bool:
        row = self._own(ticket_id)
        if row is None or row.status is Status.closed or (not text and attachment_id is None):
            return False
        tickets.citizen_message(
            db_session=self.db_session, ticket=row, text=text, attachment_id=attachment_id, now=self.now
        )
        return True

    def withdraw(self, ticket_id: str) -> bool:
        row = self._own(ticket_id)
        if row is None:
            return False
        return tickets.withdraw(db_session=self.db_session, ticket=row, now=self.now)

    def held_handoff(self) -> TicketView | None:
        """The person's open handoff ticket an officer holds (assigned, and not past `handoff_until`)."""
        row = tickets.held_handoff(db_session=self.db_session, line_user_id=self.line_user_id, now=self.now)
        return self._view(row) if row is not None else None

    def rate(self, ticket_id: str, score: int, comment: str | None = None) -> bool:
        row = self._own(ticket_id)
        if row is None:
            return False
        return tickets.citizen_rating(
            db_session=self.db_session, ticket=row, score=score, comment=comment, now=self.now
        )

    def reopen(self, ticket_id: str, text: str | None = None) -> bool:
        row = self._own(ticket_id)
        if row is None:
            return False
        window = timedelta(days=REOPEN_DAYS)
        return tickets.citizen_reopen(db_session=self.db_session, ticket=row, window=window, text=text, now=self.now)

    # --- helpers ---------------------------------------------------------------------------------------

    def _own(self, ticket_id: str) -> Ticket | None:
        return tickets.citizen_ticket(db_session=self.db_session, line_user_id=self.line_user_id, ticket_id=ticket_id)

    def _view(self, row: Ticket) -> TicketView:
        last = tickets.last_public_update(db_session=self.db_session, ticket=row)
        return TicketView(
            id=row.id,
            kind=row.kind.value,
            status=row.status.value,
            urgency=row.urgency.value,
            province=row.province_name,
            created_at=row.created_at.timestamp(),
            last_public_update=tickets.describe_th(last) if last is not None else None,
            last_public_at=last.at.timestamp() if last is not None else None,
            resolved_at=row.resolved_at.timestamp() if row.resolved_at is not None else None,
            summary=row.summary,
        )
