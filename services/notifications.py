"""What learners are told by mail, and how each mail reads.

Services call these where the change happens (fulfillment, refunds, password reset, an
abandoned checkout): each queues one outbox row in the current transaction (services/mail.py),
keyed by its cause, with what the text needs as it is now. `render` turns a row into subject
and body when it is sent, from `templates/mail/<template>.txt` (the template sets `subject`).
"""
from __future__ import annotations

from typing import NamedTuple

from flask import current_app

from extensions import db
from models import Enrollment, OutboxMail, PaymentSession, User, utcnow
from services import mail, products


def enrollment_paid(payment_session: PaymentSession, enrollment: Enrollment) -> None:
    """"You're enrolled": the confirmation and receipt of a paid checkout (once per payment)."""
    user, sold = payment_session.user, products.sold(payment_session)
    paid_at = payment_session.completed_at or utcnow()
    mail.queue("receipt", user.email, key=f"receipt:{payment_session.id}", user=user, context={
        "user_name": user.name, "course_title": sold.title, "course_slug": sold.args.get("slug"),
        "link_endpoint": sold.endpoint, "product_kind": sold.kind,
        "course_titles": [course.title for course in products.courses_of(payment_session)],
        "course_id": payment_session.course_id, "payment_session_id": payment_session.id, "currency": payment_session.currency,
        "list_price": payment_session.amount, "coupon_code": payment_session.coupon_code,
        "discount": payment_session.discount_amount,
        "charged": payment_session.final_amount if sold.kind != "COURSE" else enrollment.amount_paid or payment_session.final_amount,
        "card": (payment_session.extra or {}).get("card"), "paid_on": f"{paid_at:%d %B %Y}",
        "stripe_session_id": payment_session.stripe_session_id})


def refund_recorded(payment_session: PaymentSession, *, refunded_before: int, refunded_total: int,
                    access_ends: bool = False) -> None:
    """A refund notice, once per rise of the refunded total; says whether access ends (the
    refund policy's rule, decided by refunds.revokes_access)."""
    if refunded_total <= refunded_before:
        return  # a recorded refund failed: nothing was given back
    title, user = products.sold(payment_session).title, payment_session.user
    mail.queue("refund", user.email, key=f"refund:{payment_session.id}:{refunded_total}", user=user, context={
        "user_name": user.name, "course_title": title, "payment_session_id": payment_session.id,
        "currency": payment_session.currency, "charged": payment_session.final_amount,
        "refunded_now": refunded_total - refunded_before, "refunded_total": refunded_total,
        "full": refunded_total >= payment_session.final_amount, "access_ends": access_ends})


def refund_request_received(request, payment_session: PaymentSession) -> None:
    """"We have your refund request": it went to the staff queue (issue 19)."""
    title, user = products.sold(payment_session).title, payment_session.user
    mail.queue("refund_request_received", user.email, key=f"refund-request:{request.id}:received", user=user,
               context={"user_name": user.name, "course_title": title, "payment_session_id": payment_session.id,
                        "currency": request.currency, "amount": request.amount_requested,
                        "queue_reason": request.queue_reason})


def refund_request_decided(request, payment_session: PaymentSession) -> None:
    """Staff approved (all or part) or declined a refund request, with their message."""
    title, user = products.sold(payment_session).title, payment_session.user
    mail.queue("refund_request_decided", user.email, key=f"refund-request:{request.id}:decided", user=user,
               context={"user_name": user.name, "course_title": title, "payment_session_id": payment_session.id,
                        "currency": request.currency, "approved": request.status.value == "APPROVED",
                        "amount": request.amount_refunded or 0, "requested": request.amount_requested,
                        "message": request.staff_message})


def password_reset(user: User, *, request_id: str) -> None:
    """A reset link. The token is made when the mail is sent (never stored), so the link is
    valid PASSWORD_RESET_MINUTES from then and staff previews cannot show it."""
    mail.queue("password_reset", user.email, key=f"password-reset:{user.id}:{request_id}", user=user,
               context={"user_id": user.id, "user_name": user.name, "email": user.email})


def checkout_reminder(checkout: PaymentSession, *, coupon_code: str | None, key: str) -> bool:
    """"Still thinking about it?": once per abandoned checkout (services/payments/reminders.py)."""
    course, user = checkout.course, checkout.user
    return mail.queue("checkout_reminder", user.email, key=key, user=user, context={
        "user_id": user.id, "user_name": user.name, "course_title": course.title, "course_slug": course.slug,
        "coupon_code": coupon_code, "payment_session_id": checkout.id})


class Rendered(NamedTuple):
    subject: str
    body: str
    headers: dict


def render(template: str, context: dict, *, preview: bool = False) -> Rendered:
    """Subject, body and extra headers of an outbox mail. `preview` (staff) leaves secrets out.
    Raises MailCancelled when the mail should no longer go."""
    config = current_app.config
    context = {**context, "link": link}
    headers: dict = {}
    if template == "password_reset":
        context["minutes"] = config["PASSWORD_RESET_MINUTES"]
        context["reset_link"] = "(a one-time link, shown only in the mail itself)" if preview \
            else _reset_link(context["user_id"])
    if template == "receipt":
        # The refund terms in words, read when the mail is rendered (by the worker): the paid
        # webhook that queues the receipt pays no statement for them (its count is pinned).
        context["refund_terms"] = _refund_terms(context)
    if template == "checkout_reminder":
        query = {"coupon": context["coupon_code"]} if context.get("coupon_code") else {}
        context["course_link"] = link("catalog.course", slug=context["course_slug"], **query)
        if preview:
            context["unsubscribe_link"] = "(a personal link, shown only in the mail itself)"
        else:
            context["unsubscribe_link"] = _unsubscribe_link(context["user_id"])
            # One click from the mail program too (RFC 8058): it POSTs to the same link.
            headers = {"List-Unsubscribe": f"<{context['unsubscribe_link']}>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    module = current_app.jinja_env.get_template(f"mail/{template}.txt").make_module(context)
    return Rendered(str(getattr(module, "subject", template)), str(module).strip() + "\n", headers)


def message_for(row: OutboxMail, *, preview: bool = False):
    """The EmailMessage an outbox row becomes (tests and the staff preview)."""
    rendered = render(row.template, row.context, preview=preview)
    return mail.build_message(row.to_address, row.dedupe_key, *rendered)


def link(endpoint: str, **values) -> str:
    """An absolute link on FRONTEND_URL: mails are rendered by the worker, with no request."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["FRONTEND_URL"] + path


def _reset_link(user_id: int) -> str:
    from services.people import accounts  # accounts queues this mail: imported late, no cycle

    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise MailCancelled("the account is gone or disabled")
    return link("auth.reset_password", token=accounts.reset_token(user, current_app.config["SECRET_KEY"]))


def _refund_terms(context: dict) -> str | None:
    from services.payments import refund_policy  # payments queues the receipt: imported late, no cycle

    course_id = context.get("course_id")
    if course_id is not None:
        return refund_policy.describe(refund_policy.terms_for(course_id))
    # A bundle's receipt (its courses' strictest terms), or one queued before the course id was kept.
    payment = db.session.get(PaymentSession, context.get("payment_session_id") or "")
    return refund_policy.describe(refund_policy.terms_for_payment(payment)) if payment is not None else None


def _unsubscribe_link(user_id: int) -> str:
    from services.payments import reminders  # reminders queues this mail: imported late, no cycle

    # A mail retried for hours must not reach a learner who opted out (or was disabled) since.
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or not user.checkout_reminders:
        raise MailCancelled("the learner no longer wants checkout reminders")
    return link("learner.unsubscribe_reminders", token=reminders.unsubscribe_token(user_id, current_app.config["SECRET_KEY"]))


class MailCancelled(Exception):
    """The mail should no longer be sent (its reason is gone); the worker drops it."""


def referral_reward_earned(reward, coupon) -> None:
    """"Your referral reward": the coupon a referrer earned (issue 20, services/referrals), once
    per reward."""
    from services.referrals.rewards import describe  # referrals queues this mail: imported late, no cycle

    user, payment = reward.referrer, reward.payment
    mail.queue("referral_reward", user.email, key=f"referral-reward:{reward.id}", user=user, context={
        "user_name": user.name, "coupon_code": coupon.code, "discount": describe(reward),
        "valid_until": f"{coupon.valid_until:%d %B %Y}" if coupon.valid_until else None,
        "course_title": products.sold(payment).title})


# --- memberships (issue 16) ----------------------------------------------------------------

def _membership_context(subscription) -> dict:
    user, membership = subscription.user, subscription.membership
    return {"user_name": user.name, "membership_name": membership.name, "currency": subscription.currency,
            "amount": subscription.amount, "interval": subscription.interval.stripe,
            "period_end": f"{subscription.current_period_end:%d %B %Y}" if subscription.current_period_end else "",
            "trial_end": f"{subscription.trial_end:%d %B %Y}" if subscription.trial_end else "",
            "subscription_id": subscription.id}


def membership_welcome(subscription) -> bool:
    """"Welcome to <membership>": once per subscription, when it first opens its courses."""
    user = subscription.user
    return mail.queue("membership_welcome", user.email, key=f"membership-welcome:{subscription.id}", user=user,
                      context={**_membership_context(subscription),
                               "trialing": subscription.status.value == "TRIALING"})


def membership_trial_ending(subscription) -> bool:
    """"Your trial ends in 3 days" (Stripe's trial_will_end), once per trial end."""
    user = subscription.user
    key = f"membership-trial-ending:{subscription.id}:{subscription.trial_end:%Y%m%d}"
    return mail.queue("membership_trial_ending", user.email, key=key, user=user,
                      context=_membership_context(subscription))


def membership_payment_failed(subscription, invoice) -> bool:
    """"Update your card": once per failed invoice (Stripe retries it; one mail is enough)."""
    user = subscription.user
    grace_end = subscription.grace_ends_at()
    return mail.queue("membership_payment_failed", user.email, key=f"membership-payment-failed:{invoice.id}",
                      user=user, context={**_membership_context(subscription), "amount_due": invoice.amount_due,
                                          "grace_end": f"{grace_end:%d %B %Y}" if grace_end else ""})


def membership_ended(subscription) -> bool:
    """"Your membership has ended" (canceled, or unpaid after the retries), once per subscription."""
    user = subscription.user
    return mail.queue("membership_ended", user.email, key=f"membership-ended:{subscription.id}", user=user,
                      context=_membership_context(subscription))
