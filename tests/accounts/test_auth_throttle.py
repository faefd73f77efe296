"""Password guessing and sign-up floods are slowed down, with a message on the form."""
import pytest

from extensions import db, limiter
from models import User
from tests import factories
from tests.helpers import DEFAULT_PASSWORD, csrf_token

TOO_MANY = "Too many failed sign-in attempts"


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": True, "SIGN_IN_RATE_LIMIT": "3/minute;5/hour", "SIGN_UP_RATE_LIMIT": "2/hour"}


@pytest.fixture(autouse=True)
def fresh_counters(app):
    limiter.reset()
    yield
    limiter.reset()


def _sign_in(client, email, password, address="198.51.100.7"):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(client, "/login")},
                       environ_base={"REMOTE_ADDR": address})


def _signed_in(client) -> bool:
    return "Sign out" in client.get("/courses").get_data(as_text=True)


def test_after_three_failures_even_the_right_password_waits(client, learner):
    for _ in range(3):
        assert _sign_in(client, learner.email, "wrong-pass-1").status_code == 200
    refused = _sign_in(client, learner.email, DEFAULT_PASSWORD)
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    assert not _signed_in(client)


def test_successful_sign_ins_are_not_counted(client, learner):
    for _ in range(5):
        assert _sign_in(client, learner.email, DEFAULT_PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD).status_code == 302


def test_one_account_guessed_from_many_addresses_is_limited(client, learner):
    for n in range(3):
        _sign_in(client, learner.email, "wrong-pass-1", address=f"203.0.113.{n}")
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD, address="203.0.113.99").status_code == 429
    other = factories.user(email="other@example.com")
    assert _sign_in(client, other.email, DEFAULT_PASSWORD, address="203.0.113.99").status_code == 302


def test_one_address_trying_many_accounts_is_limited(client, learner):
    for n in range(3):
        _sign_in(client, f"guess{n}@example.com", "wrong-pass-1")
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD).status_code == 429
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD, address="192.0.2.1").status_code == 302


def test_the_hourly_limit_holds_too(client, learner):
    # 3/minute;5/hour: both limits apply, so the sixth failure in the hour is refused.
    addresses = iter(f"192.0.2.{n}" for n in range(10))
    for _ in range(5):
        _sign_in(client, learner.email, "wrong-pass-1", address=next(addresses))
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD, address=next(addresses)).status_code == 429


def test_sign_in_works_when_the_limit_storage_is_down(client, learner, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")
    monkeypatch.setattr(limiter.limiter, "test", broken)
    monkeypatch.setattr(limiter.limiter, "hit", broken)
    assert _sign_in(client, learner.email, "wrong-pass-1").status_code == 200
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD).status_code == 302


def test_sign_ups_per_address_are_limited(client):
    def sign_up(n):
        client.post("/logout", data={"csrf_token": csrf_token(client)})
        return client.post("/signup", data={"name": f"New {n}", "email": f"new{n}@example.com",
                                            "password": "a-good-pass-1", "confirm": "a-good-pass-1",
                                            "csrf_token": csrf_token(client, "/signup")},
                           environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert sign_up(1).status_code == 302 and sign_up(2).status_code == 302
    refused = sign_up(3)
    assert refused.status_code == 429 and "Too many accounts" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 2


def test_guessing_the_current_password_on_the_account_page_is_limited(client, learner):
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"  # one address throughout ("strong" session protection)
    assert _sign_in(client, learner.email, DEFAULT_PASSWORD).status_code == 302

    def change(current):
        return client.post("/account/password", data={"current_password": current, "new_password": "another-pass-9",
                                                      "confirm": "another-pass-9", "csrf_token": csrf_token(client)})
    for _ in range(3):
        assert "not your current password" in change("wrong-pass-1").get_data(as_text=True)
    refused = change(DEFAULT_PASSWORD)
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, learner.id).password_hash == learner.password_hash


def _fail_from(client, forwarded_for, email="nobody@example.com"):
    return client.post("/login", data={"email": email, "password": "wrong-pass-1",
                                       "csrf_token": csrf_token(client, "/login")},
                       headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "10.0.0.1"})


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(app, client, learner):
    # Every request arrives from the load balancer (10.0.0.1); X-Forwarded-For names the client.
    from app import create_app

    proxied = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")},
                          "RATELIMIT_ENABLED": True, "SIGN_IN_RATE_LIMIT": "3/minute", "TRUSTED_PROXIES": 1,
                          "WTF_CSRF_ENABLED": False}).test_client()
    for _ in range(3):
        _fail_from(proxied, "203.0.113.5")
    assert _fail_from(proxied, "203.0.113.5").status_code == 429
    # Another visitor (another account, so only the address could limit them) is not locked out.
    assert _fail_from(proxied, "198.51.100.44", email="someone@example.com").status_code == 200


def test_without_trusted_proxies_the_forwarded_address_is_ignored(client, learner):
    # Otherwise a guesser would name a new address in each request and never be limited.
    for n in range(3):
        _fail_from(client, f"203.0.113.{n}", email=f"guess{n}@example.com")
    assert _fail_from(client, "203.0.113.99", email="other@example.com").status_code == 429
