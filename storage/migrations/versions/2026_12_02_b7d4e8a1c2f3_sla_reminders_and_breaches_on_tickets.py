"""SLA jobs: a ticket's pending reminder times and when its breaches were recorded

The job runner (bot/jobs.py, storage/sla_jobs.py) finds due reminders by `*_remind_at <= now` (NULL once sent)
and records each breach once, setting `*_breached_at` under the row lock (`FOR UPDATE SKIP LOCKED`).

Revision ID: b7d4e8a1c2f3
Revises: 7a1f0c3b9d21
Create Date: 2026-12-02 11:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d4e8a1c2f3'
down_revision = '7a1f0c3b9d21'
branch_labels = None
depends_on = None

COLUMNS = ('first_response_remind_at', 'resolution_remind_at', 'first_response_breached_at', 'resolution_breached_at')


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_first_response_remind_at'), ['first_response_remind_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_resolution_remind_at'), ['resolution_remind_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_resolution_remind_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_first_response_remind_at'))
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
