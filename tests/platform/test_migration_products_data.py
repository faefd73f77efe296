"""Issue 20's products migration (b20a1c2d3e4f) on a database that has data: rebuilding
payment_sessions / coupon_redemptions / refund_requests (SQLite) keeps every row that points at
them (refunds, disputes, refund movements, failures, refund requests, redemptions) and every
enrollment's payment_id, and the rebuilt tables keep their constraints."""
from datetime import datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from extensions import db
from tests.helpers import MIGRATIONS

BEFORE = "693dd385c3f8"  # the head before the products foundation
NOW = datetime(2026, 11, 1, 10, 0)


def _fill(table: sa.Table, values: dict) -> dict:
    """`values` plus a plain value for every other NOT NULL column without a default."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        if column.primary_key and isinstance(column.type, sa.Integer):
            continue
        try:
            python = column.type.python_type
        except NotImplementedError:
            python = dict
        if isinstance(column.type, sa.JSON):
            row[column.name] = {}
        elif python is bool:
            row[column.name] = False
        elif python in (int, float) or python.__name__ == "Decimal":
            row[column.name] = 0
        elif python.__name__ in ("datetime", "date"):
            row[column.name] = NOW
        else:
            row[column.name] = f"{column.name}-{table.name}"[: getattr(column.type, "length", None) or 200]
    return row


def _insert(conn, schema: sa.MetaData, table_name: str, /, **values):
    table = schema.tables[table_name]
    result = conn.execute(table.insert().values(**_fill(table, values)))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def _counts(conn, names):
    return {name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar() for name in names}


DEPENDENTS = ["payment_sessions", "refunds", "disputes", "refund_movements", "payment_failures",
              "refund_requests", "coupon_redemptions", "enrollments"]


def test_upgrade_with_payments_keeps_every_dependent_row(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        metadata = sa.MetaData()
        metadata.reflect(db.engine)
        with db.engine.begin() as conn:
            user = _insert(conn, metadata, "users", email="old@example.com", name="Old Buyer")
            course = _insert(conn, metadata, "courses", slug="old-course", title="Old course", price_amount=4900,
                             currency="USD", enrollment_type="PAID")
            coupon = _insert(conn, metadata, "coupons", code="OLD10", discount_type="PERCENTAGE")
            _insert(conn, metadata, "payment_sessions", id="ps_old", course_id=course, user_id=user,
                    status="COMPLETED", amount=4900, currency="USD", discount_amount=490, final_amount=4410,
                    amount_refunded=1000, coupon_id=coupon, coupon_code="OLD10", payment_intent_id="pi_old",
                    stripe_session_id="cs_old", metadata={})
            enrollment = _insert(conn, metadata, "enrollments", user_id=user, course_id=course, status="ACTIVE",
                                 type="PAID", source="PROMOTION", payment_status="PARTIALLY_REFUNDED",
                                 payment_id="ps_old", amount_paid=4410, currency="USD")
            conn.execute(sa.text("UPDATE payment_sessions SET enrollment_id = :e WHERE id = 'ps_old'"),
                         {"e": enrollment})
            _insert(conn, metadata, "refunds", payment_session_id="ps_old", amount=1000, currency="USD",
                    status="succeeded", id="re_old")
            _insert(conn, metadata, "refund_movements", payment_session_id="ps_old", amount=1000, currency="USD")
            _insert(conn, metadata, "disputes", payment_session_id="ps_old", id="dp_old",
                    amount=4410, currency="USD", status="won")
            _insert(conn, metadata, "payment_failures", payment_session_id="ps_old", reason="card_declined")
            _insert(conn, metadata, "refund_requests", payment_session_id="ps_old", user_id=user, course_id=course,
                    status="APPROVED", amount_requested=1000, currency="USD")
            _insert(conn, metadata, "coupon_redemptions", coupon_id=coupon, user_id=user, course_id=course,
                    payment_session_id="ps_old", status="REDEEMED", discount_amount=490, currency="USD")
        with db.engine.connect() as conn:
            before = _counts(conn, DEPENDENTS)
        assert all(before.values()), before

        upgrade(directory=MIGRATIONS)

        with db.engine.connect() as conn:
            assert _counts(conn, DEPENDENTS) == before
            assert conn.execute(sa.text("SELECT payment_id FROM enrollments")).scalar() == "ps_old"
            assert conn.execute(sa.text("SELECT enrollment_id FROM payment_sessions")).scalar() == enrollment
            assert conn.execute(sa.text("SELECT payment_session_id FROM coupon_redemptions")).scalar() == "ps_old"
            if db.engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        inspector = sa.inspect(db.engine)
        checks = {check["name"] for check in inspector.get_check_constraints("payment_sessions")}
        assert {"ck_payment_sessions_amount_non_negative", "ck_payment_sessions_final_non_negative",
                "ck_payment_sessions_discount_non_negative", "ck_payment_sessions_refunded_non_negative"} <= checks
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("payment_sessions")}
        assert {("payment_intent_id",), ("stripe_session_id",)} <= uniques
        # Deleting the payment still cascades afterwards (the rebuilt table's foreign keys are live).
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM payment_sessions WHERE id = 'ps_old'"))
            assert conn.execute(sa.text("SELECT count(*) FROM refunds")).scalar() == 0
            assert conn.execute(sa.text("SELECT payment_id FROM enrollments")).scalar() is None
        db.engine.dispose()
