"""Outgoing email: the only module that talks SMTP (stdlib smtplib).

`send_after_commit` queues a message on the database session; it goes out when that
transaction commits and is dropped when it rolls back, so a mail never announces something
that did not happen (services call it; they never commit themselves).
`send` is called after the commit and never raises: a failure is logged, so it can neither
become a 500 nor tell a visitor whether an account exists. Where the message goes:

- `app.extensions["mail_outbox"]`, when it is a list (tests put one there): appended;
- no `MAIL_SERVER` (development, `make run`): written to the log, link included, so a
  developer can follow it from the terminal (production refuses to start without a mail
  server; were it ever reached there, only the subject and recipient would be logged);
- else the SMTP server, from a background thread, so a slow server neither shows in the
  answer's timing nor holds a worker.
"""
import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 20
_SMTP_SETTINGS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS")


def send(to: str, subject: str, body: str) -> None:
    """Send a plain-text message to `to` (after the commit); failures are logged, never raised."""
    config = current_app.config
    try:
        message = EmailMessage()
        message["From"] = config["MAIL_FROM"]
        message["To"] = to
        message["Subject"] = " ".join(subject.split())  # a title with a line break is no header injection
        message["Message-ID"] = make_msgid(domain=parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or None)
        message.set_content(body)
    except (ValueError, TypeError):
        log.exception("Mail %r to %s could not be built", subject, to)
        return

    outbox = current_app.extensions.get("mail_outbox")
    if isinstance(outbox, list):
        outbox.append(message)
    elif not config.get("MAIL_SERVER"):
        if config.get("APP_ENV") == "production":
            log.error("MAIL_SERVER is not set: mail %r to %s was not sent", subject, to)
        else:
            log.info("MAIL_SERVER is not set; this mail was not sent:\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
    else:
        _in_background(_deliver, {name: config[name] for name in _SMTP_SETTINGS}, message)


def send_after_commit(to: str, subject: str, body: str) -> None:
    """Send when the current transaction commits; nothing is sent if it rolls back."""
    db.session.info.setdefault(_PENDING, []).append((to, subject, body))


_PENDING = "mail_after_commit"


# SQLAlchemy fires these for savepoints too (RELEASE / ROLLBACK TO SAVEPOINT): only the
# outermost transaction decides whether the work, and so its mail, happened.
@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for to, subject, body in session.info.pop(_PENDING, []):
        try:
            send(to, subject, body)
        except Exception:  # noqa: BLE001 - the data is committed: a mail must not undo the request
            log.exception("Mail %r to %s could not be sent", subject, to)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_PENDING, None)


def _in_background(target, *args) -> None:
    # Not a daemon: a worker shutting down finishes the message it is sending.
    threading.Thread(target=target, args=args, name="mail", daemon=False).start()


def _deliver(settings: dict, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings["MAIL_SERVER"], settings["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if settings["MAIL_USERNAME"]:
                smtp.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError):
        log.exception("Mail %r to %s could not be sent", message["Subject"], message["To"])
