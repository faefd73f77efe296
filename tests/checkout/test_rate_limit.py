"""Coupon checks are rate-limited per address and per learner, with a friendly message."""
import pytest

from extensions import limiter
from tests.helpers import login, post_form


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": True, "COUPON_CHECK_RATE_LIMIT": "3/minute"}


@pytest.fixture(autouse=True)
def fresh_counters(app):
    limiter.reset()
    yield
    limiter.reset()


def test_fourth_check_in_a_minute_gets_a_friendly_message(client, paid_course):
    for _ in range(3):
        body = post_form(client, "/courses/python-101", {"coupon_code": "X"}, headers={"HX-Request": "true"})
        assert "COUPON_NOT_FOUND" in body.get_data(as_text=True)
    limited = post_form(client, "/courses/python-101", {"coupon_code": "X"}, headers={"HX-Request": "true"})
    assert limited.status_code == 200 and "wait a minute" in limited.get_data(as_text=True)  # htmx swaps 200 only
    page = post_form(client, "/courses/python-101", {"coupon_code": "X"})
    assert page.status_code == 429 and "wait a minute" in page.get_data(as_text=True)
    assert client.get("/courses/python-101").status_code == 200  # plain page views are not counted


def test_the_limit_follows_the_learner_across_addresses(app, paid_course, learner):
    at_home, at_work = app.test_client(), app.test_client()
    at_home.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    at_work.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    for client in (at_home, at_work):
        login(client, learner.email)
    for client in (at_home, at_home, at_work):
        assert post_form(client, "/courses/python-101", {"coupon_code": "X"}).status_code == 200
    # The office address has one check so far, but the learner has used all three.
    assert post_form(at_work, "/courses/python-101", {"coupon_code": "X"}).status_code == 429
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "10.0.0.3"
    assert post_form(stranger, "/courses/python-101", {"coupon_code": "X"}).status_code == 200
