"""Memberships end to end through the test client against the sandbox (issue 16).

The learner clicks through our pages; the sandbox is paid and driven like Stripe (its hosted
checkout's card, its Customer Portal, its clock), and every event it emits is delivered, in
order, signed, to /webhooks/stripe. The app's clock follows the sandbox's (`clock`), so the
grace period after a failed renewal runs on the same time as Stripe's retries.
"""
import json
import sys
import urllib.request
from datetime import datetime, timezone

import pytest

import models
from extensions import db
from models import Enrollment, EnrollmentType, MembershipInvoice, Subscription, SubscriptionStatus as St
from tests import factories
from tests.helpers import post_form

GOOD_CARD, FAILING_CARD = "4242424242424242", "4000000000000341"
DAY = 86400


@pytest.fixture
def app_overrides(sandbox_config):
    return {**sandbox_config, "MEMBERSHIP_GRACE_DAYS": 7}


class Stripe:
    """The sandbox as the learner and Stripe use it: pay a checkout, use the portal, move the
    clock, and deliver every new event to the app."""

    def __init__(self, sandbox, client):
        self.sandbox, self.client, self.delivered = sandbox, client, set()
        self.after_advance = lambda: None

    def deliver(self) -> list[str]:
        """Post every event not yet delivered, oldest first; returns their types."""
        types = []
        for event in self.sandbox.events():
            if event["id"] in self.delivered:
                continue
            body, headers = self.sandbox.signed(event["id"])
            response = self.client.post("/webhooks/stripe", data=body, headers=headers)
            assert response.status_code == 200, (event["type"], response.get_data(as_text=True))
            self.delivered.add(event["id"])
            types.append(event["type"])
        db.session.expire_all()
        return types

    def _control(self, path: str, payload: dict) -> dict:
        request = urllib.request.Request(self.sandbox.base_url + path, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"{}")

    def pay(self, checkout_url: str, card: str = GOOD_CARD, email: str = "learner@example.com") -> None:
        session_id = checkout_url.rstrip("/").rsplit("/", 1)[-1]
        self._control(f"/_sandbox/checkout/sessions/{session_id}/pay", {"card": card, "email": email})

    def portal(self, portal_url: str, action: str, payload: dict) -> dict:
        session_id = portal_url.rstrip("/").rsplit("/", 1)[-1]
        return self._control(f"/_sandbox/portal/{session_id}/{action}", payload)

    def advance(self, days: float) -> list[str]:
        """Move Stripe's clock (and so the app's) on; the learner signs in again, since a month
        away also ends their web session."""
        self.sandbox.advance_clock(days=days)
        types = self.deliver()
        self.after_advance()
        return types


@pytest.fixture
def stripe(sandbox, client):
    return Stripe(sandbox, client)


@pytest.fixture
def clock(sandbox, monkeypatch):
    """The app's `utcnow` (every module that imported it) reads the sandbox's clock."""
    def sandbox_now() -> datetime:
        if sandbox_now.real:  # Stripe checks a Checkout's expires_at against real time
            return original()
        return datetime.fromtimestamp(sandbox.now(), tz=timezone.utc)

    sandbox_now.real = False

    original = models.utcnow
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if (name in ("models", "app") or name.startswith(("services", "blueprints", "jobs"))) \
                and getattr(module, "utcnow", None) is original:
            monkeypatch.setattr(module, "utcnow", sandbox_now)
    return sandbox_now


@pytest.fixture
def world(app, learner, sign_in, client, clock, stripe):
    stripe.after_advance = lambda: sign_in(client, learner)
    courses = [factories.course(slug=f"course-{n}", title=f"Course {n}", price=4900, lectures=3) for n in (1, 2)]
    plan = factories.membership(slug="all-access", name="All-Access", monthly=2900, yearly=29000, trial_days=0)
    factories.coupon(code="HALF", percent=50)
    sign_in(client, learner)
    return {"courses": courses, "membership": plan, "learner": learner}


def _subscribe(client, stripe, *, interval="MONTH", coupon="", card=GOOD_CARD) -> str:
    response = post_form(client, "/memberships/all-access/subscribe", {"interval": interval, "coupon_code": coupon})
    assert response.status_code == 303 and response.headers["Location"].startswith(stripe.sandbox.base_url)
    checkout_url = response.headers["Location"]
    stripe.pay(checkout_url, card)
    stripe.deliver()
    # Back from Stripe: the success page.
    back = client.get(f"/checkout/success?session_id={checkout_url.rstrip('/').rsplit('/', 1)[-1]}")
    assert back.status_code == 200, back.get_data(as_text=True)[:500]
    return checkout_url


def _subscription() -> Subscription:
    db.session.expire_all()
    return db.session.scalars(db.select(Subscription).order_by(Subscription.id.desc())).first()


def _invoices(sub) -> list[MembershipInvoice]:
    return list(db.session.scalars(db.select(MembershipInvoice).where(MembershipInvoice.subscription_id == sub.id)
                                   .order_by(MembershipInvoice.created_at)))


def _lecture(client, course, index=1) -> int:
    return client.get(f"/courses/{course.slug}/lectures/{course.lectures[index].id}").status_code


def _start(client, course) -> None:
    assert post_form(client, f"/courses/{course.slug}/enroll", {}).status_code == 303


def _panel(client) -> str:
    page = client.get("/dashboard").get_data(as_text=True)
    start = page.index('data-testid="membership-panel"')
    return page[start:page.index("</li>", start)]


def _portal_url(client) -> str:
    response = post_form(client, "/billing/portal", {})
    assert response.status_code == 303
    return response.headers["Location"]


def test_subscribe_renew_fail_grace_end_and_resubscribe(client, world, stripe, clock):
    first, second = world["courses"]
    # Subscribe with a coupon: the first month at half price.
    assert _lecture(client, first) == 403
    _subscribe(client, stripe, coupon="HALF")
    sub = _subscription()
    assert sub.status == St.ACTIVE and sub.amount == 2900
    [opening] = _invoices(sub)
    assert (opening.status, opening.amount_paid, opening.discount_amount) == ("paid", 1450, 1450)
    # Courses open: starting one makes a SUBSCRIPTION enrollment.
    _start(client, first)
    assert _lecture(client, first) == 200
    assert post_form(client, f"/courses/{first.slug}/lectures/{first.lectures[0].id}/complete", {}).status_code == 302
    enrollment = db.session.scalar(db.select(Enrollment).where(Enrollment.course_id == first.id))
    assert enrollment.type == EnrollmentType.SUBSCRIPTION
    assert "Active" in _panel(client) and "$29.00" in _panel(client)

    # A month later: renewed at the full price, invoice paid.
    stripe.advance(days=31)
    sub = _subscription()
    assert sub.status == St.ACTIVE and len(_invoices(sub)) == 2
    renewal = _invoices(sub)[-1]
    assert (renewal.billing_reason, renewal.status, renewal.amount_paid) == ("subscription_cycle", "paid", 2900)
    assert _lecture(client, first) == 200

    # The failing card, then the next renewal: past due, still open within the grace period.
    stripe.portal(_portal_url(client), "card", {"card": FAILING_CARD})
    stripe.deliver()
    stripe.advance(days=30)
    sub = _subscription()
    assert sub.status == St.PAST_DUE and sub.past_due_since is not None
    assert _invoices(sub)[-1].failed_at is not None
    assert _lecture(client, first) == 200
    panel = _panel(client)
    assert "Payment failed" in panel and "Update your card" in panel

    # Past the grace period (Stripe still retrying): access ends and the dashboard says why.
    stripe.advance(days=8)
    assert _subscription().status == St.PAST_DUE
    assert _lecture(client, first) == 403
    page = client.get("/dashboard").get_data(as_text=True)
    assert "closed until you update your card" in _panel(client)
    assert 'data-testid="access-reason"' in page

    # Stripe gives up after its last retry: the subscription ends.
    stripe.advance(days=8)
    assert _subscription().status == St.CANCELED
    assert "Subscribe again" in _panel(client)
    assert _lecture(client, first) == 403

    # Resubscribe: access and progress come back. (Checkout runs on real time, not the test clock.)
    clock.real = True
    _subscribe(client, stripe)
    clock.real = False
    new = _subscription()
    assert new.status == St.ACTIVE and new.id != sub.id
    _start(client, first)
    assert _lecture(client, first) == 200
    db.session.expire_all()
    again = db.session.scalar(db.select(Enrollment).where(Enrollment.course_id == first.id))
    assert again.id == enrollment.id and again.subscription_id == new.id and again.completed_lectures == 1
    _start(client, second)
    assert _lecture(client, second) == 200


def test_cancel_at_period_end_in_the_portal(client, world, stripe, clock):
    course = world["courses"][0]
    _subscribe(client, stripe)
    _start(client, course)
    stripe.portal(_portal_url(client), "cancel", {"subscription": _subscription().stripe_subscription_id})
    stripe.deliver()
    sub = _subscription()
    assert sub.cancel_at_period_end and sub.status == St.ACTIVE
    assert "Ends on" in _panel(client)
    stripe.advance(days=20)
    assert _lecture(client, course) == 200  # open until the end of the period
    stripe.advance(days=11)
    sub = _subscription()
    assert sub.status == St.CANCELED and len(_invoices(sub)) == 1  # never charged again
    assert _lecture(client, course) == 403
    assert "Ended" in _panel(client)


def test_a_trial_charges_nothing_until_it_ends(client, world, stripe, clock):
    world["membership"].trial_days = 14
    db.session.commit()
    course = world["courses"][0]
    _subscribe(client, stripe)
    sub = _subscription()
    assert sub.status == St.TRIALING and sub.trial_end is not None
    assert all(invoice.amount_paid == 0 for invoice in _invoices(sub))
    _start(client, course)
    assert _lecture(client, course) == 200
    assert "Free trial" in _panel(client)
    stripe.advance(days=10)
    sub = _subscription()
    assert sub.status == St.TRIALING and all(invoice.amount_paid == 0 for invoice in _invoices(sub))
    stripe.advance(days=5)
    sub = _subscription()
    assert sub.status == St.ACTIVE and [i.amount_paid for i in _invoices(sub)] == [0, 2900]
    assert _lecture(client, course) == 200


def test_staff_refund_an_invoice_and_access_follows_the_policy(client, world, stripe, clock, staff, sign_in):
    course = world["courses"][0]
    _subscribe(client, stripe)
    _start(client, course)
    sub = _subscription()
    [invoice] = _invoices(sub)
    sign_in(client, staff)
    page = client.get(f"/staff/subscriptions/{sub.id}").get_data(as_text=True)
    assert invoice.id in page and "customer.subscription.created" in page and "invoice.paid" in page
    url = f"/staff/subscriptions/{sub.id}/invoices/{invoice.id}/refund"
    question = post_form(client, url, {"amount": "", "reason": "requested_by_customer"})
    text = question.get_data(as_text=True)
    assert question.status_code == 200 and "Refund $29.00 of $29.00 to learner@example.com" in text
    assert "access to All-Access" in text and "courses ends" in text
    assert post_form(client, url, {"amount": "", "reason": "requested_by_customer", "confirmed": "yes"}).status_code == 302
    stripe.deliver()
    db.session.expire_all()
    invoice = db.session.get(MembershipInvoice, invoice.id)
    sub = _subscription()
    assert invoice.amount_refunded == 2900 and sub.access_revoked_at is not None
    assert sub.status == St.CANCELED  # canceled on Stripe too: never charged again
    page = client.get(f"/staff/subscriptions/{sub.id}").get_data(as_text=True)
    assert "membership_invoice.refunded" in page and "charge.refunded" in page
    sign_in(client, world["learner"])
    assert _lecture(client, course) == 403
