"""Every table, imported in one place so Alembic and tests see the whole schema."""

from storage.attachments import Attachment
from storage.base import Base
from storage.conversations import ConversationMessage
from storage.dialogue import DialogueStateRow
from storage.events import InboxEvent, ProcessedEvent
from storage.officers import AuditEntry, Officer, OfficerProvince
from storage.outbox import OutboxMessage
from storage.privacy import ErasureRecord
from storage.tickets import (
    Collaborator,
    Office,
    Referral,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketSequence,
    Transfer,
)
from storage.users import ConsentRecord, LineUser

__all__ = [
    "Attachment",
    "AuditEntry",
    "Base",
    "Collaborator",
    "ConsentRecord",
    "ConversationMessage",
    "DialogueStateRow",
    "ErasureRecord",
    "InboxEvent",
    "LineUser",
    "Office",
    "Officer",
    "OfficerProvince",
    "OutboxMessage",
    "ProcessedEvent",
    "Referral",
    "Ticket",
    "TicketAttachment",
    "TicketEvent",
    "TicketSequence",
    "Transfer",
]
