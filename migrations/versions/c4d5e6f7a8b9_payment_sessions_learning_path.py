"""payment sessions for a learning path's paid courses (issue 20)

`payment_sessions.learning_path_id` (nullable, SET NULL, indexed): the path whose paid courses a
product payment sells (course_id is then NULL; the courses are its `payment_session_courses`).

Batch mode, as the products foundation's migration (b20a1c2d3e4f) altered the same table: on
SQLite it rebuilds `payment_sessions`, which refunds, disputes and enrollments reference, so
foreign keys are switched off around the rebuild (`_foreign_keys_off`, copied from there:
migrations never import each other). PostgreSQL alters in place.

Revision ID: c4d5e6f7a8b9
Revises: b2e1a3550c95
Create Date: 2026-11-28 01:25:00.000000

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d5e6f7a8b9'
down_revision = 'b2e1a3550c95'
branch_labels = None
depends_on = None


@contextmanager
def _foreign_keys_off():
    """SQLite only: PRAGMA foreign_keys is ignored inside a transaction, so the one the
    migration runs in is committed first (SQLite's DDL is not transactional here anyway)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        yield
        return
    if bind.connection.dbapi_connection.in_transaction:
        bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if bind.connection.dbapi_connection.in_transaction:
            bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def upgrade():
    with _foreign_keys_off():
        with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
            batch_op.add_column(sa.Column('learning_path_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f('ix_payment_sessions_learning_path_id'), ['learning_path_id'],
                                  unique=False)
            batch_op.create_foreign_key(batch_op.f('fk_payment_sessions_learning_path_id_learning_paths'),
                                        'learning_paths', ['learning_path_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with _foreign_keys_off():
        with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_payment_sessions_learning_path_id_learning_paths'),
                                     type_='foreignkey')
            batch_op.drop_index(batch_op.f('ix_payment_sessions_learning_path_id'))
            batch_op.drop_column('learning_path_id')
