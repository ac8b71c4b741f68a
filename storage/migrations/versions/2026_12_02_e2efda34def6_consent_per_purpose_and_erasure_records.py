"""consent per purpose and erasure records

line_users.consent_state stays the general purpose's current state (every existing decision was about using
the service) and gains sensitive_consent_state beside it: a turn loads the user row anyway, so both states cost
no extra query. consent_records (the append-only proof) gains the purpose; existing rows become "general".
erasure_records proves an erasure request was honoured (a date and counts, no content).

Revision ID: e2efda34def6
Revises: 9c3e51d7a2b4
Create Date: 2026-12-02 10:13:43.071015
"""
from alembic import op
import sqlalchemy as sa


revision = 'e2efda34def6'
down_revision = '9c3e51d7a2b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasure_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('attachments', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['line_users.id'], name=op.f('fk_erasure_records_user_id_line_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_records'))
    )
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_records_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.Enum('general', 'sensitive', name='consentpurpose', native_enum=False, length=16), server_default='general', nullable=False))

    with op.batch_alter_table('line_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sensitive_consent_state', sa.Enum('unknown', 'given', 'declined', 'withdrawn', name='consentstate', native_enum=False, length=16), server_default='unknown', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('line_users', schema=None) as batch_op:
        batch_op.drop_column('sensitive_consent_state')

    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_column('purpose')

    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_records_user_id'))

    op.drop_table('erasure_records')
