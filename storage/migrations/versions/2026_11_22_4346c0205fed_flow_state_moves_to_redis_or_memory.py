"""flow state moves to Redis or memory

Revision ID: 4346c0205fed
Revises: 5b4a6781b1a3
Create Date: 2026-11-22 03:59:03.048938
"""
from alembic import op
import sqlalchemy as sa

revision = '4346c0205fed'
down_revision = '5b4a6781b1a3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('conversation_states')


def downgrade() -> None:
    op.create_table('conversation_states',
    sa.Column('line_user_id', sa.String(length=64), nullable=False),
    sa.Column('flow', sa.String(length=40), nullable=True),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('line_user_id', name=op.f('pk_conversation_states'))
    )
