"""outbox rows log each delivery attempt before it is made

Revision ID: 9c3e51d7a2b4
Revises: 9c1d2e3f4a5b
Create Date: 2026-12-02 10:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '9c3e51d7a2b4'
down_revision = '9c1d2e3f4a5b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a NOT NULL column in place on every version; PostgreSQL alters in place.
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('attempt_log', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('attempt_log')
