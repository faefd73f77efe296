"""Outgoing mail through a transactional outbox; the only module that talks SMTP (smtplib).

A service that causes a mail calls `queue` (through services/notifications.py, which knows
what each mail says): the mail becomes a `mail_outbox` row in the same transaction as the
change, unique on a dedupe key naming its cause, so it exists exactly when the change was
committed and the same change never queues it twice. After the commit the job worker sends
it (jobs/: a hint is enqueued on commit, and a sweep every minute sends whatever a hint
missed):

1. `claim` / `claim_next` mark it SENDING with a lease (a compare-and-set UPDATE; on
   PostgreSQL the next due row is picked with FOR UPDATE SKIP LOCKED), and the claim commits;
2. the text is rendered (notifications.render) and handed to `transport`;
3. `mark_sent`, or `mark_failed`: PENDING again after a growing delay, FAILED after
   MAX_ATTEMPTS.

A worker that dies between 1 and 3 leaves the row SENDING; once the lease is over, the sweep
claims it again. So a crash loses no mail; only a crash after the SMTP server accepted the
message and before step 3 commits sends it twice (with the same Message-ID, which most mail
systems fold together).

`transport`: the SMTP server (`MAIL_SERVER`); without one (development, tests), the log:
the whole message outside production, only the recipient and subject in production (which
refuses to start without a server anyway).
"""
from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import MailStatus, OutboxMail, User, utcnow
from services.insert_if_absent import InsertIfAbsent

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 20
LEASE = timedelta(minutes=5)  # far longer than one SMTP exchange may take
MAX_ATTEMPTS = 10  # with the delays below, about five hours of trying
NEW_MAIL_IDS = "outbox_new_mail_ids"  # session.info key: rows queued in this transaction


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


# --- queuing (services call these through notifications; flush, never commit) -------------

# Every paid webhook queues a receipt: the insert is cached once (services/insert_if_absent.py).
_INSERT_IF_ABSENT = InsertIfAbsent(OutboxMail.__table__, conflict=["dedupe_key"], returning="id", skip=("id",))

def queue(template: str, to: str, *, key: str, context: dict, user: User | None = None) -> bool:
    """Write a mail into the outbox in the current transaction; False when `key` is already
    queued (the same cause, e.g. a redelivered event). Safe under concurrency: the insert
    skips a conflicting key instead of failing the transaction."""
    now = utcnow()
    mail_id = _INSERT_IF_ABSENT.run(db.session, {
        "dedupe_key": key[:200], "template": template, "to_address": to,
        "user_id": user.id if user is not None else None, "context": context,
        "status": MailStatus.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now})
    if mail_id is None:
        return False
    db.session.info.setdefault(NEW_MAIL_IDS, []).append(mail_id)
    return True


# --- delivery (the worker: jobs/runs.py commits between the steps) ----------------------

def claim(mail_id: int, *, now: datetime) -> OutboxMail | None:
    """This mail, marked SENDING under a lease, if it is due and nobody holds it; else None."""
    return _claim_where(OutboxMail.id == mail_id, now)


def claim_next(*, now: datetime) -> OutboxMail | None:
    """The mail due longest, marked SENDING under a lease; None when none is due."""
    oldest_due = (sa.select(OutboxMail.id).where(*_due(now)).order_by(OutboxMail.next_attempt_at, OutboxMail.id)
                  .limit(1).with_for_update(skip_locked=True).scalar_subquery())
    return _claim_where(OutboxMail.id == oldest_due, now)


def _due(now: datetime):
    # PENDING and due, or SENDING with its lease over (the worker that held it is gone).
    return (OutboxMail.status.in_((MailStatus.PENDING, MailStatus.SENDING)), OutboxMail.next_attempt_at <= now)


def _claim_where(condition, now: datetime) -> OutboxMail | None:
    # Compare-and-set: the WHERE is evaluated again under the row lock (PostgreSQL) or the
    # database lock (SQLite), so of two workers claiming one mail exactly one gets it.
    claimed = db.session.execute(
        sa.update(OutboxMail).where(condition, *_due(now))
        .values(status=MailStatus.SENDING, attempts=OutboxMail.attempts + 1, next_attempt_at=now + LEASE)
        .returning(OutboxMail.id).execution_options(synchronize_session=False)
    ).scalar()
    return db.session.get(OutboxMail, claimed, populate_existing=True) if claimed is not None else None


def mark_sent(mail: OutboxMail, *, now: datetime) -> None:
    mail.status, mail.sent_at, mail.last_error = MailStatus.SENT, now, None


def mark_failed(mail: OutboxMail, error: str, *, now: datetime) -> None:
    mail.last_error = error[:500]
    if mail.attempts >= MAX_ATTEMPTS:
        mail.status = MailStatus.FAILED
        log.error("Mail %s (%s to %s) failed for good after %s attempts: %s",
                  mail.id, mail.template, mail.to_address, mail.attempts, error)
    else:
        mail.status, mail.next_attempt_at = MailStatus.PENDING, now + retry_delay(mail.attempts)


def build_message(to: str, dedupe_key: str, subject: str, body: str, headers: dict | None = None) -> EmailMessage:
    """The message for an outbox row. Its Message-ID follows from the dedupe key, so a mail
    sent twice after a crash carries the same id both times."""
    sender = current_app.config["MAIL_FROM"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "learnpay.invalid"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = " ".join(subject.split())  # a title with a line break is no header injection
    message["Message-ID"] = f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{domain}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def transport(message: EmailMessage) -> None:
    """Hand the message to the SMTP server (or to the log without one). Raises on failure."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        if config.get("APP_ENV") == "production":
            log.error("MAIL_SERVER is not set: mail %r to %s was not sent", message["Subject"], message["To"])
        else:
            log.info("MAIL_SERVER is not set; this mail was not sent:\nTo: %s\nSubject: %s\n\n%s",
                     message["To"], message["Subject"], message.get_content())
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


# --- for staff and tests ------------------------------------------------------------------

def recent(limit: int = 100, status: MailStatus | None = None) -> list[OutboxMail]:
    query = sa.select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMail.status == status)
    return list(db.session.scalars(query))


def backlog() -> int:
    """Mails not yet sent (PENDING or SENDING), for health and metrics."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.status.in_((MailStatus.PENDING, MailStatus.SENDING)))) or 0
