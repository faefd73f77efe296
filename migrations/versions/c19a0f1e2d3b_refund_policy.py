"""refund policy: the staff-set policy (one row) and per-course overrides (issue 19)

New tables only; no existing table is altered, so SQLite rebuilds nothing.

Revision ID: c19a0f1e2d3b
Revises: a5a5ae94ee5e
Create Date: 2026-11-27 20:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c19a0f1e2d3b'
down_revision = 'a5a5ae94ee5e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refund_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('max_progress_percent', sa.Integer(), nullable=False),
    sa.Column('revokes_access', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_refund_policy_single_row')),
    sa.CheckConstraint('window_days >= 0 AND window_days <= 365', name=op.f('ck_refund_policy_window_days_range')),
    sa.CheckConstraint('max_progress_percent >= 0 AND max_progress_percent <= 100', name=op.f('ck_refund_policy_max_progress_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_policy'))
    )
    op.create_table('course_refund_overrides',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('no_refunds', sa.Boolean(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=True),
    sa.Column('max_progress_percent', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('window_days IS NULL OR (window_days >= 0 AND window_days <= 365)', name=op.f('ck_course_refund_overrides_window_days_range')),
    sa.CheckConstraint('max_progress_percent IS NULL OR (max_progress_percent >= 0 AND max_progress_percent <= 100)', name=op.f('ck_course_refund_overrides_max_progress_range')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_refund_overrides_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_course_refund_overrides'))
    )


def downgrade():
    op.drop_table('course_refund_overrides')
    op.drop_table('refund_policy')
