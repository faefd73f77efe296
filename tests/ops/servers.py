"""Real servers for the operations tests: gunicorn with the production config, on free ports.

    with GunicornApp(env={...}) as server:       # gunicorn -c gunicorn.conf.py 'app:create_app()'
        requests.get(server.url + "/healthz")

Each server runs in its own process group with its log in a file (an unread pipe would fill up
and block it), and is stopped (TERM, then KILL) when the block ends.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornApp:
    def __init__(self, env: dict, *, workers: int = 2, port: int | None = None, app: str = "app:create_app()") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix=f"learnpay-gunicorn-{self.port}-", suffix=".log")[1])
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": str(workers),
                    "GUNICORN_THREADS": "4", **env}
        self.app = app
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "GunicornApp":
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), self.app], cwd=ROOT,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        output = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in output.stdout.split()]

    def kill(self) -> None:
        """Die at once, as a crashed machine would (no graceful shutdown)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> "GunicornApp":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
