"""Staff membership pages: create and edit with every field error at once, retire (confirmed,
subscribers untouched), the subscribers list filtered by status and paged, a subscription's
invoices and timeline."""
import pytest

from extensions import db
from models import AuditEvent, Membership, Subscription, SubscriptionStatus
from tests import factories
from tests.helpers import post_confirmed, post_form
from tests.memberships import pages_builders as build

FORM = {"name": "All-Access", "description": "Every course.", "currency": "USD", "monthly_price": "29.00",
        "yearly_price": "290", "trial_days": "14", "unlocks": "all", "is_active": "y"}


@pytest.fixture
def staff_client(client, staff, sign_in):
    sign_in(client, staff)
    return client


def _actions():
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


def test_create_membership_in_minor_units_and_audit(staff_client):
    response = post_form(staff_client, "/staff/memberships/new", FORM)
    assert response.status_code == 302
    plan = db.session.scalar(db.select(Membership))
    assert (plan.name, plan.slug, plan.currency, plan.monthly_price, plan.yearly_price, plan.trial_days,
            plan.unlocks_all_courses, plan.is_active) == ("All-Access", "all-access", "USD", 2900, 29000, 14, True, True)
    assert response.headers["Location"].endswith(f"/staff/memberships/{plan.id}")
    assert _actions() == ["membership.created"]
    listing = staff_client.get("/staff/memberships").get_data(as_text=True)
    assert "All-Access" in listing and "$29.00" in listing and "$290.00" in listing and "14 days" in listing


def test_a_chosen_set_of_courses(staff_client):
    one, two = factories.course(title="One"), factories.course(title="Two")
    factories.course(title="Three")
    response = post_form(staff_client, "/staff/memberships/new",
                         {**FORM, "yearly_price": "", "unlocks": "chosen", "course_ids": [one.id, two.id]})
    assert response.status_code == 302
    plan = db.session.scalar(db.select(Membership))
    assert plan.yearly_price is None and not plan.unlocks_all_courses
    assert [c.title for c in plan.courses] == ["One", "Two"]


def test_every_field_error_at_once(staff_client):
    build.membership("All-Access")
    response = post_form(staff_client, "/staff/memberships/new",
                         {**FORM, "name": "all access", "monthly_price": "", "yearly_price": "", "trial_days": "999",
                          "unlocks": "chosen", "description": "x" * 2001})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("name", "monthly_price", "trial_days", "course_ids", "description"):
        assert f'id="{field}-error"' in page, field
    assert "Another membership already has this name." in page
    assert "Give a monthly or a yearly price (or both)." in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 1


def test_parse_errors_and_rule_errors_show_together(staff_client):
    """A price that does not parse (the form's error) and a bad trial (the service's) in one submit."""
    response = post_form(staff_client, "/staff/memberships/new",
                         {**FORM, "monthly_price": "twenty", "yearly_price": "0.001", "trial_days": "-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="monthly_price-error"' in page and 'id="yearly_price-error"' in page and 'id="trial_days-error"' in page


@pytest.mark.parametrize("changes,field", [
    ({"name": ""}, "name"), ({"name": "!!!"}, "name"), ({"currency": "XXX"}, "currency"),
    ({"monthly_price": "0.20"}, "monthly_price"), ({"monthly_price": "-5"}, "monthly_price"),
    ({"monthly_price": "9e999"}, "monthly_price"), ({"yearly_price": "99999999999"}, "yearly_price"),
    ({"monthly_price": "12.5", "yearly_price": "", "currency": "JPY"}, "monthly_price"),
    ({"trial_days": "731"}, "trial_days"), ({"trial_days": "1" * 30}, "trial_days"),
    ({"unlocks": "chosen", "course_ids": ["999999"]}, "course_ids"),
])
def test_membership_validation(staff_client, changes, field):
    response = post_form(staff_client, "/staff/memberships/new", {**FORM, **changes})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 0


def test_edit_form_is_filled_and_saves(staff_client):
    plan = build.membership("All-Access", monthly=2900, yearly=None, trial_days=7)
    page = staff_client.get(f"/staff/memberships/{plan.id}/edit").get_data(as_text=True)
    assert 'value="29.00"' in page and 'value="7"' in page
    response = post_form(staff_client, f"/staff/memberships/{plan.id}/edit",
                         {**FORM, "monthly_price": "35", "yearly_price": "", "trial_days": ""})
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.get(Membership, plan.id)
    assert (plan.monthly_price, plan.yearly_price, plan.trial_days) == (3500, None, 0)
    assert _actions() == ["membership.updated"]


def test_retiring_asks_first_and_never_touches_subscribers(staff_client, learner):
    plan = build.membership("All-Access")
    sub = build.subscription(learner, plan, "ACTIVE")
    retire = {**FORM, "is_active": ""}
    question = post_form(staff_client, f"/staff/memberships/{plan.id}/edit", retire)
    text = question.get_data(as_text=True)
    assert question.status_code == 200 and "Retire All-Access?" in text and "1 current subscriber keeps" in text
    db.session.expire_all()
    assert db.session.get(Membership, plan.id).is_active
    response = post_confirmed(staff_client, f"/staff/memberships/{plan.id}/edit", retire)
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.get(Membership, plan.id)
    assert not plan.is_active and plan.retired_at is not None
    sub = db.session.get(Subscription, sub.id)
    assert sub.status == SubscriptionStatus.ACTIVE and sub.amount == 2900
    assert _actions() == ["membership.retired"]
    assert "retired" in staff_client.get("/staff/memberships").get_data(as_text=True)


def test_subscribers_list_filters_by_status_and_pages(staff_client, learner):
    plan = build.membership("All-Access")
    other = factories.user(email="other@example.com")
    active = build.subscription(learner, plan, "ACTIVE", cancel_at_period_end=True)
    build.invoice(active, "paid", amount=2900)
    build.subscription(other, plan, "PAST_DUE")
    page = staff_client.get(f"/staff/memberships/{plan.id}").get_data(as_text=True)
    assert page.count('data-testid="subscriber-row"') == 2 and "learner@example.com" in page
    assert "other@example.com" in page and "$29.00" in page
    only = staff_client.get(f"/staff/memberships/{plan.id}?status=PAST_DUE").get_data(as_text=True)
    assert only.count('data-testid="subscriber-row"') == 1 and "other@example.com" in only
    assert staff_client.get(f"/staff/memberships/{plan.id}?status=NONSENSE&page=-4").status_code == 200


def test_subscribers_are_paged(staff_client):
    plan = build.membership("All-Access")
    for number in range(52):
        build.subscription(factories.user(email=f"m{number}@example.com"), plan, "ACTIVE")
    first = staff_client.get(f"/staff/memberships/{plan.id}").get_data(as_text=True)
    assert first.count('data-testid="subscriber-row"') == 50 and "Page 1 of 2" in first and "52 in all" in first
    second = staff_client.get(f"/staff/memberships/{plan.id}?page=2").get_data(as_text=True)
    assert second.count('data-testid="subscriber-row"') == 2


def test_subscription_detail_shows_invoices_and_timeline(staff_client, learner):
    plan = build.membership("All-Access")
    sub = build.subscription(learner, plan, "ACTIVE")
    paid = build.invoice(sub, "paid", amount=2900)
    build.invoice(sub, "open", amount=2900, reason="subscription_cycle", attempt_count=2)
    db.session.add(AuditEvent(action="subscription.canceled_by_learner", subject_type="Subscription",
                              subject_id=str(sub.id), actor_label="learner@example.com"))
    db.session.commit()
    page = staff_client.get(f"/staff/subscriptions/{sub.id}").get_data(as_text=True)
    assert page.count('data-testid="invoice-row"') == 2 and paid.id in page and "2 attempts" in page
    assert "subscription cycle" in page and sub.stripe_subscription_id in page
    assert "subscription.canceled_by_learner" in page
    assert f'/staff/subscriptions/{sub.id}/invoices/{paid.id}/refund' in page


def test_unknown_ids_are_404(staff_client, learner):
    plan = build.membership("All-Access")
    sub = build.subscription(learner, plan)
    assert staff_client.get("/staff/memberships/99999").status_code == 404
    assert staff_client.get("/staff/memberships/99999/edit").status_code == 404
    assert staff_client.get("/staff/subscriptions/99999").status_code == 404
    assert post_form(staff_client, f"/staff/subscriptions/{sub.id}/invoices/in_nope/refund", {}).status_code == 404


def test_learners_cannot_reach_the_pages(client, learner, sign_in):
    sign_in(client, learner)
    assert client.get("/staff/memberships").status_code == 403
    assert client.get("/staff/memberships/new").status_code == 403
