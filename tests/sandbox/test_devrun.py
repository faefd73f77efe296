"""`make run`'s last step: sandbox on when no key is set, off with a key, never in production."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from stripe_sandbox import create_app, devrun


class Recorder:
    def __init__(self):
        self.calls = []

    def run(self, env):
        self.calls.append(("run", env))
        return 0

    def start(self, settings, port):
        self.calls.append(("start", settings, port))
        recorder = self

        class Handle:
            @staticmethod
            def stop():
                recorder.calls.append(("stop",))
        return Handle()


@pytest.fixture
def env(monkeypatch):
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET", "HOST", "PORT", "SANDBOX_PORT",
                 "FRONTEND_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    import config
    monkeypatch.setattr(config, "load_dotenv", lambda *a, **k: None)  # ignore a developer's .env
    return monkeypatch


def test_no_key_starts_the_sandbox_and_shares_the_secret(env):
    env.setenv("STRIPE_API_BASE", "http://127.0.0.1:5999")
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_shared")
    recorder = Recorder()
    assert devrun.main(run=recorder.run, start=recorder.start) == 0
    (_, settings, port), (_, app_env), _stop = recorder.calls
    assert port == 5999 and settings["WEBHOOK_SECRET"] == "whsec_shared"
    assert settings["WEBHOOK_URLS"] == ["http://127.0.0.1:5000/webhooks/stripe"]
    assert app_env["STRIPE_WEBHOOK_SECRET"] == "whsec_shared"


def test_host_port_and_sandbox_port_are_honoured(env):
    env.setenv("HOST", "0.0.0.0")
    env.setenv("PORT", "5123")
    env.setenv("SANDBOX_PORT", "5124")
    env.delenv("FRONTEND_URL", raising=False)
    recorder = Recorder()
    assert devrun.main(run=recorder.run, start=recorder.start) == 0
    (_, settings, port), (_, app_env), _stop = recorder.calls
    assert port == 5124 and settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:5124"
    assert settings["WEBHOOK_URLS"] == ["http://127.0.0.1:5123/webhooks/stripe"]  # a wildcard bind is reached on loopback
    assert (app_env["HOST"], app_env["PORT"]) == ("0.0.0.0", "5123")
    assert devrun.app_command("0.0.0.0", 5123)[-4:] == ["--host", "0.0.0.0", "--port", "5123"]
    import config
    assert config.Config().FRONTEND_URL == "http://127.0.0.1:5123"
    assert config.Config().STRIPE_API_BASE == "http://127.0.0.1:5124"


def test_the_defaults_are_5000_and_5001(env):
    for name in ("HOST", "PORT", "SANDBOX_PORT"):
        env.delenv(name, raising=False)
    recorder = Recorder()
    devrun.main(run=recorder.run, start=recorder.start)
    (_, settings, port), (_, app_env), _stop = recorder.calls
    assert port == 5001 and settings["WEBHOOK_URLS"] == ["http://127.0.0.1:5000/webhooks/stripe"]
    assert (app_env["HOST"], app_env["PORT"]) == ("127.0.0.1", "5000")


def test_a_secret_is_generated_when_none_is_set(env):
    env.setenv("STRIPE_API_BASE", "http://127.0.0.1:5999")
    recorder = Recorder()
    devrun.main(run=recorder.run, start=recorder.start)
    secret = recorder.calls[0][1]["WEBHOOK_SECRET"]
    assert secret.startswith("whsec_") and recorder.calls[1][1]["STRIPE_WEBHOOK_SECRET"] == secret


def test_a_real_key_runs_the_app_without_sandbox(env):
    env.setenv("STRIPE_SECRET_KEY", "sk_test_a_real_account_key")
    recorder = Recorder()
    assert devrun.main(run=recorder.run, start=recorder.start) == 0
    assert [call[0] for call in recorder.calls] == ["run"]


def test_production_refuses_the_sandbox(env, capsys):
    env.setenv("APP_ENV", "production")
    recorder = Recorder()
    assert devrun.main(run=recorder.run, start=recorder.start) == 1
    assert recorder.calls == [] and "production" in capsys.readouterr().err
    with pytest.raises(RuntimeError):
        create_app({"APP_ENV": "production"})


def test_start_sandbox_serves_on_the_given_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handle = devrun.start_sandbox({"APP_ENV": "test", "WEBHOOK_URLS": []}, port)
    try:
        response = requests.get(f"http://127.0.0.1:{port}/v1/events", timeout=5,
                                headers={"Authorization": "Bearer sk_test_learnpay_sandbox"})
        assert response.status_code == 200 and response.json()["object"] == "list"
    finally:
        handle.stop()


def test_sigterm_stops_the_app_and_the_worker_too(tmp_path):
    # `kill <make run's pid>` must not leave the app serving on port 5000 without its sandbox,
    # nor a job worker behind.
    pid_files = {name: tmp_path / f"{name}.pid" for name in ("app", "worker")}
    script = textwrap.dedent(f"""
        import sys
        from stripe_sandbox import devrun
        def sleeper(pid_file):
            return lambda *address: [sys.executable, "-c",
                "import os, time; open(%r, 'w').write(str(os.getpid())); time.sleep(60)" % pid_file]
        devrun.app_command = sleeper({str(pid_files["app"])!r})
        devrun.worker_command = sleeper({str(pid_files["worker"])!r})
        print("exit", devrun.run_app({{}}), flush=True)
    """)
    runner = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd(), stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not all(f.exists() and f.read_text() for f in pid_files.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [int(f.read_text()) for f in pid_files.values()]
    runner.send_signal(signal.SIGTERM)
    output, _ = runner.communicate(timeout=20)
    assert "exit 0" in output
    for pid in pids:
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("a child outlived devrun's SIGTERM")
