"""Every background job run is logged ("job run") and counted, failures included."""
import pytest

from jobs import runs, tasks


def test_a_job_run_is_logged_and_counted(app, metric_changes, caplog):
    caplog.set_level("INFO", logger="learnpay.jobs")
    tasks.expire_stale_sessions()  # JOBS_IMMEDIATE: runs now, through Huey's execute and its signals
    [record] = [r for r in caplog.records if r.name == "learnpay.jobs"]
    assert record.getMessage() == "job run" and record.event == "job.run"
    assert record.job == "expire_stale_sessions" and record.result == "ok" and record.seconds >= 0
    assert metric_changes("learnpay_job_runs_total", job="expire_stale_sessions", result="ok") == 1
    assert metric_changes("learnpay_job_failures_total", job="expire_stale_sessions") == 0


def test_a_failing_job_is_logged_as_a_warning_and_counted(app, metric_changes, caplog, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(runs, "retry_failed_webhooks", broken)
    caplog.set_level("INFO", logger="learnpay.jobs")
    try:
        tasks.retry_failed_webhooks()
    except RuntimeError:
        pass  # immediate mode may hand the error back; a worker only logs it
    [record] = [r for r in caplog.records if r.name == "learnpay.jobs"]
    assert record.levelname == "WARNING" and record.result == "failed" and record.error == "RuntimeError"
    assert metric_changes("learnpay_job_failures_total", job="retry_failed_webhooks") == 1
    assert metric_changes("learnpay_job_runs_total", job="retry_failed_webhooks", result="failed") == 1
