"""Learner membership pages through the test client: the memberships page and its live coupon
quote, the course page's "Included in …" line, the dashboard's membership panel."""
from datetime import datetime, timedelta, timezone

import pytest

from tests import factories
from tests.helpers import post_form
from tests.memberships import pages_builders as build

HTMX = {"HX-Request": "true"}


@pytest.fixture
def all_access(app):
    return build.membership("All-Access", monthly=2900, yearly=29000, trial_days=14)


def test_memberships_page_lists_active_memberships(client, all_access):
    factories.course(title="Python 101", price=9900)
    factories.course(title="Hidden", published=False)
    build.membership("Old Club", active=False)
    page = client.get("/memberships").get_data(as_text=True)
    assert page.count('data-testid="membership"') == 1 and "Old Club" not in page
    assert "$29.00</strong> a month" in page and "$290.00</strong> a year" in page
    assert "14-day free trial" in page and "Python 101" in page and "Hidden" not in page
    assert 'value="MONTH"' in page and 'value="YEAR"' in page and "Subscribe monthly" in page
    assert 'hx-post="/memberships/all-access"' in page and 'action="/memberships/all-access/subscribe"' in page
    assert 'href="/memberships"' in page  # the nav link


def test_a_chosen_set_is_listed_and_a_single_interval_has_one_button(client):
    one = factories.course(title="One")
    factories.course(title="Two")
    build.membership("Yearly Only", monthly=None, yearly=9900, courses=[one])
    page = client.get("/memberships").get_data(as_text=True)
    assert "Unlocks 1 course" in page and "One</a>" in page and "Two</a>" not in page
    assert "Subscribe yearly" in page and "Subscribe monthly" not in page


def test_htmx_coupon_check_returns_only_the_quote(client, all_access):
    factories.coupon(code="HALF", percent=50)
    response = post_form(client, "/memberships/all-access", {"coupon_code": " half "}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith('<div id="quote-all-access"') and "<html" not in body
    assert "$14.50" in body and "$145.00" in body and "Code applied to your first payment." in body
    assert "then $29.00 a month" in body


def test_a_refused_code_is_a_200_fragment_with_the_reason(client, all_access):
    course_only = factories.course(title="Only this")
    factories.coupon(code="COURSEONLY", percent=10, courses=[course_only])
    body = post_form(client, "/memberships/all-access", {"coupon_code": "NOPE"}, headers=HTMX).get_data(as_text=True)
    assert 'data-code="COUPON_NOT_FOUND"' in body and "$29.00" in body
    body = post_form(client, "/memberships/all-access", {"coupon_code": "COURSEONLY"},
                     headers=HTMX).get_data(as_text=True)
    assert 'data-code="COUPON_NOT_APPLICABLE"' in body


def test_without_javascript_the_same_post_renders_the_page(client, all_access):
    factories.coupon(code="HALF", percent=50)
    response = post_form(client, "/memberships/all-access", {"coupon_code": "HALF"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page and "$14.50" in page and 'value="HALF"' in page


def test_a_code_in_the_address_is_applied(client, all_access):
    factories.coupon(code="HALF", percent=50)
    page = client.get("/memberships?membership=all-access&coupon=half").get_data(as_text=True)
    assert "$14.50" in page


def test_retired_or_unknown_memberships_are_404(client):
    build.membership("Old Club", active=False)
    assert post_form(client, "/memberships/old-club", {"coupon_code": ""}, headers=HTMX).status_code == 404
    assert post_form(client, "/memberships/nope/subscribe", {"interval": "MONTH"}).status_code == 404


def test_csrf_is_enforced(client, all_access):
    assert client.post("/memberships/all-access", data={"coupon_code": "X"}, headers=HTMX).status_code == 400
    assert client.post("/memberships/all-access/subscribe", data={"interval": "MONTH"}).status_code == 400


def test_anonymous_subscribe_signs_in_first(client, all_access):
    response = post_form(client, "/memberships/all-access/subscribe", {"interval": "MONTH", "coupon_code": "HALF"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "membership%3Dall-access" in response.headers["Location"] or "membership=all-access" in response.headers["Location"]


def test_a_member_sees_it_instead_of_the_buttons(client, learner, sign_in, all_access):
    build.subscription(learner, all_access, "ACTIVE")
    sign_in(client, learner)
    page = client.get("/memberships").get_data(as_text=True)
    assert 'data-testid="member"' in page and "Subscribe monthly" not in page


# --- the course page ------------------------------------------------------------------------

def test_course_page_says_which_membership_includes_it(client, all_access):
    factories.course(slug="python-101", title="Python 101", price=9900)
    page = client.get("/courses/python-101").get_data(as_text=True)
    assert 'data-testid="membership-badge"' in page and "All-Access</a> — $29.00/month" in page
    assert "$99.00" in page  # the single price beside it


def test_no_badge_on_courses_it_does_not_unlock_or_free_ones(client):
    chosen = factories.course(slug="chosen", title="Chosen")
    factories.course(slug="other", title="Other")
    factories.course(slug="free-one", price=0, enrollment_type="FREE")
    build.membership("Club", courses=[chosen], monthly=None, yearly=9900)
    build.membership("Retired", active=False)
    assert "Club</a> — $99.00/year" in client.get("/courses/chosen").get_data(as_text=True)
    for slug in ("other", "free-one"):
        assert 'data-testid="membership-badge"' not in client.get(f"/courses/{slug}").get_data(as_text=True)


# --- the dashboard --------------------------------------------------------------------------

def _panel(client) -> str:
    page = client.get("/dashboard").get_data(as_text=True)
    start = page.index('data-testid="membership-panel"')
    return page[start:page.index("</li>", start)]


def test_dashboard_shows_the_next_renewal(client, learner, sign_in, all_access):
    renews = datetime(2030, 5, 4, tzinfo=timezone.utc)
    build.subscription(learner, all_access, "ACTIVE", current_period_end=renews)
    sign_in(client, learner)
    panel = _panel(client)
    assert "Active" in panel and "04 May 2030 · $29.00" in panel and "Manage billing" in panel
    assert "Update your card" not in panel


def test_dashboard_shows_the_trial_end(client, learner, sign_in, all_access):
    trial_end = datetime(2030, 5, 4, tzinfo=timezone.utc)
    build.subscription(learner, all_access, "TRIALING", trial_end=trial_end, current_period_end=trial_end)
    sign_in(client, learner)
    panel = _panel(client)
    assert "Free trial" in panel and 'data-testid="trial-end">04 May 2030' in panel


def test_dashboard_says_when_a_cancelled_membership_ends(client, learner, sign_in, all_access):
    ends = datetime(2030, 5, 4, tzinfo=timezone.utc)
    build.subscription(learner, all_access, "ACTIVE", cancel_at_period_end=True, cancel_at=ends, current_period_end=ends)
    sign_in(client, learner)
    panel = _panel(client)
    assert "Ends on 4 May 2030" in panel and 'data-testid="ends-on">04 May 2030' in panel


def test_dashboard_shows_a_failed_renewal_with_update_your_card(client, learner, sign_in, all_access):
    build.subscription(learner, all_access, "PAST_DUE", past_due_since=datetime.now(timezone.utc) - timedelta(days=1))
    sign_in(client, learner)
    panel = _panel(client)
    assert "Payment failed" in panel and "Update your card" in panel and 'data-testid="grace-end"' in panel
    assert 'action="/billing/portal"' in panel


def test_dashboard_after_the_end_offers_to_subscribe_again(client, learner, sign_in, all_access):
    course = factories.course(slug="python-101", title="Python 101")
    old = build.subscription(learner, all_access, "CANCELED", ended_at=datetime(2030, 1, 2, tzinfo=timezone.utc))
    factories.enrollment(learner, course, type="SUBSCRIPTION", subscription_id=old.id)
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    panel = _panel(client)
    assert "Ended" in panel and "Subscribe again" in panel and "Manage billing" not in panel
    assert 'data-testid="access-reason"' in page  # the closed course says why


def test_a_live_subscription_is_shown_over_an_ended_one(client, learner, sign_in, all_access):
    build.subscription(learner, all_access, "CANCELED", ended_at=datetime(2030, 1, 2, tzinfo=timezone.utc),
                       started_at=datetime(2029, 1, 2, tzinfo=timezone.utc))
    build.subscription(learner, all_access, "ACTIVE", started_at=datetime(2028, 1, 2, tzinfo=timezone.utc))
    sign_in(client, learner)
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('data-testid="membership-panel"') == 1 and 'data-state="ACTIVE"' in page


def test_a_member_starts_an_included_course_from_its_page(client, learner, sign_in, all_access):
    from extensions import db
    from models import Enrollment, EnrollmentType
    course = factories.course(slug="python-101", title="Python 101", price=9900)
    build.subscription(learner, all_access, "ACTIVE")
    sign_in(client, learner)
    page = client.get("/courses/python-101").get_data(as_text=True)
    assert 'data-testid="included-for-member"' in page and "Start the course" in page
    assert post_form(client, "/courses/python-101/enroll", {}).status_code == 303
    enrollment = db.session.scalar(db.select(Enrollment).where(Enrollment.course_id == course.id))
    assert enrollment.type == EnrollmentType.SUBSCRIPTION and enrollment.user_id == learner.id
    assert client.get(f"/courses/python-101/lectures/{course.lectures[1].id}").status_code == 200
