"""products foundation and bundles (issue 20): payment sessions that sell more than one course

- payment_sessions.course_id, coupon_redemptions.course_id and refund_requests.course_id become
  nullable (a bundle's payment has no single course);
- payment_session_courses: the courses a multi-course payment enrolls, with each one's share;
- bundles, bundle_courses, coupon_bundles; payment_sessions.bundle_id, coupon_redemptions.bundle_id.

Making a column nullable rebuilds the table on SQLite. Dropping the old table would fire the
ON DELETE actions of the tables referencing it (refunds, disputes, enrollments.payment_id, ...),
so foreign keys are switched off around the rebuild (`_foreign_keys_off`); `users` is not touched.

Revision ID: b20a1c2d3e4f
Revises: 693dd385c3f8
Create Date: 2026-11-28 01:00:00.000000

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = 'b20a1c2d3e4f'
down_revision = '693dd385c3f8'
branch_labels = None
depends_on = None


@contextmanager
def _foreign_keys_off():
    """SQLite only: PRAGMA foreign_keys is ignored inside a transaction, so the one the
    migration runs in is committed first (SQLite's DDL is not transactional here anyway)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        bind.exec_driver_sql("COMMIT") if bind.connection.dbapi_connection.in_transaction else None
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            yield
        finally:
            if bind.connection.dbapi_connection.in_transaction:
                bind.exec_driver_sql("COMMIT")
            bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    else:
        yield


def upgrade():
    op.create_table('bundles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('price_amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.Column('cover_image', sa.String(length=80), nullable=True),
    sa.Column('cover_alt', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_bundles_price_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bundles')),
    sa.UniqueConstraint('slug', name=op.f('uq_bundles_slug'))
    )
    op.create_table('bundle_courses',
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_bundle_courses_bundle_id_bundles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_bundle_courses_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bundle_id', 'course_id', name=op.f('pk_bundle_courses'))
    )
    op.create_table('coupon_bundles',
    sa.Column('coupon_id', sa.Integer(), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_coupon_bundles_bundle_id_bundles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_coupon_bundles_coupon_id_coupons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('coupon_id', 'bundle_id', name=op.f('pk_coupon_bundles'))
    )
    op.create_table('payment_session_courses',
    sa.Column('payment_session_id', sa.String(length=40), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('list_amount', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('discount', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_payment_session_courses_amount_non_negative')),
    sa.CheckConstraint('discount >= 0', name=op.f('ck_payment_session_courses_discount_non_negative')),
    sa.CheckConstraint('list_amount >= 0', name=op.f('ck_payment_session_courses_list_amount_non_negative')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_payment_session_courses_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_session_id'], ['payment_sessions.id'], name=op.f('fk_payment_session_courses_payment_session_id_payment_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('payment_session_id', 'course_id', name=op.f('pk_payment_session_courses'))
    )
    with op.batch_alter_table('payment_session_courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_session_courses_course_id'), ['course_id'], unique=False)

    with _foreign_keys_off():
        with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
            batch_op.add_column(sa.Column('bundle_id', sa.Integer(), nullable=True))
            batch_op.alter_column('course_id', existing_type=sa.INTEGER(), nullable=True)
            batch_op.create_index(batch_op.f('ix_payment_sessions_bundle_id'), ['bundle_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f('fk_payment_sessions_bundle_id_bundles'), 'bundles', ['bundle_id'], ['id'], ondelete='SET NULL')

        with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
            batch_op.add_column(sa.Column('bundle_id', sa.Integer(), nullable=True))
            batch_op.alter_column('course_id', existing_type=sa.INTEGER(), nullable=True)
            batch_op.create_index(batch_op.f('ix_coupon_redemptions_bundle_id'), ['bundle_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f('fk_coupon_redemptions_bundle_id_bundles'), 'bundles', ['bundle_id'], ['id'], ondelete='CASCADE')

        with op.batch_alter_table('refund_requests', schema=None) as batch_op:
            batch_op.alter_column('course_id', existing_type=sa.INTEGER(), nullable=True)


def downgrade():
    # Rows without a course (bundle payments) cannot go back to NOT NULL columns.
    op.execute("DELETE FROM refund_requests WHERE course_id IS NULL")
    op.execute("DELETE FROM coupon_redemptions WHERE course_id IS NULL")
    op.execute("DELETE FROM payment_sessions WHERE course_id IS NULL")
    with _foreign_keys_off():
        with op.batch_alter_table('refund_requests', schema=None) as batch_op:
            batch_op.alter_column('course_id', existing_type=sa.INTEGER(), nullable=False)

        with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_coupon_redemptions_bundle_id_bundles'), type_='foreignkey')
            batch_op.drop_index(batch_op.f('ix_coupon_redemptions_bundle_id'))
            batch_op.alter_column('course_id', existing_type=sa.INTEGER(), nullable=False)
            batch_op.drop_column('bundle_id')

        with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_payment_sessions_bundle_id_bundles'), type_='foreignkey')
            batch_op.drop_index(batch_op.f('ix_payment_sessions_bundle_id'))
            batch_op.alter_column('course_id', existing_type=sa.INTEGER(), nullable=False)
            batch_op.drop_column('bundle_id')

    with op.batch_alter_table('payment_session_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_session_courses_course_id'))

    op.drop_table('payment_session_courses')
    op.drop_table('coupon_bundles')
    op.drop_table('bundle_courses')
    op.drop_table('bundles')
