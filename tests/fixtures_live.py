"""Pytest plugin: the app served over real HTTP, wired to the live sandbox, and a browser.

    def test_purchase(live_server, page):
        page.goto(live_server.url + "/courses")

`live_server` serves the test's own `app` (same database, emptied after the test) from a
thread; the sandbox delivers its webhooks to it, and Stripe redirects come back to it.
`page` is a Playwright page in Debian's Chromium; browser tests skip, saying what to install,
when Chromium is missing.
"""
from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(app, sandbox, sandbox_config):
    app.config.update(sandbox_config)
    app.extensions.pop("stripe_client", None)  # built lazily from the config just set
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config.update(FRONTEND_URL=url, ALLOWED_REDIRECT_ORIGINS=[url])
    sandbox.set_webhook_urls([f"{url}/webhooks/stripe"])
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    yield LiveServer(url=url, app=app)
    sandbox.set_webhook_urls([])
    # A webhook the app is still handling would deadlock with the app fixture emptying the
    # database (PostgreSQL's TRUNCATE): wait for its answer (the handler has committed by then).
    sandbox.quiesce()
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("browser tests need Chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets `page` know whether the test failed, to keep a screenshot of it.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
