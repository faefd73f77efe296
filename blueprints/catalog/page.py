"""The course page, rendered one way by every view that shows it: the catalog's page and
checkout's answer when it refuses an invitation code. (A code refused at "Buy" is answered
with a redirect to the page itself, whose quote states the reason: see checkout's routes.)

The offer (price, enrollment, waitlist) comes from services/payments/checkout.offer; the catalog
service cannot assemble it, since courses import nothing of payments (docs/architecture.md).
"""
from flask import render_template
from flask_login import current_user

from blueprints.checkout.forms import ApplyCouponForm, RedeemInvitationForm
from models import Course, utcnow
from services.bundles import catalog as bundle_catalog
from services.memberships import catalog as membership_catalog
from services.payments import checkout, refund_policy


def render_course_page(course: Course, code: str | None = None, *, coupon_form: ApplyCouponForm | None = None,
                       invitation_form: RedeemInvitationForm | None = None, rate_limited: str | None = None) -> str:
    """The page for the signed-in learner (or visitor), priced with `code` when one is given."""
    user = current_user if current_user.is_authenticated else None
    return render_template(
        "catalog/course.html", course=course, offer=checkout.offer(course, user, code, utcnow()),
        form=coupon_form or ApplyCouponForm(formdata=None, data={"coupon_code": code or ""}),
        invitation_form=invitation_form or RedeemInvitationForm(formdata=None),
        rate_limited=rate_limited, bundles=bundle_catalog.containing(course), memberships=included_in(course),
        refund_terms=refund_policy.describe(refund_policy.terms_for(course)) if not course.is_free else None)


def included_in(course: Course) -> list[tuple]:
    """The active memberships that unlock `course`, each with its price label ("$29.00/month",
    the monthly price when it has one): the course page's "Included in All-Access" line."""
    if course.is_free:
        return []
    return [(membership, membership_catalog.price_label(membership, membership.intervals[0]))
            for membership in membership_catalog.unlocking(course)]
