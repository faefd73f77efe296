"""gunicorn.conf.py: several workers (and a job worker beside them) behind one /metrics; request ids in the access log."""
import os
import re
import subprocess
import sys
import time

import requests

from tests.ops.servers import ROOT, GunicornApp


def test_metrics_add_up_every_workers_requests(database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test-secret", "APP_ENV": "development",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "RATELIMIT_ENABLED": "0"}
    with GunicornApp(env, workers=2) as server:
        assert len(server.worker_pids()) == 2
        for number in range(24):  # a new connection each: the workers share them out
            response = requests.get(server.url + "/courses", headers={"Connection": "close",
                                                                      "X-Request-ID": f"gtest-{number}"})
            assert response.status_code == 200 and response.headers["X-Request-ID"] == f"gtest-{number}"
        writers = {path.name for path in (tmp_path / "metrics").glob("histogram_*.db")}
        # Whichever worker answers the scrape, it reports all 24 (usually both workers wrote some).
        scrapes = [requests.get(server.url + "/metrics", headers={"Connection": "close"}, timeout=10).text
                   for _ in range(4)]
        log = server.log()
    assert writers and all(name.startswith("histogram_") for name in writers)
    for text in scrapes:
        count = re.search(r'learnpay_http_request_duration_seconds_count\{endpoint="catalog.index",method="GET",'
                          r'status="200"\} (\S+)', text)
        assert count and float(count.group(1)) == 24.0, text[:2000]
    assert "request_id=gtest-7" in log
    assert 'GET /courses HTTP/1.1" 200' in log


def _metrics_writer(metrics_dir, *, stay: bool) -> subprocess.Popen:
    """A process that counts one failed job in the shared folder, as a job worker would."""
    code = ("from services import metrics; metrics.job_run('expire_stale_sessions', False)"
            + ("; import time; time.sleep(120)" if stay else ""))
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})


def test_a_job_worker_sharing_the_folder_is_served_and_old_runs_are_forgotten(database_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    finished = _metrics_writer(metrics_dir, stay=False)  # a process of a previous run
    assert finished.wait(timeout=60) == 0
    worker = _metrics_writer(metrics_dir, stay=True)
    try:
        deadline = time.monotonic() + 60
        while not (metrics_dir / f"counter_{worker.pid}.db").exists():
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.1)
        env = {"DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test-secret", "APP_ENV": "development",
               "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        with GunicornApp(env, workers=1) as server:
            text = requests.get(server.url + "/metrics", timeout=10).text
    finally:
        worker.kill()
        worker.wait()
    assert not (metrics_dir / f"counter_{finished.pid}.db").exists()
    assert 'learnpay_job_failures_total{job="expire_stale_sessions"} 1.0' in text
