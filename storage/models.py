"""Every table, imported in one place so Alembic and tests see the whole schema."""

from storage.attachments import Attachment
from storage.base import Base
from storage.conversations import ConversationMessage
from storage.dialogue import DialogueStateRow
from storage.events import InboxEvent, ProcessedEvent
from storage.officers import AuditEntry, Officer, OfficerProvince
from storage.outbox import OutboxMessage
from storage.privacy import ErasureRecord
from storage.users import ConsentRecord, LineUser

__all__ = [
    "Attachment",
    "AuditEntry",
    "Base",
    "ConsentRecord",
    "ConversationMessage",
    "DialogueStateRow",
    "ErasureRecord",
    "InboxEvent",
    "LineUser",
    "Officer",
    "OfficerProvince",
    "OutboxMessage",
    "ProcessedEvent",
]
