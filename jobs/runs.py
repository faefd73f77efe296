"""One run of each periodic job: called by its `flask …` command and by its Huey task.

Each run works through its units (a payment session, an event, a mail) one transaction at a
time, committing after each, so a failure costs one unit, not the batch. Units are claimed
with row locks (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL) or guarded by unique keys,
so several workers, and cron on every instance, may run the same job at once. `echo` says
what happened (the command passes `click.echo`, the task the log).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app

from blueprints.webhooks import delivery
from extensions import db
from models import MailStatus, OutboxMail, utcnow
from services import idempotency, mail, notifications
from services.errors import DomainError
from services.people import sessions as sign_ins  # sign-in sessions, not payment ones
from services.payments import reconcile as reconcile_service
from services.payments import receipts, reminders, stripe_gateway, webhook_inbox
from services.people import accounts
from services.referrals import rewards as referral_rewards

log = logging.getLogger(__name__)
Echo = Callable[..., None]


def _log_echo(message: str, err: bool = False) -> None:
    (log.warning if err else log.info)("%s", message)


def reconcile(*, older_than_minutes: int = 15, limit: int = 200, events: bool = True, echo: Echo = _log_echo) -> int:
    """Ask Stripe about PENDING/PROCESSING sessions and stale-looking membership subscriptions, and
    apply what it says; then, with
    `events`, feed Stripe's undelivered events of the last 3 days through the webhook inbox.
    A unit that fails is reported (a failed event is recorded in the inbox) and the run goes
    on; returns how many failed. Raises StripeGatewayError when the events cannot be listed."""
    now = utcnow()
    candidates = reconcile_service.stale_candidates(older_than=timedelta(minutes=older_than_minutes),
                                                    now=now, limit=limit)
    counts = _each_session(candidates, reconcile_service.reconcile_one, now, "not reconciled", echo)
    echo("Sessions: " + (_summary(counts) or "none to check"))
    failures = counts.get("ERROR", 0)
    stale = reconcile_service.stale_subscriptions(now=now, limit=limit)
    counts = _each_session(stale, reconcile_service.reconcile_subscription, now, "not reconciled", echo)
    echo("Subscriptions: " + (_summary(counts) or "none to check"))
    failures += counts.get("ERROR", 0)
    if not events:
        return failures
    applied = 0
    pending = list(reconcile_service.undelivered_events(since=now - timedelta(days=3)))
    for data in pending:
        if webhook_inbox.is_done(data["id"]):
            continue
        attempt = delivery.receive(data)  # a failure is recorded in the inbox; retry-failed picks it up
        if attempt.failed:
            echo(f"{data['id']}: failed ({type(attempt.error).__name__})", err=True)
            failures += 1
        else:
            applied += 1
    echo(f"Undelivered events: {len(pending)} listed, {applied} applied.")
    return failures


def expire_stale(*, limit: int = 200, echo: Echo = _log_echo) -> None:
    """Expire overdue PENDING sessions on Stripe and here, releasing their coupon holds."""
    now = utcnow()
    candidates = reconcile_service.overdue_candidates(now=now, limit=limit)
    counts = _each_session(candidates, reconcile_service.expire_one, now, "not expired", echo)
    echo("Overdue sessions: " + (_summary(counts) or "none"))


def retry_failed_webhooks(*, limit: int = 100, echo: Echo = _log_echo) -> int:
    """Reprocess failed inbox events (rows claimed with SKIP LOCKED); returns how many failed again."""
    done = failed = skipped = 0
    for event_id in webhook_inbox.failed_event_ids(limit):
        attempt = delivery.retry(event_id)
        if attempt.failed:
            echo(f"{event_id}: failed again ({type(attempt.error).__name__}: {attempt.error})")
            failed += 1
        elif attempt.outcome is None:
            skipped += 1
        else:
            done += 1
            echo(f"{event_id}: {attempt.outcome.status.value}")
    echo(f"Retried {done}, failed {failed}, skipped {skipped} (done or held by another worker).")
    return failed


def send_mail(mail_id: int | None = None) -> bool:
    """Send one outbox mail: `mail_id` (the hint queued on commit) or the one due longest
    (the sweep). False when there was nothing to send (sent already, held by another worker,
    or not due). No transaction is open while Stripe or the SMTP server is talked to."""
    now = utcnow()
    row = mail.claim(mail_id, now=now) if mail_id is not None else mail.claim_next(now=now)
    if row is None:
        db.session.rollback()
        return False
    mail_id, attempt, template, context = row.id, row.attempts, row.template, dict(row.context)
    db.session.commit()  # the claim is visible: no other worker takes this mail during its lease
    if template == "receipt" and not context.get("card"):
        card = receipts.card_from_stripe(context.get("stripe_session_id"))
        if card:
            context["card"] = card
            receipts.record_card(context["payment_session_id"], card)
    row = db.session.get(OutboxMail, mail_id)
    if row.context != context:
        row.context = context  # the staff preview shows the card too
    try:
        message = mail.build_message(row.to_address, row.dedupe_key, *notifications.render(template, context))
    except notifications.MailCancelled as reason:
        row.status, row.last_error = MailStatus.CANCELLED, f"not sent: {reason}"
        db.session.commit()
        return True
    except Exception as error:  # noqa: BLE001 - a template or data problem: kept, retried, visible to staff
        log.exception("Mail %s could not be rendered", mail_id)
        db.session.rollback()  # a failed statement may have aborted the transaction
        _finish(mail_id, f"{type(error).__name__}: {error}")
        return True
    db.session.commit()
    error_text = None
    try:
        mail.transport(message)
    except Exception as error:  # noqa: BLE001 - SMTP and network errors alike: retried with backoff
        log.warning("Mail %s (attempt %s) could not be sent: %s", mail_id, attempt, error)
        error_text = f"{type(error).__name__}: {error}"
    _finish(mail_id, error_text)
    return True


def _finish(mail_id: int, error_text: str | None) -> None:
    row = db.session.get(OutboxMail, mail_id, populate_existing=True)
    if error_text is None:
        mail.mark_sent(row, now=utcnow())
    else:
        mail.mark_failed(row, error_text, now=utcnow())
    db.session.commit()


def remind_abandoned_checkouts(*, now: datetime | None = None, limit: int = 200, echo: Echo = _log_echo) -> int:
    """Queue the reminder of every checkout that qualifies (services/payments/reminders.py);
    the outbox key makes a second run, or a second worker, queue nothing more."""
    now = now or utcnow()
    queued, after = 0, None
    while queued < limit:
        # Page by (expires_at, id): the checkouts remind() turns down (bought since, a newer
        # checkout) stay due for days and must not fill every run's first page.
        page = reminders.due(now=now, limit=limit, after=after)
        for after in page:
            queued += reminders.remind(after[1], now=now)
            db.session.commit()
            if queued >= limit:
                break
        if len(page) < limit:
            break
    echo(f"Checkout reminders: {queued} queued.")
    return queued


def issue_referral_rewards(*, now: datetime | None = None, limit: int = 200, echo: Echo = _log_echo) -> int:
    """Issue every referral reward past its refund window (services/referrals/rewards.py), one
    transaction each: the claim (PENDING → EARNED, compare-and-set) makes a second run, or a
    second worker, issue nothing twice. Returns how many failed."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    for reward_id in referral_rewards.due(now=now, limit=limit):
        try:
            outcome = referral_rewards.issue(reward_id, now=now)
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - one reward's failure must not stop the others
            db.session.rollback()
            log.exception("Referral reward %s: not issued", reward_id)
            echo(f"reward {reward_id}: not issued ({error})", err=True)
            outcome = "ERROR"
        counts[outcome] = counts.get(outcome, 0) + 1
    echo("Referral rewards: " + (_summary(counts) or "none due"))
    return counts.get("ERROR", 0)


def request_password_reset(email: str) -> None:
    """Queue a reset mail for the account with this email, if there is an active one."""
    accounts.request_password_reset(email, current_app.config["SECRET_KEY"])
    db.session.commit()


def deliver_mail(*, limit: int = 500, echo: Echo = _log_echo) -> int:
    """The sweep: send every due mail (new ones a hint missed, retries, expired leases)."""
    handled = 0
    while handled < limit and send_mail():
        handled += 1
    if handled:
        echo(f"Mail: {handled} handled, {mail.backlog()} not yet sent.")
    return handled


def purge_idempotency_keys(*, echo: Echo = _log_echo) -> None:
    """Delete API Idempotency-Key records past their 24 hours (one statement; safe anywhere)."""
    purged = idempotency.purge_expired(utcnow())
    db.session.commit()
    echo(f"Purged {purged} expired idempotency keys.")


def purge_ended_sessions(*, echo: Echo = _log_echo) -> None:
    """Delete the rows of ended sign-in sessions (one statement; safe anywhere)."""
    purged = sign_ins.purge_ended(idle_minutes=current_app.config["SESSION_IDLE_MINUTES"])
    db.session.commit()
    echo(f"Purged {purged} ended sign-in sessions.")


def _each_session(payment_session_ids, action, now, failure: str, echo: Echo) -> dict[str, int]:
    """Run `action` on each session in a transaction of its own; count the outcomes."""
    counts: dict[str, int] = {}
    for ps_id in payment_session_ids:
        try:
            status = action(ps_id, now=now)
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - one session's failure must not stop the others
            db.session.rollback()
            if not isinstance(error, (DomainError, stripe_gateway.StripeGatewayError)):
                log.exception("Payment session %s: %s", ps_id, failure)
            echo(f"{ps_id}: {failure} ({error})", err=True)
            status = "ERROR"
        key = str(getattr(status, "value", status) or "SKIPPED")
        counts[key] = counts.get(key, 0) + 1
    return counts


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
