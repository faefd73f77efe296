"""payment failures: every failed payment attempt by reason

Each `payment_intent.payment_failed` becomes a row (keyed by the event id), so the analytics
count every failed attempt by its reason even when the session later completes or expires.
Attempts that failed before the table existed are not backfilled: their reason lives only in
the inbox's JSON payloads, read differently on SQLite and PostgreSQL; their sessions that
ended FAILED are still counted from `payment_sessions`.

Revision ID: 693dd385c3f8
Revises: d19e7a4b5c6f
Create Date: 2026-11-27 22:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '693dd385c3f8'
down_revision = 'd19e7a4b5c6f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_session_id', sa.String(length=40), nullable=False),
    sa.Column('stripe_event_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_session_id'], ['payment_sessions.id'], name=op.f('fk_payment_failures_payment_session_id_payment_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_failures')),
    sa.UniqueConstraint('stripe_event_id', name=op.f('uq_payment_failures_stripe_event_id'))
    )
    with op.batch_alter_table('payment_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_failures_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_failures_payment_session_id'), ['payment_session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('payment_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_failures_payment_session_id'))
        batch_op.drop_index(batch_op.f('ix_payment_failures_occurred_at'))
    op.drop_table('payment_failures')
