"""officers, their provinces and the audit log

officers hold argon2 password hashes and the sign-in lockout counters (failed_logins, locked_until);
officer_provinces lists the provinces (geothai's 2-digit code) each officer works for; audit_log records every
officer read of a ticket's personal data (append-only, no personal data in detail).

Revision ID: 7a1f0c3b9d21
Revises: 29e569edd316
Create Date: 2026-12-02 11:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7a1f0c3b9d21'
down_revision = '29e569edd316'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('officers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('officer', 'supervisor', 'admin', name='officerrole', native_enum=False, length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('line_user_id', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('line_user_id', name=op.f('uq_officers_line_user_id')),
    sa.UniqueConstraint('username', name=op.f('uq_officers_username'))
    )
    op.create_table('officer_provinces',
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_officer_provinces_officer_id_officers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('officer_id', 'province_code', name=op.f('pk_officer_provinces'))
    )
    with op.batch_alter_table('officer_provinces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_provinces_province_code'), ['province_code'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_audit_log_officer_id_officers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_officer_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('officer_provinces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_provinces_province_code'))

    op.drop_table('officer_provinces')
    op.drop_table('officers')
