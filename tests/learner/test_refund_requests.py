"""Learners' refund requests (issue 19): automatic inside the policy, the staff queue outside it,
approve / decline / withdraw, access per the policy, mail, and one refund whatever Stripe's
events do. Paid through the Stripe sandbox and fulfilled by its own webhook."""
import itertools
import random
from datetime import timedelta

import pytest

from extensions import db
from models import (AuditEvent, Enrollment, EnrollmentStatus, OutboxMail, PaymentSession, PaymentSessionStatus,
                    Refund, RefundRequest, RefundRequestStatus, utcnow)
from services.payments import refund_policy, refund_requests
from tests import factories
from tests.helpers import post_form
from tests.webhooks import builders as b


@pytest.fixture
def app_overrides(sandbox_config):
    return sandbox_config


@pytest.fixture
def buy(client, sandbox, paid_course):
    """buy(user, course=paid_course, coupon=None, progress=0, paid_days_ago=0) → the fulfilled payment."""
    def buy(user, course=None, *, coupon=None, progress=0.0, paid_days_ago=0):
        course = course or paid_course
        discount = 990 if coupon is not None else 0
        ps = factories.payment_session(user, course, coupon=coupon, discount=discount)
        session = b.open_on_sandbox(ps)
        b.sandbox_control(sandbox, f"checkout/sessions/{session['id']}/pay", {"card": "4242424242424242"})
        [completed] = [e for e in sandbox.events("checkout.session.completed")
                       if e["data"]["object"]["id"] == session["id"]]
        body, headers = sandbox.signed(completed["id"])
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
        db.session.expire_all()
        ps = db.session.get(PaymentSession, ps.id)
        ps.completed_at = utcnow() - timedelta(days=paid_days_ago)
        enrollment = db.session.scalar(db.select(Enrollment).where(Enrollment.payment_id == ps.id))
        enrollment.progress = progress
        db.session.commit()
        return ps
    return buy


def _reload(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def _enrollment(ps) -> Enrollment:
    db.session.expire_all()
    return db.session.scalar(db.select(Enrollment).where(Enrollment.payment_id == ps.id))


def _requests(ps) -> list[RefundRequest]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(RefundRequest).where(RefundRequest.payment_session_id == ps.id)))


def _mails(template: str) -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboxMail).where(OutboxMail.template == template)))


def _ask(client, ps, reason="", **kwargs):
    return post_form(client, f"/account/purchases/{ps.id}/refund", {"reason": reason}, **kwargs)


@pytest.fixture
def signed_in(client, learner, sign_in):
    sign_in(client, learner)
    return client


# --- inside the automatic rules --------------------------------------------------------------

def test_inside_the_window_at_low_progress_the_refund_is_issued_at_once(signed_in, buy, learner, sandbox, outbox):
    ps = buy(learner, progress=10)
    board = signed_in.get("/dashboard").get_data(as_text=True)
    assert "Request a refund" in board and "$99.00 back" in board
    page = signed_in.get(f"/account/purchases/{ps.id}/refund").get_data(as_text=True)
    assert "You will get <strong>$99.00</strong> back at once" in page
    response = _ask(signed_in, ps, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Refund of $99.00 issued" in text and "5 to 10 days" in text
    assert [r["amount"] for r in sandbox.state.refunds.values()] == [9900]
    ps = _reload(PaymentSession, ps.id)
    assert ps.status == PaymentSessionStatus.REFUNDED and ps.amount_refunded == 9900
    [row] = _requests(ps)
    assert row.status == RefundRequestStatus.REFUNDED and row.amount_refunded == 9900 and row.stripe_refund_id
    assert _enrollment(ps).status == EnrollmentStatus.REVOKED  # the policy's default: a refund revokes access
    assert [m["Subject"] for m in outbox if "refund" in m["Subject"].lower()] == ["Your refund for Python 101"]
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
    assert "refund_request.refunded" in actions and "payment.refund_requested" in actions
    # Nothing left: no button any more, and asking again is refused.
    assert "Request a refund" not in signed_in.get("/dashboard").get_data(as_text=True)
    assert _ask(signed_in, ps).status_code == 409
    assert len(sandbox.state.refunds) == 1


def test_a_policy_that_keeps_access_keeps_it_after_a_full_refund(signed_in, buy, learner, staff):
    refund_policy.update(window_days=14, max_progress_percent=30, revokes_access=False, actor=staff)
    db.session.commit()
    ps = buy(learner)
    assert _ask(signed_in, ps).status_code == 302
    assert _reload(PaymentSession, ps.id).status == PaymentSessionStatus.REFUNDED
    enrollment = _enrollment(ps)
    assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.payment_status.value == "REFUNDED"


# --- outside them: the staff queue --------------------------------------------------------------

@pytest.mark.parametrize("story, why", [
    ("progress", "More than 30% of the course is completed."),
    ("window", "The 14-day refund window has passed."),
    ("override", "This course has its own refund terms"),
    ("coupon", "The coupon used for this purchase has its own refund terms."),
])
def test_outside_the_rules_the_request_is_queued_with_the_reason(signed_in, buy, learner, staff, paid_course, sandbox,
                                                                 story, why):
    coupon = None
    if story == "override":
        refund_policy.set_course_override(paid_course, mode="custom", window_days=30, actor=staff)
        db.session.commit()
    if story == "coupon":
        coupon = factories.coupon(code="CAMP10", percent=10, extra={"refund_terms": "bootcamp"})
    ps = buy(learner, coupon=coupon, progress=50 if story == "progress" else 0,
             paid_days_ago=20 if story == "window" else 1)
    assert why in signed_in.get(f"/account/purchases/{ps.id}/refund").get_data(as_text=True)
    refused = _ask(signed_in, ps)  # staff need the learner's reason
    assert refused.status_code == 422 and "Tell our staff why" in refused.get_data(as_text=True)
    assert _ask(signed_in, ps, "The course is not what I expected.").status_code == 302
    [row] = _requests(ps)
    assert row.status == RefundRequestStatus.PENDING and row.queue_reason.startswith(why[:30])
    assert row.reason == "The course is not what I expected."
    assert sandbox.state.refunds == {} and _reload(PaymentSession, ps.id).amount_refunded == 0
    assert len(_mails("refund_request_received")) == 1
    board = signed_in.get("/dashboard").get_data(as_text=True)
    assert "Refund requested" in board and "Withdraw" in board
    assert _ask(signed_in, ps, "again").status_code == 409  # one pending request per purchase


def test_a_course_without_refunds_offers_no_request(signed_in, buy, learner, staff, paid_course):
    refund_policy.set_course_override(paid_course, mode="no_refunds", actor=staff)
    db.session.commit()
    ps = buy(learner)
    assert "Request a refund" not in signed_in.get("/dashboard").get_data(as_text=True)
    assert "This course cannot be refunded." in signed_in.get(f"/account/purchases/{ps.id}/refund").get_data(as_text=True)
    assert _ask(signed_in, ps, "please").status_code == 409 and _requests(ps) == []


def test_someone_elses_purchase_is_not_found(client, sign_in, buy, learner):
    ps = buy(learner)
    sign_in(client, factories.user())
    assert client.get(f"/account/purchases/{ps.id}/refund").status_code == 404
    assert _ask(client, ps, "mine?").status_code == 404


# --- withdraw, approve, decline -------------------------------------------------------------------

@pytest.fixture
def queued(signed_in, buy, learner):
    ps = buy(learner, progress=80)
    assert _ask(signed_in, ps, "Too advanced for me.").status_code == 302
    [row] = _requests(ps)
    return ps, row


def test_the_learner_withdraws_a_pending_request(signed_in, queued, client, sign_in):
    ps, row = queued
    other = factories.user()
    sign_in(client, other)
    assert post_form(client, f"/account/refund-requests/{row.id}/withdraw").status_code == 404
    sign_in(client, ps.user_id)
    assert post_form(client, f"/account/refund-requests/{row.id}/withdraw").status_code == 302
    assert _reload(RefundRequest, row.id).status == RefundRequestStatus.WITHDRAWN
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "refund_request.withdrawn")) is not None
    board = client.get("/dashboard").get_data(as_text=True)
    assert "Request a refund" in board  # they may ask again


def test_staff_approve_in_full_from_the_queue(queued, client, sign_in, staff, sandbox, outbox):
    ps, row = queued
    sign_in(client, staff)
    queue = client.get("/staff/refund-requests").get_data(as_text=True)
    assert 'data-testid="refund-request-row"' in queue and "More than 30%" in queue
    assert "Too advanced for me." in client.get(f"/staff/refund-requests/{row.id}").get_data(as_text=True)
    response = post_form(client, f"/staff/refund-requests/{row.id}/approve", {"amount": "", "message": "Sorry!"})
    assert response.status_code == 302
    row = _reload(RefundRequest, row.id)
    assert (row.status, row.amount_refunded, row.decided_by_id) == (RefundRequestStatus.APPROVED, 9900, staff.id)
    assert [r["amount"] for r in sandbox.state.refunds.values()] == [9900]
    audit = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "refund_request.approved"))
    assert audit.actor_id == staff.id
    [decided] = [m for m in outbox if "approved" in m["Subject"]]
    assert "Sorry!" in decided.get_content() and "$99.00" in decided.get_content()
    assert "No refund requests match." in client.get("/staff/refund-requests").get_data(as_text=True)
    assert post_form(client, f"/staff/refund-requests/{row.id}/approve", {"amount": ""}).status_code == 409


def test_staff_approve_part_and_access_follows_the_partial_rule(queued, client, sign_in, staff, sandbox):
    ps, row = queued
    sign_in(client, staff)
    assert post_form(client, f"/staff/refund-requests/{row.id}/approve", {"amount": "25.00"}).status_code == 302
    assert _reload(RefundRequest, row.id).amount_refunded == 2500
    ps = _reload(PaymentSession, ps.id)
    assert ps.amount_refunded == 2500 and ps.status == PaymentSessionStatus.COMPLETED
    assert _enrollment(ps).status != EnrollmentStatus.REVOKED  # partial: kept (PARTIAL_REFUND_KEEPS_ACCESS)
    too_much = post_form(client, f"/staff/refund-requests/{row.id}/approve", {"amount": "500"})
    assert too_much.status_code == 409  # decided already


def test_approving_again_after_a_lost_commit_replays_the_refund_once_the_webhook_recorded_it(
        queued, client, sign_in, staff, sandbox):
    ps, row = queued
    # Stripe refunds part, then our transaction is lost: the request is still pending.
    refund_requests.approve(row.id, amount=2500, message="", actor=staff, now=utcnow())
    db.session.rollback()
    assert _reload(RefundRequest, row.id).status == RefundRequestStatus.PENDING
    # Stripe's refund webhooks record it meanwhile (the purchase's refund state moves on).
    sandbox.wait_for(lambda: sandbox.events("charge.refunded"))
    for event in [e for e in sandbox.events() if e["type"].startswith(("refund.", "charge.refunded"))]:
        body, headers = sandbox.signed(event["id"])
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    assert _reload(PaymentSession, ps.id).amount_refunded == 2500
    sign_in(client, staff)
    assert post_form(client, f"/staff/refund-requests/{row.id}/approve", {"amount": "25.00"}).status_code == 302
    assert [r["amount"] for r in sandbox.state.refunds.values()] == [2500]  # one refund, replayed
    row = _reload(RefundRequest, row.id)
    assert (row.status, row.amount_refunded) == (RefundRequestStatus.APPROVED, 2500)
    assert _reload(PaymentSession, ps.id).amount_refunded == 2500


def test_staff_decline_with_a_message(queued, client, sign_in, staff, sandbox, outbox):
    ps, row = queued
    sign_in(client, staff)
    assert post_form(client, f"/staff/refund-requests/{row.id}/decline", {"message": ""}).status_code == 422
    assert post_form(client, f"/staff/refund-requests/{row.id}/decline",
                     {"message": "You finished most of it."}).status_code == 302
    row = _reload(RefundRequest, row.id)
    assert row.status == RefundRequestStatus.DECLINED and row.staff_message == "You finished most of it."
    assert sandbox.state.refunds == {}
    [decided] = [m for m in outbox if m["Subject"] == "Your refund request for Python 101"]
    assert "You finished most of it." in decided.get_content()
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "refund_request.declined")).actor_id == staff.id
    listed = client.get("/staff/refund-requests?status=DECLINED").get_data(as_text=True)
    assert 'data-testid="refund-request-row"' in listed


def test_the_queue_is_oldest_first_and_filters_by_status(client, sign_in, staff, buy, paid_course):
    from services.payments import refund_requests

    learners = [factories.user() for _ in range(3)]
    for index, user in enumerate(learners):
        ps = buy(user, progress=90)
        refund_requests.request(user, ps.id, reason=f"reason {index}", now=utcnow() - timedelta(hours=3 - index))
        db.session.commit()
    sign_in(client, staff)
    page = client.get("/staff/refund-requests").get_data(as_text=True)
    positions = [page.index(user.email) for user in learners]
    assert positions == sorted(positions)
    assert "No refund requests match." in client.get("/staff/refund-requests?status=APPROVED").get_data(as_text=True)


# --- one refund whatever Stripe's events do ---------------------------------------------------------

def test_the_sandbox_refund_events_in_any_order_leave_one_refund(signed_in, buy, learner, sandbox, client, outbox):
    ps = buy(learner)
    assert _ask(signed_in, ps).status_code == 302
    sandbox.wait_for(lambda: sandbox.events("charge.refunded"))
    events = [e for e in sandbox.events() if e["type"].startswith(("refund.", "charge.refunded"))]
    assert events
    orders = list(itertools.permutations(events))
    random.Random(19).shuffle(orders)
    for order in orders[:4]:
        for event in order + order:  # each delivered twice
            body, headers = sandbox.signed(event["id"])
            assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    db.session.expire_all()
    assert [(r.amount, r.status) for r in db.session.scalars(db.select(Refund))] == [(9900, "succeeded")]
    ps = _reload(PaymentSession, ps.id)
    assert ps.amount_refunded == 9900 and len(sandbox.state.refunds) == 1
    assert len(_mails("refund")) == 1
    [row] = _requests(ps)
    assert row.status == RefundRequestStatus.REFUNDED
