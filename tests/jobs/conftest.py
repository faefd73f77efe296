"""A real job worker (`flask jobs worker`) in a subprocess, on the test database and a queue
of its own; ops tests start one the same way."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue_file(tmp_path):
    return tmp_path / "jobs.db"


@pytest.fixture
def app_overrides(queue_file):
    # The app enqueues into the same SQLite queue the worker consumes (not immediate mode).
    return {"JOBS_IMMEDIATE": False, "JOBS_SQLITE_PATH": str(queue_file)}


@pytest.fixture
def worker(database_url, queue_file, tmp_path):
    """Start `flask jobs worker` (no periodic schedule); stopped with SIGTERM at the end."""
    env = {**os.environ, "DATABASE_URL": database_url, "JOBS_SQLITE_PATH": str(queue_file),
           "SECRET_KEY": "test-secret-key", "APP_ENV": "development", "STRIPE_API_BASE": "http://127.0.0.1:9"}
    for name in ("REDIS_URL", "JOBS_IMMEDIATE", "MAIL_SERVER"):
        env.pop(name, None)
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "jobs", "worker", "--workers", "1",
                                    "--no-periodic"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.log = log
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(condition, timeout: float = 20.0, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not finish in {timeout} s")
