"""`python -m stripe_sandbox.devrun`: the last step of `make run`.

Loads settings exactly as the app does (`config.Config()`). The app listens on HOST:PORT
(default 127.0.0.1:5000). With no Stripe key configured (STRIPE_SANDBOX true) it starts the
sandbox on STRIPE_API_BASE's port (SANDBOX_PORT, default 5001), delivering webhooks to the
app's address, shares one webhook secret with the app (STRIPE_WEBHOOK_SECRET, or a generated
one), then runs the app and one job worker (`flask jobs worker`). With a real key it just
runs the app and the worker. It refuses to put the
sandbox under APP_ENV=production.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from urllib.parse import urlparse

WEBHOOK_PATH = "/webhooks/stripe"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def app_command(host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--host", host, "--port", str(port)]


def webhook_url(host: str, port: int) -> str:
    """Where the sandbox posts events: the app's address (loopback for a wildcard bind)."""
    target = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    target = f"[{target}]" if ":" in target else target
    return f"http://{target}:{port}{WEBHOOK_PATH}"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def worker_command() -> list[str]:
    """The job worker (issue 15) that runs beside the app: mail, periodic jobs."""
    return [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"]


def run_app(env: dict) -> int:
    """Run the app (and the job worker) in the foreground until the app exits, Ctrl-C or a
    `kill` (SIGTERM); both children stop with it."""
    # SIGTERM stops the app as Ctrl-C does; left alone it would end this process and leave
    # the app serving on port 5000 with the sandbox gone. Installed before the app starts.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    processes: list[subprocess.Popen] = []
    try:
        processes.append(subprocess.Popen(worker_command(), env=env))
        address = (env.get("HOST") or "127.0.0.1", int(env.get("PORT") or 5000))
        processes.append(subprocess.Popen(app_command(*address), env=env))
        return processes[-1].wait()
    except KeyboardInterrupt:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the shutdown short
        return 0
    finally:
        _stop(processes)
        signal.signal(signal.SIGTERM, previous)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()  # the worker finishes the task it is running (graceful on TERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_sandbox(settings: dict, port: int):
    """Serve the sandbox from a background thread; returns a handle with .stop()."""
    import threading

    from werkzeug.serving import make_server

    from . import create_app

    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stripe-sandbox-http", daemon=True)
    thread.start()
    sandbox = app.extensions["stripe_sandbox"]
    sandbox.start()

    class Handle:
        settings = sandbox.settings

        @staticmethod
        def stop() -> None:
            server.shutdown()
            sandbox.stop()

    return Handle()


def main(run=run_app, start=start_sandbox) -> int:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `config` lives at the project root (where make runs)
    from config import Config

    config = Config()
    env = {**os.environ, "HOST": config.HOST, "PORT": str(config.PORT)}
    if not config.STRIPE_SANDBOX:
        print(" * Stripe: using the real API with the configured key; the sandbox is off.\n"
              f"   Forward webhooks with: stripe listen --forward-to {webhook_url(config.HOST, config.PORT)}")
        return run(env)
    if config.APP_ENV == "production":
        print("Refusing to start: APP_ENV=production with the Stripe sandbox. Set STRIPE_SECRET_KEY to a "
              "real key and unset STRIPE_API_BASE.", file=sys.stderr)
        return 1

    base = urlparse(config.STRIPE_API_BASE)
    if base.hostname not in LOCAL_HOSTS:
        print(f" * Stripe: STRIPE_API_BASE={config.STRIPE_API_BASE} is not local; not starting a sandbox.")
        return run(env)
    secret = (config.STRIPE_WEBHOOK_SECRETS or ["whsec_" + secrets.token_urlsafe(32)])[0]
    env["STRIPE_WEBHOOK_SECRET"] = ",".join(config.STRIPE_WEBHOOK_SECRETS) or secret
    port = base.port or 80
    try:
        sandbox = start({"WEBHOOK_URLS": [webhook_url(config.HOST, config.PORT)],
                         "WEBHOOK_SECRET": secret, "PUBLIC_BASE_URL": config.STRIPE_API_BASE,
                         "APP_ENV": config.APP_ENV}, port)
    except (OSError, SystemExit) as exc:  # werkzeug exits when the port is taken
        print(f"Cannot start the Stripe sandbox on port {port}: {exc}", file=sys.stderr)
        return 1
    print(f" * Stripe sandbox on {config.STRIPE_API_BASE} (events: {config.STRIPE_API_BASE}/_sandbox/events)\n"
          " * Test mode — payments are simulated. Card 4242 4242 4242 4242 succeeds.")
    try:
        return run(env)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
