"""refund requests: learners' self-service requests and the staff queue (issue 19)

A new table only; no existing table is altered, so SQLite rebuilds nothing.

Revision ID: d19e7a4b5c6f
Revises: e7b1c2d3f4a5
Create Date: 2026-11-27 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'd19e7a4b5c6f'
down_revision = 'e7b1c2d3f4a5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refund_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_session_id', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'REFUNDED', 'APPROVED', 'DECLINED', 'WITHDRAWN',
                                name='refundrequeststatus', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('queue_reason', sa.String(length=300), nullable=True),
    sa.Column('amount_requested', sa.Integer(), nullable=False),
    sa.Column('amount_refunded', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('staff_message', sa.String(length=1000), nullable=True),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('amount_requested >= 0', name=op.f('ck_refund_requests_amount_requested_non_negative')),
    sa.CheckConstraint('amount_refunded IS NULL OR amount_refunded >= 0', name=op.f('ck_refund_requests_amount_refunded_non_negative')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_refund_requests_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_refund_requests_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_session_id'], ['payment_sessions.id'], name=op.f('fk_refund_requests_payment_session_id_payment_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refund_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_requests'))
    )
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_requests_payment_session_id'), ['payment_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_requests_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_refund_requests_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('uq_refund_requests_one_pending', ['payment_session_id'], unique=True,
                              sqlite_where=sa.text("status = 'PENDING'"),
                              postgresql_where=sa.text("status = 'PENDING'"))


def downgrade():
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_refund_requests_one_pending')
        batch_op.drop_index('ix_refund_requests_status_created')
        batch_op.drop_index(batch_op.f('ix_refund_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_refund_requests_payment_session_id'))

    op.drop_table('refund_requests')
