"""referrals: codes, the reward settings, rewards, and the referrer of a purchase (issue 20)

`payment_sessions.referrer_id` and `enrollments.referrer_id` are nullable columns added in
place (no table rebuild); the per-learner code has its own table, so `users` is not altered.

Revision ID: a20e1f0c7d21
Revises: c4d5e6f7a8b9
Create Date: 2026-11-28 00:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a20e1f0c7d21'
down_revision = 'c4d5e6f7a8b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('referral_codes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_referral_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_referral_codes_code'))
    )
    op.create_table('referral_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rewards_enabled', sa.Boolean(), nullable=False),
    sa.Column('discount_type', sa.Enum('PERCENTAGE', 'FIXED_AMOUNT', name='discounttype', native_enum=False, length=32), nullable=False),
    sa.Column('percent_off', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('amount_off', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('validity_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_off IS NULL OR amount_off > 0', name=op.f('ck_referral_settings_amount_off_positive')),
    sa.CheckConstraint('id = 1', name=op.f('ck_referral_settings_single_row')),
    sa.CheckConstraint('percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)', name=op.f('ck_referral_settings_percent_range')),
    sa.CheckConstraint('validity_days >= 1 AND validity_days <= 3650', name=op.f('ck_referral_settings_validity_days_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_settings'))
    )
    op.create_table('referral_rewards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_session_id', sa.String(length=40), nullable=False),
    sa.Column('referrer_id', sa.Integer(), nullable=False),
    sa.Column('referred_user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'EARNED', 'CANCELED', name='referralrewardstatus', native_enum=False, length=32), nullable=False),
    sa.Column('discount_type', sa.Enum('PERCENTAGE', 'FIXED_AMOUNT', name='discounttype', native_enum=False, length=32), nullable=False),
    sa.Column('percent_off', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('amount_off', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('validity_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('earns_at', sa.DateTime(), nullable=False),
    sa.Column('earned_at', sa.DateTime(), nullable=True),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('canceled_at', sa.DateTime(), nullable=True),
    sa.Column('canceled_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('amount_off IS NULL OR amount_off > 0', name=op.f('ck_referral_rewards_amount_off_positive')),
    sa.CheckConstraint('percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)', name=op.f('ck_referral_rewards_percent_range')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_referral_rewards_coupon_id_coupons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_session_id'], ['payment_sessions.id'], name=op.f('fk_referral_rewards_payment_session_id_payment_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referred_user_id'], ['users.id'], name=op.f('fk_referral_rewards_referred_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referrer_id'], ['users.id'], name=op.f('fk_referral_rewards_referrer_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_rewards')),
    sa.UniqueConstraint('coupon_id', name=op.f('uq_referral_rewards_coupon_id')),
    sa.UniqueConstraint('payment_session_id', name=op.f('uq_referral_rewards_payment_session_id'))
    )
    op.create_index('ix_referral_rewards_status_earns_at', 'referral_rewards', ['status', 'earns_at'], unique=False)
    op.create_index(op.f('ix_referral_rewards_referrer_id'), 'referral_rewards', ['referrer_id'], unique=False)

    # Plain nullable integers added in place (no foreign key: SQLite adds a column without a
    # rebuild only when it carries no named constraint, and rebuilding payment_sessions or
    # enrollments would cascade into the rows that reference them).
    op.add_column('payment_sessions', sa.Column('referrer_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_payment_sessions_referrer_id'), 'payment_sessions', ['referrer_id'], unique=False)
    op.add_column('enrollments', sa.Column('referrer_id', sa.Integer(), nullable=True))

def downgrade():
    op.drop_index(op.f('ix_payment_sessions_referrer_id'), table_name='payment_sessions')
    for table in ('enrollments', 'payment_sessions'):
        # In place (SQLite 3.35+ drops an unindexed, unconstrained column): a batch copy of these
        # tables would cascade into the rows that reference them (refunds, disputes, …).
        op.execute(f'ALTER TABLE {table} DROP COLUMN referrer_id')
    op.drop_index(op.f('ix_referral_rewards_referrer_id'), table_name='referral_rewards')
    op.drop_index('ix_referral_rewards_status_earns_at', table_name='referral_rewards')
    op.drop_table('referral_rewards')
    op.drop_table('referral_settings')
    op.drop_table('referral_codes')
