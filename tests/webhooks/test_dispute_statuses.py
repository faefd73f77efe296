"""Every dispute status Stripe documents has an effect; an unknown one keeps state and flags.

The table is docs/webhooks.md ("Dispute statuses"). Each status is delivered after a dispute
opened (enrollment SUSPENDED) and on a payment with no dispute yet (enrollment ACTIVE).
"""
import pytest

from models import EnrollmentStatus
from services.payments import disputes
from tests.webhooks import builders as b

OPENED = EnrollmentStatus.SUSPENDED
EXPECTED = {  # status → the enrollment afterwards, whatever came before
    "warning_needs_response": EnrollmentStatus.SUSPENDED,
    "warning_under_review": EnrollmentStatus.SUSPENDED,
    "needs_response": EnrollmentStatus.SUSPENDED,
    "under_review": EnrollmentStatus.SUSPENDED,
    "appeal_needs_response": EnrollmentStatus.SUSPENDED,
    "appeal_under_review": EnrollmentStatus.SUSPENDED,
    "warning_closed": EnrollmentStatus.ACTIVE,
    "won": EnrollmentStatus.ACTIVE,
    "prevented": EnrollmentStatus.ACTIVE,
    "lost": EnrollmentStatus.REVOKED,
}


@pytest.fixture
def paid(deliver, ps):
    deliver("checkout.session.completed", b.checkout_session(ps))
    return deliver.reload(ps)


def test_the_table_covers_every_documented_status():
    assert set(disputes.EFFECTS) == set(EXPECTED)


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_each_status_after_a_dispute_opened(deliver, paid, status):
    dispute = b.dispute(paid, status="needs_response")
    deliver("charge.dispute.created", dispute)
    assert deliver.enrollments(paid)[0].status == OPENED
    deliver("charge.dispute.updated" if EXPECTED[status] == OPENED else "charge.dispute.closed",
            {**dispute, "status": status})
    assert deliver.enrollments(paid)[0].status == EXPECTED[status]


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_each_status_as_the_first_report(deliver, paid, status):
    deliver("charge.dispute.created", b.dispute(paid, status=status))
    ps = deliver.reload(paid)
    assert deliver.enrollments(ps)[0].status == EXPECTED[status]
    assert ps.needs_review == (EXPECTED[status] != EnrollmentStatus.ACTIVE)


def test_a_prevented_dispute_no_longer_suspends_forever(deliver, paid):
    dispute = b.dispute(paid, status="warning_needs_response")
    deliver("charge.dispute.created", dispute)
    deliver("charge.dispute.closed", {**dispute, "status": "prevented"})
    deliver("charge.dispute.updated", {**dispute, "status": "warning_needs_response"})  # stale, late
    assert deliver.enrollments(paid)[0].status == EnrollmentStatus.ACTIVE


@pytest.mark.parametrize("before", [EnrollmentStatus.ACTIVE, EnrollmentStatus.SUSPENDED])
def test_an_unknown_status_keeps_the_state_and_flags_the_payment(deliver, paid, before):
    dispute = b.dispute(paid, status="needs_response")
    if before == EnrollmentStatus.SUSPENDED:
        deliver("charge.dispute.created", dispute)
    deliver("charge.dispute.updated", {**dispute, "status": "arbitration_pending"})
    ps = deliver.reload(paid)
    assert deliver.enrollments(ps)[0].status == before
    assert ps.needs_review and "arbitration_pending" in ps.review_reason
    # A later known status applies again.
    deliver("charge.dispute.closed", {**dispute, "status": "won"})
    assert deliver.enrollments(ps)[0].status == EnrollmentStatus.ACTIVE
