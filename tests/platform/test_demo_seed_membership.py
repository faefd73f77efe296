"""`flask demo seed` adds the All-Access membership (monthly and yearly, every published paid
course), idempotently, and it shows on the memberships page and on the courses it unlocks."""
from extensions import db
from models import Course, EnrollmentType, Membership


def test_seed_adds_all_access_once(runner, client):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    [plan] = db.session.scalars(db.select(Membership)).all()
    assert (plan.name, plan.monthly_price, plan.yearly_price, plan.currency, plan.is_active) == \
        ("All-Access", 2900, 29000, "USD", True)
    paid = {c.slug for c in db.session.scalars(db.select(Course)) if c.is_published
            and c.enrollment_type == EnrollmentType.PAID and c.price_amount > 0}
    assert {c.slug for c in plan.courses} == paid and "python-foundations" in paid
    assert "founders-circle" not in paid and "rust-preview" not in paid and "intro-to-git" not in paid
    page = client.get("/memberships").get_data(as_text=True)
    assert "All-Access" in page and "Subscribe monthly" in page and "Subscribe yearly" in page
    course = client.get("/courses/python-foundations").get_data(as_text=True)
    assert "All-Access</a> — $29.00/month" in course
    assert 'data-testid="membership-badge"' not in client.get("/courses/founders-circle").get_data(as_text=True)
