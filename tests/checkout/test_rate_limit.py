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


def test_the_limit_follows_the_learner_across_addresses(client, paid_course, learner):
    login(client, learner.email)
    for number in range(3):
        post_form(client, "/courses/python-101", {"coupon_code": "X"},
                  environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
    limited = post_form(client, "/courses/python-101", {"coupon_code": "X"}, environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert limited.status_code == 429
