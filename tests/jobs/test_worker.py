"""The job queue: a real worker consumes what the app enqueues; the schedule of the periodic jobs."""
from datetime import datetime, timedelta, timezone

from extensions import db
from jobs import huey, tasks
from models import PaymentSession, PaymentSessionStatus
from tests import factories
from tests.jobs.conftest import wait_until


def test_a_real_worker_runs_an_enqueued_job(worker, learner, paid_course):
    long_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    overdue = factories.payment_session(learner, paid_course, created_at=long_ago, stripe_session_id=None)
    tasks.expire_stale_sessions()  # enqueued into the SQLite queue the worker polls

    def expired():
        db.session.expire_all()
        return db.session.get(PaymentSession, overdue.id).status == PaymentSessionStatus.EXPIRED
    wait_until(expired, what=f"the worker (log: {worker.log.read_text()[-2000:]})")
    assert worker.poll() is None  # still consuming


def test_the_periodic_jobs_run_on_their_schedule():
    def minutes(name):  # the minutes of one hour (UTC) at which the worker enqueues the job
        return [m for m in range(60)
                if name in {task.name for task in huey.read_periodic(datetime(2026, 11, 27, 9, m))}]
    assert minutes("expire_stale_sessions") == list(range(60))
    assert minutes("reconcile_payments") == [0, 10, 20, 30, 40, 50]
    assert minutes("retry_failed_webhooks") == list(range(0, 60, 5))
    assert minutes("deliver_mail") == list(range(60))
    assert minutes("remind_abandoned_checkouts") == [15]
    assert minutes("purge_idempotency_keys") == [17]
    assert minutes("purge_ended_sessions") == [47]
