"""tickets, their event log, transfers, referrals, collaborators, and the 77 provincial offices

The offices are seeded here from a frozen copy of geothai's provinces (code, official Thai name): the tickets'
foreign keys need them from the first ticket on, and a migration's result must not change when the geothai
package is upgraded (tests/test_tickets.py checks this list against geothai). ticket_sequences holds the last
ticket number per Buddhist-era year (row-locked while a number is allocated: gapless IDs).

Revision ID: 29e569edd316
Revises: e2efda34def6
Create Date: 2026-12-02 11:09:28.952116
"""
from alembic import op
import sqlalchemy as sa


revision = '29e569edd316'
down_revision = 'e2efda34def6'
branch_labels = None
depends_on = None

# geothai 3.2.1's provinces(), frozen.
OFFICES = [
    ('10', 'กรุงเทพมหานคร'),
    ('11', 'สมุทรปราการ'),
    ('12', 'นนทบุรี'),
    ('13', 'ปทุมธานี'),
    ('14', 'พระนครศรีอยุธยา'),
    ('15', 'อ่างทอง'),
    ('16', 'ลพบุรี'),
    ('17', 'สิงห์บุรี'),
    ('18', 'ชัยนาท'),
    ('19', 'สระบุรี'),
    ('20', 'ชลบุรี'),
    ('21', 'ระยอง'),
    ('22', 'จันทบุรี'),
    ('23', 'ตราด'),
    ('24', 'ฉะเชิงเทรา'),
    ('25', 'ปราจีนบุรี'),
    ('26', 'นครนายก'),
    ('27', 'สระแก้ว'),
    ('30', 'นครราชสีมา'),
    ('31', 'บุรีรัมย์'),
    ('32', 'สุรินทร์'),
    ('33', 'ศรีสะเกษ'),
    ('34', 'อุบลราชธานี'),
    ('35', 'ยโสธร'),
    ('36', 'ชัยภูมิ'),
    ('37', 'อำนาจเจริญ'),
    ('38', 'บึงกาฬ'),
    ('39', 'หนองบัวลำภู'),
    ('40', 'ขอนแก่น'),
    ('41', 'อุดรธานี'),
    ('42', 'เลย'),
    ('43', 'หนองคาย'),
    ('44', 'มหาสารคาม'),
    ('45', 'ร้อยเอ็ด'),
    ('46', 'กาฬสินธุ์'),
    ('47', 'สกลนคร'),
    ('48', 'นครพนม'),
    ('49', 'มุกดาหาร'),
    ('50', 'เชียงใหม่'),
    ('51', 'ลำพูน'),
    ('52', 'ลำปาง'),
    ('53', 'อุตรดิตถ์'),
    ('54', 'แพร่'),
    ('55', 'น่าน'),
    ('56', 'พะเยา'),
    ('57', 'เชียงราย'),
    ('58', 'แม่ฮ่องสอน'),
    ('60', 'นครสวรรค์'),
    ('61', 'อุทัยธานี'),
    ('62', 'กำแพงเพชร'),
    ('63', 'ตาก'),
    ('64', 'สุโขทัย'),
    ('65', 'พิษณุโลก'),
    ('66', 'พิจิตร'),
    ('67', 'เพชรบูรณ์'),
    ('70', 'ราชบุรี'),
    ('71', 'กาญจนบุรี'),
    ('72', 'สุพรรณบุรี'),
    ('73', 'นครปฐม'),
    ('74', 'สมุทรสาคร'),
    ('75', 'สมุทรสงคราม'),
    ('76', 'เพชรบุรี'),
    ('77', 'ประจวบคีรีขันธ์'),
    ('80', 'นครศรีธรรมราช'),
    ('81', 'กระบี่'),
    ('82', 'พังงา'),
    ('83', 'ภูเก็ต'),
    ('84', 'สุราษฎร์ธานี'),
    ('85', 'ระนอง'),
    ('86', 'ชุมพร'),
    ('90', 'สงขลา'),
    ('91', 'สตูล'),
    ('92', 'ตรัง'),
    ('93', 'พัทลุง'),
    ('94', 'ปัตตานี'),
    ('95', 'ยะลา'),
    ('96', 'นราธิวาส'),
]


def upgrade() -> None:
    op.create_table('offices',
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('name_th', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('province_code', name=op.f('pk_offices')),
    sa.UniqueConstraint('name_th', name=op.f('uq_offices_name_th'))
    )
    op.create_table('ticket_sequences',
    sa.Column('year_be', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year_be', name=op.f('pk_ticket_sequences'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('complaint', 'help_request', 'case_report', 'emergency', 'handoff', name='kind', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('new', 'acknowledged', 'in_progress', 'waiting_citizen', 'resolved', 'closed', name='status', native_enum=False, length=16), nullable=False),
    sa.Column('urgency', sa.Enum('normal', 'urgent', name='urgency', native_enum=False, length=8), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('line_user_id', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('location', sa.JSON(), nullable=True),
    sa.Column('phone_encrypted', sa.Text(), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('contact_consent', sa.Boolean(), nullable=False),
    sa.Column('legal_basis', sa.String(length=200), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('source_event_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('handoff_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['province_code'], ['offices.province_code'], name=op.f('fk_tickets_province_code_offices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('source_event_id', name=op.f('uq_tickets_source_event_id'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_line_user_id'), ['line_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_status'), ['status'], unique=False)

    op.create_table('collaborators',
    sa.Column('ticket_id', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['province_code'], ['offices.province_code'], name=op.f('fk_collaborators_province_code_offices')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_collaborators_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'province_code', name=op.f('pk_collaborators'))
    )
    with op.batch_alter_table('collaborators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collaborators_province_code'), ['province_code'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.String(length=20), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'accepted', 'rejected', 'done_successful', 'done_unsuccessful', 'revoked', name='referralstatus', native_enum=False, length=20), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_referrals_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_attachments',
    sa.Column('ticket_id', sa.String(length=20), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_ticket_attachments_attachment_id_attachments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_attachments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'attachment_id', name=op.f('pk_ticket_attachments'))
    )
    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('visibility', sa.Enum('public', 'internal', name='visibility', native_enum=False), nullable=False),
    sa.Column('notify_citizen', sa.Boolean(), nullable=False),
    sa.Column('notify_staff', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.String(length=20), nullable=False),
    sa.Column('from_province', sa.String(length=2), nullable=True),
    sa.Column('to_province', sa.String(length=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'accepted', 'rejected', 'expired', name='transferstatus', native_enum=False, length=16), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answer_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_province'], ['offices.province_code'], name=op.f('fk_transfers_from_province_offices')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_transfers_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_province'], ['offices.province_code'], name=op.f('fk_transfers_to_province_offices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_to_province'), ['to_province'], unique=False)

    offices = sa.table('offices', sa.column('province_code', sa.String), sa.column('name_th', sa.String))
    op.bulk_insert(offices, [{'province_code': code, 'name_th': name} for code, name in OFFICES])



def downgrade() -> None:
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_to_province'))
        batch_op.drop_index(batch_op.f('ix_transfers_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_status'))

    op.drop_table('transfers')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    op.drop_table('ticket_attachments')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_ticket_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('collaborators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collaborators_province_code'))

    op.drop_table('collaborators')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_status'))
        batch_op.drop_index(batch_op.f('ix_tickets_province_code'))
        batch_op.drop_index(batch_op.f('ix_tickets_line_user_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_kind'))
        batch_op.drop_index(batch_op.f('ix_tickets_created_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))

    op.drop_table('tickets')
    op.drop_table('ticket_sequences')
    op.drop_table('offices')
