"""What the bench scripts share besides the database (pgdb.py): starting a server and waiting
until it answers, a browser-like HTTP client with a cookie jar, and the checkout event Stripe
sends when a session is paid."""
from __future__ import annotations

import copy
import http.client
import json
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.pgdb import stop

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "stripe_fixtures.json"  # Stripe's own example objects
API_VERSION = "2026-10-28.endive"
META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- servers --------------------------------------------------------------------------------

def start_server(cmd: list[str], env: dict, port: int, log_path: Path,
                 probe: tuple[str, str, bytes | None] = ("GET", "/", None), timeout: float = 40) -> subprocess.Popen:
    """Start `cmd` in its own process group (pgdb.stop ends it) and wait until `probe` gets an
    answer below 500. Its output goes to `log_path`: an unread pipe fills up and blocks the
    server mid-run."""
    log = open(log_path, "wb")
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = log_path
    method, path, body = probe
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request(method, path, body=body)
            if conn.getresponse().status < 500:
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{cmd[0]} did not start: {Path(log_path).read_text()[-2000:]}")


# --- a browser ------------------------------------------------------------------------------

class Browser:
    """A cookie jar over http.client, a new connection per request: for signing in, checking
    answers before measuring, and the Python load clients (wrk measures where it can)."""

    def __init__(self, port: int, headers: dict | None = None) -> None:
        self.port, self.cookies, self.headers = port, {}, dict(headers or {})
        self.token = ""  # the CSRF token of the page `load_token` read last

    def request(self, method: str, path: str, body: bytes | str | dict | None = None, headers: dict | None = None):
        """(status, text, headers). A dict body is sent as a form; a Cookie header given wins over the jar."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {**self.headers, **(headers or {})}
        if self.cookies and "Cookie" not in sent:
            sent["Cookie"] = self.cookie_header
        if isinstance(body, dict):
            body = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return response.status, text, response.headers

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def load_token(self, path: str) -> None:
        """Keep the CSRF token of the page at `path` (what htmx sends as X-CSRFToken)."""
        status, page, _ = self.request("GET", path)
        match = META_TOKEN.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} ({status})")
        self.token = match.group(1)

    def sign_in(self, email: str, password: str, then: str) -> None:
        """Sign in through the /login form, then keep the CSRF token of the page `then`."""
        _, page, _ = self.request("GET", "/login")
        status, _, _ = self.request("POST", "/login", {"email": email, "password": password,
                                                       "csrf_token": FORM_TOKEN.search(page).group(1)})
        if status != 302:
            raise RuntimeError(f"sign-in failed for {email} ({status})")
        self.load_token(then)


# --- Stripe events --------------------------------------------------------------------------

def session_template() -> dict:
    """Stripe's own example Checkout Session: realistic size and shape."""
    if FIXTURES.exists():
        return json.loads(FIXTURES.read_text())["resources"]["checkout.session"]
    return {"object": "checkout.session"}


def completed_event(template: dict, seed: dict, event_id: str) -> bytes:
    """checkout.session.completed for a seeded payment session ({cs, ps, user_id, course_id}, 49.00 USD)."""
    session = copy.deepcopy(template)
    session.update({"id": seed["cs"], "object": "checkout.session", "mode": "payment", "status": "complete",
                    "payment_status": "paid", "amount_total": 4900, "amount_subtotal": 4900, "currency": "usd",
                    "client_reference_id": seed["ps"], "payment_intent": "pi_" + seed["cs"][3:], "livemode": False,
                    "metadata": {"payment_session_id": seed["ps"], "user_id": str(seed["user_id"]),
                                 "course_id": str(seed["course_id"])}})
    event = {"id": event_id, "object": "event", "api_version": API_VERSION, "created": int(time.time()),
             "data": {"object": session}, "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": "checkout.session.completed"}
    return json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON
