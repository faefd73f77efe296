"""`flask demo seed` loads the demo catalogue and is idempotent."""
from extensions import db
from models import Coupon, Course, Lecture, User
from services.courses import covers


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
    # Issue 19: one refund request waits in the staff queue, however often the seed runs.
    from models import RefundRequest
    assert [r.status.value for r in db.session.scalars(db.select(RefundRequest))] == ["PENDING"]
    # Issue 20: one published bundle of three published USD courses, and a code for bundles only.
    from models import Bundle
    [bundle] = db.session.scalars(db.select(Bundle)).all()
    assert bundle.is_published and len(bundle.courses) == 3 and bundle.cover_image
    assert {c.currency for c in bundle.courses} == {"USD"} and all(c.is_published for c in bundle.courses)
    assert bundle.price_amount < sum(c.price_amount for c in bundle.courses)
    bundle_code = db.session.scalar(db.select(Coupon).where(Coupon.code == "BUNDLE15"))
    assert [b.id for b in bundle_code.applicable_bundles] == [bundle.id]


def test_seed_if_empty_skips_a_database_with_data(runner):
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "skipped" in result.output


def test_seeded_courses_have_covers_instructors_outcomes_faq_and_topics(runner, client):
    runner.invoke(args=["demo", "seed"])
    first = {c.slug: c.cover_image for c in db.session.scalars(db.select(Course))}
    runner.invoke(args=["demo", "seed"])
    db.session.expire_all()
    courses = db.session.scalars(db.select(Course)).all()
    assert {c.slug: c.cover_image for c in courses} == first  # the same drawing, the same key
    for course in courses:
        assert course.topic and course.instructor_name and course.instructor_bio
        assert course.learning_outcomes and course.requirements and course.faq
        assert client.get(f"/covers/{covers.filename(course.cover_image, 'small')}").status_code == 200


def test_seed_gives_the_demo_learner_a_referral_code_and_one_earned_reward(runner):
    from models import ReferralReward, ReferralRewardStatus
    from services.demo import LEARNER_EMAIL
    from services.people import accounts
    from services.referrals import links
    runner.invoke(args=["demo", "seed"])
    runner.invoke(args=["demo", "seed"])
    learner = accounts.find_by_email(LEARNER_EMAIL)
    assert links.existing_code(learner)
    rewards = db.session.scalars(db.select(ReferralReward).order_by(ReferralReward.id)).all()
    assert [r.status for r in rewards] == [ReferralRewardStatus.EARNED, ReferralRewardStatus.PENDING]
    assert rewards[0].referrer_id == learner.id and rewards[0].coupon is not None
