"""The issue-18 migration keeps every row: existing tokens get `read write`, learners keep
their payments and enrollments (a SQLite rebuild of `users` would have cascaded them away)."""
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from extensions import db
from tests.helpers import MIGRATIONS

BEFORE = "bbdd0910d15c"


def test_upgrading_keeps_rows_and_gives_old_tokens_read_write(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.begin() as conn:  # rows as the old schema had them (no ORM: today's models differ)
            conn.execute(sa.text("INSERT INTO users (id, email, name, role, is_disabled, created_at) "
                                 "VALUES (1, 'old@example.com', 'Old', 'LEARNER', false, '2026-01-01 00:00:00')"))
            conn.execute(sa.text("INSERT INTO courses (id, slug, title, short_description, description, price_amount, "
                                 "currency, is_published, enrollment_type, created_at, updated_at) VALUES (1, 'c', 'C', "
                                 "'', '', 900, 'USD', true, 'PAID', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
            conn.execute(sa.text("INSERT INTO enrollments (user_id, course_id, status, type, source, payment_status, "
                                 "amount_paid, discount_applied, currency, enrolled_at, progress, completed_lectures, "
                                 "total_lectures, total_time_spent, streak_days, certificate_earned) VALUES (1, 1, "
                                 "'ACTIVE', 'PAID', 'DIRECT', 'PAID', 900, 0, 'USD', '2026-01-01 00:00:00', 0, 0, 0, 0, "
                                 "0, false)"))
            conn.execute(sa.text("INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES "
                                 "(1, 'cli', 'h', 'lp_x', '2026-01-01 00:00:00')"))
        db.session.remove()
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM enrollments")).scalar() == 1
            assert conn.execute(sa.text("SELECT scopes FROM api_tokens")).scalar() == "read write"
        downgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM enrollments")).scalar() == 1
        assert "idempotency_keys" not in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
