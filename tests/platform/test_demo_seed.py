"""`flask demo seed` loads the demo catalogue and is idempotent."""
from extensions import db
from models import Coupon, Course, Lecture, User


def _snapshot():
    courses = sorted((c.slug, c.price_amount, c.currency, c.is_published, c.enrollment_type.value)
                     for c in db.session.scalars(db.select(Course)))
    coupons = sorted((c.code, c.discount_type.value, c.is_public) for c in db.session.scalars(db.select(Coupon)))
    counts = [db.session.scalar(db.select(db.func.count(model.id))) for model in (Lecture, User)]
    return courses, coupons, counts


def test_seed_twice_gives_the_same_data(runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0 and "learner@learnpay.dev" in first.output
    before = _snapshot()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert _snapshot() == before
    courses, coupons, _ = before
    assert len(courses) >= 8
    assert any(c[2] == "JPY" for c in courses) and any(not c[3] for c in courses)
    assert any(c[4] == "FREE" for c in courses) and any(c[4] == "INVITATION_ONLY" for c in courses)
    assert {"WELCOME10", "SAVE20", "SUMMER2020", "FLASKFAN", "LAUNCH50"} <= {c[0] for c in coupons}


def test_seed_if_empty_skips_a_database_with_data(runner):
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "skipped" in result.output
