"""Ending a session holds across instances (issue 14): two gunicorn servers on one PostgreSQL.

A browser signs in through one instance; a copy of its cookies (the attacker's) is replayed
against the other. After sign-out, "sign out of all devices", idle and absolute expiry the
copy lands on the sign-in page. The servers are separate processes, so time is moved in the
database (the session's timestamps set back), never slept.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from extensions import db
from models import UserSession
from tests import factories
from tests.helpers import DEFAULT_PASSWORD
from tests.ops.servers import GunicornApp

pytestmark = pytest.mark.postgres_only

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
IDLE_MINUTES, MAX_DAYS = 120, 30


@pytest.fixture(scope="module")
def servers(database_url):
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "two-instances-" + "s" * 32, "APP_ENV": "development",
           "JOBS_IMMEDIATE": "1", "RATELIMIT_ENABLED": "0", "LOG_FORMAT": "json",
           "SESSION_IDLE_MINUTES": str(IDLE_MINUTES), "SESSION_MAX_DAYS": str(MAX_DAYS)}
    pair = [GunicornApp(env, workers=1) for _ in range(2)]
    try:
        for server in pair:
            server.start()
        yield [server.url for server in pair]
    finally:
        for server in pair:
            server.stop()


def _sign_in(base: str, email: str, remember: bool = False) -> requests.Session:
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{base}/login", timeout=30).text).group(1)
    data = {"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token, **({"remember": "y"} if remember else {})}
    answer = browser.post(f"{base}/login", data=data, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:300]
    return browser


def _copy(browser: requests.Session, *names: str) -> requests.Session:
    thief = requests.Session()
    for cookie in browser.cookies:
        if not names or cookie.name in names:
            thief.cookies.set(cookie.name, cookie.value)
    return thief


def _signed_in(browser: requests.Session, base: str) -> bool:
    answer = browser.get(f"{base}/dashboard", timeout=30, allow_redirects=False)
    if answer.status_code == 302:
        assert "/login" in answer.headers["Location"]
        return False
    assert answer.status_code == 200
    return True


def _post(browser: requests.Session, base: str, path: str) -> requests.Response:
    token = CSRF.search(browser.get(f"{base}/account", timeout=30).text).group(1)
    return browser.post(f"{base}{path}", data={"csrf_token": token}, timeout=30, allow_redirects=False)


def _move_time(user_id: int, **delta) -> None:
    """As if `delta` had passed since the user's sessions were last used and started."""
    back = timedelta(**delta)
    db.session.expire_all()
    for row in db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id)):
        row.created_at, row.last_seen_at, row.expires_at = (row.created_at - back, row.last_seen_at - back,
                                                            row.expires_at - back)
    db.session.commit()


@pytest.fixture
def learner_id(app):
    user = factories.user(email="roaming@example.com")
    db.session.commit()
    return user.id


def test_sign_out_on_one_instance_ends_the_copy_on_the_other(servers, learner_id):
    one, two = servers
    browser = _sign_in(one, "roaming@example.com")
    thief = _copy(browser)
    assert _signed_in(thief, two)
    assert _post(browser, one, "/logout").status_code == 302
    assert not _signed_in(thief, two) and not _signed_in(browser, one)


def test_sign_out_of_all_devices_reaches_every_instance(servers, learner_id):
    one, two = servers
    laptop, phone = _sign_in(one, "roaming@example.com"), _sign_in(two, "roaming@example.com", remember=True)
    copies = [_copy(laptop), _copy(phone, "remember_token")]
    assert _signed_in(copies[0], two) and _signed_in(copies[1], one)
    assert _post(laptop, one, "/account/sessions/revoke-all").status_code == 302
    assert not any(_signed_in(browser, base) for browser in (phone, *copies) for base in servers)


def test_idle_and_absolute_expiry_hold_on_both_instances(servers, learner_id):
    one, two = servers
    idle = _copy(_sign_in(one, "roaming@example.com"))
    remembered = _copy(_sign_in(two, "roaming@example.com", remember=True), "remember_token")
    assert _signed_in(idle, two) and _signed_in(remembered, one)
    _move_time(learner_id, minutes=IDLE_MINUTES + 2)
    assert not _signed_in(idle, one) and not _signed_in(idle, two)
    assert _signed_in(remembered, two)  # "remember me" has no idle limit ...
    _move_time(learner_id, days=MAX_DAYS)
    assert not _signed_in(remembered, one) and not _signed_in(remembered, two)  # ... but the same maximum
