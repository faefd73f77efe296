"""What a payment session sells: the one place lists, receipts, staff pages, the API, mails and
analytics ask (issue 20's products foundation; /work/tools/products.md, docs/checkout.md).

A payment session sells one course (`course_id`, today's checkout) or another product whose id
sits in its own column (`bundle_id`, ...; course_id is then NULL). Each kind is one `ProductKind`
in `KINDS`, read through the PaymentSession relationship of the same name, so this module reads
models only and any domain may import it. The courses a multi-course payment enrolls are its
`payment_session_courses` rows (`items`), decided at checkout by services/payments/purchases.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from extensions import db
from models import Course, Enrollment, PaymentSession


@dataclass(frozen=True)
class ProductKind:
    kind: str  # "BUNDLE", "LEARNING_PATH", ...
    relation: str  # the PaymentSession relationship holding the product ("bundle")
    title: Callable[[Any], str]
    endpoint: str | None  # its public page, for url_for
    args: Callable[[Any], dict]


@dataclass(frozen=True)
class Sold:
    kind: str  # "COURSE" or a ProductKind.kind
    id: int | None
    title: str
    endpoint: str | None = None  # url_for(endpoint, **args): the product's public page
    args: dict = field(default_factory=dict)


def _bundle_args(bundle) -> dict:
    return {"slug": bundle.slug}


def _path_args(path) -> dict:
    return {"slug": path.slug}


# A new product kind adds its entry here (and its column + relationship on PaymentSession).
KINDS: list[ProductKind] = [
    ProductKind("BUNDLE", "bundle", lambda bundle: bundle.name, "catalog.bundle", _bundle_args),
    # A learning path's paid courses (issue 20; services/payments/path_checkout.py).
    ProductKind("LEARNING_PATH", "learning_path", lambda path: path.name, "paths.show", _path_args),
    # A membership's subscription checkout (issue 16): it enrolls no course itself (SUBSCRIPTION
    # enrollments are made when the member starts a course). Its public page: the memberships page.
    ProductKind("MEMBERSHIP", "membership", lambda membership: membership.name, "memberships.index",
                lambda membership: {"_anchor": f"membership-{membership.slug}"}),
]


def sold(payment_session: PaymentSession) -> Sold:
    """Kind, id, title and public page of what `payment_session` sells."""
    if payment_session.course_id is not None:
        course = payment_session.course
        return Sold("COURSE", course.id, course.title, "catalog.course", {"slug": course.slug})
    for kind in KINDS:
        product = getattr(payment_session, kind.relation, None)
        if product is not None:
            return Sold(kind.kind, product.id, kind.title(product), kind.endpoint, kind.args(product))
    return Sold("UNKNOWN", None, "Removed product")


def same_product(payment_session: PaymentSession):
    """SQL: a payment session selling what `payment_session` sells."""
    if payment_session.course_id is not None:
        return PaymentSession.course_id == payment_session.course_id
    for kind in KINDS:
        value = getattr(payment_session, f"{kind.relation}_id", None)
        if value is not None:
            return getattr(PaymentSession, f"{kind.relation}_id") == value
    return PaymentSession.id == payment_session.id


def is_multi_course(payment_session: PaymentSession) -> bool:
    """A product sold through services/payments/purchases.py (its courses are `items`)."""
    return payment_session.course_id is None


def courses_of(payment_session: PaymentSession) -> list[Course]:
    """The courses the payment enrolls (or enrolled), in order."""
    if payment_session.course_id is not None:
        return [payment_session.course]
    return [item.course for item in payment_session.items]


def enrollments_of(payment_session: PaymentSession) -> list[Enrollment]:
    """Every enrollment this payment paid for (`payment_id` = the session), by id; for an older
    single-course session also its `enrollment_id` when that enrollment names no other payment."""
    found = list(db.session.scalars(db.select(Enrollment).where(Enrollment.payment_id == payment_session.id)
                                    .order_by(Enrollment.id)))
    # Never for a product: its enrollments all name it, and its enrollment_id may be access the
    # learner got another way (purchases.enroll_all leaves that alone).
    if not found and payment_session.course_id is not None and payment_session.enrollment_id:
        enrollment = db.session.get(Enrollment, payment_session.enrollment_id)
        if enrollment is not None and enrollment.payment_id in (None, payment_session.id):
            found = [enrollment]
    return found
