"""The transactional outbox: a mail exists exactly when its change committed, is sent once by
the worker, retried with backoff, and survives a worker that dies mid-send."""
import threading
from datetime import timedelta

import sqlalchemy as sa

from extensions import db
from jobs import runs
from models import MailStatus, OutboxMail, utcnow
from services import mail, notifications
from tests import factories


def _rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)))


def _queue(user, key="k1"):
    return notifications.password_reset(user, request_id=key)


def _make_due(row_id: int) -> None:
    """Time passes: the row's retry delay (or its lease) is over."""
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.id == row_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_a_mail_is_written_with_its_change_and_sent_once_after_the_commit(learner, transport):
    _queue(learner)
    with db.engine.connect() as other:  # another connection sees nothing before the commit
        assert other.execute(sa.select(sa.func.count()).select_from(OutboxMail)).scalar() == 0
    db.session.commit()
    assert runs.deliver_mail() == 1
    assert runs.deliver_mail() == 0  # nothing left: a second sweep sends nothing
    [row] = _rows()
    assert row.status == MailStatus.SENT and row.attempts == 1 and row.sent_at is not None
    [message] = transport.sent
    assert message["To"] == learner.email and "/password/reset/" in message.get_content()


def test_nothing_is_queued_when_the_change_rolls_back(learner, transport):
    _queue(learner)
    db.session.rollback()
    assert _rows() == [] and runs.deliver_mail() == 0 and transport.sent == []


def test_a_rolled_back_savepoint_keeps_the_mail_queued_before_it(learner, transport):
    _queue(learner)
    try:
        with db.session.begin_nested():
            _queue(learner, key="inside")
            raise ValueError("a savepoint rolled back")
    except ValueError:
        pass
    db.session.commit()
    assert [row.dedupe_key for row in _rows()] == [f"password-reset:{learner.id}:k1"]


def test_the_same_cause_queues_one_mail(learner, transport):
    assert mail.queue("password_reset", learner.email, key="same", context={"user_id": learner.id,
                                                                         "user_name": "L", "email": learner.email})
    db.session.commit()
    assert not mail.queue("password_reset", learner.email, key="same", context={})  # no error, no second row
    db.session.commit()
    assert len(_rows()) == 1


def test_a_failure_is_retried_with_growing_delays_then_given_up(learner, transport):
    _queue(learner)
    db.session.commit()
    transport.failures = mail.MAX_ATTEMPTS
    before = utcnow()
    runs.deliver_mail()
    [row] = _rows()
    assert row.status == MailStatus.PENDING and row.attempts == 1 and "server is down" in row.last_error
    assert timedelta(seconds=55) < row.next_attempt_at - before < timedelta(seconds=65)
    assert runs.deliver_mail() == 0  # not due yet
    delays = []
    for _ in range(mail.MAX_ATTEMPTS - 1):
        _make_due(row.id)
        attempt_at = utcnow()
        runs.deliver_mail()
        row = _rows()[0]
        delays.append(round((row.next_attempt_at - attempt_at).total_seconds() / 60))
    assert row.status == MailStatus.FAILED and row.attempts == mail.MAX_ATTEMPTS and transport.sent == []
    assert delays[:6] == [2, 4, 8, 16, 32, 60]


def test_a_mail_sent_after_a_failure_is_sent_once(learner, transport):
    _queue(learner)
    db.session.commit()
    transport.failures = 1
    runs.deliver_mail()
    _make_due(_rows()[0].id)
    runs.deliver_mail()
    runs.deliver_mail()
    assert len(transport.sent) == 1 and _rows()[0].status == MailStatus.SENT


def test_a_worker_that_dies_mid_send_loses_nothing(learner, transport):
    _queue(learner)
    db.session.commit()
    claimed = mail.claim_next(now=utcnow())  # a worker claims it, commits, then dies
    db.session.commit()
    assert claimed.status == MailStatus.SENDING
    assert runs.deliver_mail() == 0 and transport.sent == []  # its lease keeps other workers off
    _make_due(claimed.id)  # the lease is over
    assert runs.deliver_mail() == 1
    [row] = _rows()
    assert row.status == MailStatus.SENT and row.attempts == 2 and len(transport.sent) == 1


def test_several_workers_at_once_send_each_mail_once(app, transport):
    users = [factories.user() for _ in range(12)]
    for user in users:
        _queue(user)
    db.session.commit()
    errors = []

    def worker():
        try:
            with app.app_context():
                runs.deliver_mail()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(m["To"] for m in transport.sent) == sorted(u.email for u in users)
    assert {row.status for row in _rows()} == {MailStatus.SENT}


def test_the_commit_hint_sends_at_once_without_a_sweep(app, learner, transport):
    app.config["JOBS_IMMEDIATE"] = True
    import jobs
    jobs.init_app(app)  # tasks now run inline when enqueued, as a worker would run them
    _queue(learner)
    db.session.commit()
    assert len(transport.sent) == 1 and _rows()[0].status == MailStatus.SENT


def test_a_mail_for_a_disabled_account_is_cancelled_not_sent(learner, transport):
    _queue(learner)
    db.session.commit()
    learner.is_disabled = True
    db.session.commit()
    runs.deliver_mail()
    [row] = _rows()
    assert row.status == MailStatus.CANCELLED and transport.sent == []


def test_a_subject_with_a_line_break_is_folded(app):
    message = mail.build_message("a@example.com", "k", "Line\r\nBcc: victim@example.com", "body")
    assert message["Subject"] == "Line Bcc: victim@example.com" and message["Bcc"] is None


def test_a_resent_mail_keeps_its_message_id(app):
    first = mail.build_message("a@example.com", "receipt:ps_1", "S", "body")
    assert first["Message-ID"] == mail.build_message("a@example.com", "receipt:ps_1", "S", "body")["Message-ID"]
    assert first["Message-ID"] != mail.build_message("a@example.com", "receipt:ps_2", "S", "body")["Message-ID"]


def test_a_checkout_reminder_is_cancelled_when_the_learner_opted_out_before_it_left(learner, paid_course, transport):
    # The mail server was down and the reminder waits for its retry; meanwhile the learner
    # unsubscribed (the link of an earlier reminder, or /account).
    from services.payments import reminders
    started = utcnow() - timedelta(days=2)
    checkout = factories.payment_session(learner, paid_course, status="EXPIRED", created_at=started)
    assert reminders.remind(checkout.id, now=utcnow())
    db.session.commit()
    learner.checkout_reminders = False
    db.session.commit()
    runs.deliver_mail()
    [row] = _rows()
    assert row.status == MailStatus.CANCELLED and transport.sent == []
