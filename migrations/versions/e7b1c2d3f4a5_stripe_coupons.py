"""stripe coupons: the Stripe Coupon made for a coupon's discount amount and currency (issue 17)

A new table only; no existing table is altered, so SQLite rebuilds nothing.

Revision ID: e7b1c2d3f4a5
Revises: 5e551075a1d4
Create Date: 2026-11-27 22:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7b1c2d3f4a5'
down_revision = '5e551075a1d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stripe_coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coupon_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_off', sa.Integer(), nullable=False),
    sa.Column('stripe_coupon_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_off > 0', name=op.f('ck_stripe_coupons_amount_off_positive')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_stripe_coupons_coupon_id_coupons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_coupons')),
    sa.UniqueConstraint('coupon_id', 'code', 'currency', 'amount_off', name=op.f('uq_stripe_coupons_coupon_id_code_currency_amount_off')),
    sa.UniqueConstraint('stripe_coupon_id', name=op.f('uq_stripe_coupons_stripe_coupon_id'))
    )
    with op.batch_alter_table('stripe_coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_coupons_coupon_id'), ['coupon_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stripe_coupons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_coupons_coupon_id'))
    op.drop_table('stripe_coupons')
