"""The periodic jobs, on the worker's schedule (UTC), each the same run as its `flask …` command.

| job | schedule | command |
|---|---|---|
| expire_stale_sessions | every minute | `flask payments expire-stale` |
| reconcile_payments | every 10 minutes | `flask payments reconcile` |
| retry_failed_webhooks | every 5 minutes | `flask webhooks retry-failed` |
| deliver_mail | every minute | `flask mail deliver` |
| remind_abandoned_checkouts | hourly (at :15) | `flask payments remind-abandoned` |
| purge_idempotency_keys | hourly (at :17) | `flask api purge-idempotency-keys` |
| purge_ended_sessions | hourly (at :47) | `flask users purge-sessions` |
| issue_referral_rewards | hourly (at :23) | `flask referrals issue-rewards` |

`send_mail(id)` is the hint enqueued when a transaction that queued mail commits, so the mail
leaves at once instead of at the next sweep; if the queue cannot be reached, the sweep sends it.

Several workers may run one job at once (each unit is claimed with a row lock or a unique
key, see jobs/runs.py), so no Huey lock is taken: a worker that dies mid-run holds nothing.
"""
from huey import crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from jobs import enqueue_quietly, huey, in_app, runs
from services import mail


@huey.periodic_task(crontab(minute="*"), name="expire_stale_sessions")
@in_app
def expire_stale_sessions() -> None:
    runs.expire_stale()


@huey.periodic_task(crontab(minute="*/10"), name="reconcile_payments")
@in_app
def reconcile_payments() -> None:
    runs.reconcile()


@huey.periodic_task(crontab(minute="*/5"), name="retry_failed_webhooks")
@in_app
def retry_failed_webhooks() -> None:
    runs.retry_failed_webhooks()


@huey.periodic_task(crontab(minute="*"), name="deliver_mail")
@in_app
def deliver_mail() -> None:
    runs.deliver_mail()


@huey.periodic_task(crontab(minute="15"), name="remind_abandoned_checkouts")
@in_app
def remind_abandoned_checkouts() -> None:
    runs.remind_abandoned_checkouts()


@huey.task(name="send_mail")
@in_app
def send_mail(mail_id: int) -> None:
    runs.send_mail(mail_id)


@huey.task(name="request_password_reset")
@in_app
def request_password_reset(email: str) -> None:
    """From /password/forgot: queue the reset mail if an active account has this email."""
    runs.request_password_reset(email)


# SQLAlchemy fires these for savepoints too: only the outermost transaction decides whether
# the change, and so its mail, happened.
@event.listens_for(Session, "after_commit")
def _hint_new_mail(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for mail_id in session.info.pop(mail.NEW_MAIL_IDS, []):
        enqueue_quietly(send_mail, mail_id)


@event.listens_for(Session, "after_rollback")
def _forget_new_mail(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(mail.NEW_MAIL_IDS, None)


@huey.periodic_task(crontab(minute="17"), name="purge_idempotency_keys")
@in_app
def purge_idempotency_keys() -> None:
    runs.purge_idempotency_keys()


@huey.periodic_task(crontab(minute="47"), name="purge_ended_sessions")
@in_app
def purge_ended_sessions() -> None:
    runs.purge_ended_sessions()


@huey.periodic_task(crontab(minute="23"), name="issue_referral_rewards")
@in_app
def issue_referral_rewards() -> None:
    runs.issue_referral_rewards()
