"""Mail tests: a queue nobody consumes (so each test sends when it chooses) and a transport
that records what it was handed."""
import pytest

from services import mail


@pytest.fixture
def app_overrides(tmp_path):
    # Hints go to a SQLite queue no worker reads: delivery happens when the test runs it.
    return {"JOBS_IMMEDIATE": False, "JOBS_SQLITE_PATH": str(tmp_path / "jobs.db")}


class Transport:
    def __init__(self):
        self.sent = []
        self.failures = 0  # how many of the next calls fail

    def __call__(self, message):
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("the mail server is down")
        self.sent.append(message)


@pytest.fixture
def transport(monkeypatch):
    recorder = Transport()
    monkeypatch.setattr(mail, "transport", recorder)
    return recorder
