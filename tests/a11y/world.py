"""The pages a learner and a staff member use every day, with data behind them, for the browser
tests that look at many pages at once (tests/a11y/test_axe.py, tests/staff/test_browser_layout.py).

`build(live_server)` makes a learner and a staff member (password DEFAULT_PASSWORD), a paid
course with a completed payment, an open checkout on the sandbox, a certificate, coupons,
an enrollment, a partly refunded payment and a failed one, a learning path the learner follows,
and returns the paths of the pages.
`signed_in(browser, live_server, email)` is a browser context signed in through the real form.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from extensions import db
from services import audit
from services.learning import paths as learning_paths
from tests import factories
from tests.helpers import DEFAULT_PASSWORD
from tests.webhooks import builders as wb

LEARNER = "lena@example.com"
STAFF = "sam@example.com"


def build(live_server) -> dict:
    learner = factories.user(email=LEARNER, name="Lena Learner")
    staff = factories.user(email=STAFF, name="Sam Staff", role="ADMIN")
    course = factories.course(slug="python-101", title="Python 101", price=12900, lectures=3)
    free = factories.course(slug="git-basics", title="Git Basics", price=0, enrollment_type="FREE", lectures=2)
    coupon = factories.coupon(code="SAVE20", percent=20, name="Twenty off")
    to_buy = factories.course(slug="design-301", title="Design 301", price=7900)
    now = datetime.now(timezone.utc)

    paid = factories.payment_session(learner, course, "COMPLETED", coupon=coupon, discount=2580, hold=False,
                                     stripe_session_id="cs_test_axe_paid", payment_intent_id="pi_axe_paid",
                                     amount_refunded=2900)
    enrollment = factories.enrollment(learner, course, paid=True, payment_id=paid.id)
    paid.enrollment_id = enrollment.id
    audit.record("payment.refund_recorded", paid, actor_label="stripe",
                 before={"amount_refunded": 0}, after={"amount_refunded": 2900})
    factories.payment_session(learner, course, "FAILED", failure_code="card_declined")
    certified = factories.enrollment(learner, free, status="COMPLETED", completed_at=now - timedelta(days=1),
                                     certificate_earned=True, certificate_earned_at=now - timedelta(days=1),
                                     certificate_id="cert_axe_0001", progress=100)
    db.session.commit()

    # An open checkout on the sandbox: its hosted page, and the cancel page that comes back from it.
    pending_course = factories.course(slug="data-201", title="Data 201", price=4900)
    pending = factories.payment_session(learner, pending_course)
    hosted = wb.open_on_sandbox(pending)["url"]
    lecture = course.lectures[0]
    # A learning path the learner follows (issue 20): its page, the dashboard's path group.
    path = factories.learning_path([free, course, to_buy], slug="web-path", name="Web Path", sequential=True,
                                   price=15900, currency="USD")
    learning_paths.join(learner, path, now)
    db.session.commit()
    # Memberships (issue 16): one the learner is in (a failed renewal on the dashboard), one on offer.
    from tests.memberships import pages_builders
    pages_builders.membership("All-Access", trial_days=7)
    member_of = pages_builders.membership("Data Club", monthly=None, yearly=9900, courses=[course])
    subscription = pages_builders.subscription(learner, member_of, "PAST_DUE", interval="YEAR",
                                               past_due_since=now - timedelta(days=1))
    pages_builders.invoice(subscription, "paid")
    pages_builders.invoice(subscription, "open", reason="subscription_cycle", failed_at=now - timedelta(days=1))
    return {
        "learner": learner, "staff": staff, "course": course, "payment": paid, "enrollment": enrollment,
        "pages": {
            "catalog": "/courses",
            "course": f"/courses/{to_buy.slug}",
            "signup": "/signup",
            "success": "/checkout/success?session_id=cs_test_axe_paid",
            "cancel": f"/checkout/cancel?payment_session={pending.id}",
            "dashboard": "/dashboard",
            "lecture": f"/courses/{course.slug}/lectures/{lecture.id}",
            "certificate": f"/certificates/{certified.certificate_id}",
            "paths": "/paths",
            "path": f"/paths/{path.slug}",
            "memberships": "/memberships",
        },
        "hosted": hosted,
        "staff_pages": {
            "overview": "/staff/",
            "coupons": "/staff/coupons",
            "coupon": f"/staff/coupons/{coupon.id}",
            "coupon form": "/staff/coupons/new",
            "courses": "/staff/courses",
            "learning paths": "/staff/paths",
            "learning path": f"/staff/paths/{path.id}",
            "course": f"/staff/courses/{course.id}",
            "payments": "/staff/payments",
            "payment": f"/staff/payments/{paid.id}",
            "enrollments": f"/staff/enrollments/{course.id}",
            "analytics": "/staff/analytics",
            "users": "/staff/users",
            "audit": "/staff/audit",
            "refund requests": "/staff/refund-requests",
            "memberships": "/staff/memberships",
            "membership form": f"/staff/memberships/{member_of.id}/edit",
            "subscribers": f"/staff/memberships/{member_of.id}",
            "subscription": f"/staff/subscriptions/{subscription.id}",
            "account": "/account",
        },
    }


def signed_in(browser, live_server, email: str, viewport: dict, javascript: bool = True):
    """A browser context signed in as `email` through the sign-in form."""
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def document_overflow(page) -> int:
    """How many pixels the document is wider than the viewport (0: nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def scrolling_tables(page) -> list[str]:
    """The tables on the page that need an inner horizontal scrollbar."""
    return page.evaluate("""[...document.querySelectorAll('.table-wrap')]
        .filter(w => w.scrollWidth > w.clientWidth + 1)
        .map(w => (w.querySelector('thead') || w).innerText.replace(/\\s+/g, ' ').slice(0, 80))""")
