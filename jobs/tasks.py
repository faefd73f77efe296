"""The periodic jobs, on the worker's schedule (UTC), each the same run as its `flask …` command.

| job | schedule | command |
|---|---|---|
| expire_stale_sessions | every minute | `flask payments expire-stale` |
| reconcile_payments | every 10 minutes | `flask payments reconcile` |
| retry_failed_webhooks | every 5 minutes | `flask webhooks retry-failed` |

Several workers may run one job at once (each unit is claimed with a row lock or a unique
key, see jobs/runs.py), so no Huey lock is taken: a worker that dies mid-run holds nothing.
"""
from huey import crontab

from jobs import huey, in_app, runs


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
