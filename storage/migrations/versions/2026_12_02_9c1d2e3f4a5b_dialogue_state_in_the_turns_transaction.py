"""dialogue state in the turn's transaction

Revision ID: 9c1d2e3f4a5b
Revises: 4346c0205fed
Create Date: 2026-12-02 10:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '9c1d2e3f4a5b'
down_revision = '4346c0205fed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dialogue_states',
    sa.Column('line_user_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('line_user_id', name=op.f('pk_dialogue_states'))
    )


def downgrade() -> None:
    op.drop_table('dialogue_states')
