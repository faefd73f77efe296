"""Abandoned checkouts: one reminder 24 hours after a checkout expired unpaid, never two,
none for learners who bought since or opted out; one-click unsubscribe. Time is moved by
passing `now`, never slept."""
from datetime import datetime, timedelta, timezone

import pytest

from extensions import db
from jobs import runs
from models import User
from tests import factories

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
EXPIRED_AT = START + timedelta(minutes=31)


def _abandoned(user, course, *, coupon=None, started=START):
    return factories.payment_session(user, course, status="EXPIRED", coupon=coupon, discount=990 if coupon else 0,
                                     created_at=started, expires_in=timedelta(minutes=31))


def _run(hours_after_expiry: float) -> int:
    return runs.remind_abandoned_checkouts(now=EXPIRED_AT + timedelta(hours=hours_after_expiry))


@pytest.fixture
def coupon(paid_course):
    return factories.coupon(code="SAVE10", percent=10, courses=[paid_course],
                            valid_until=EXPIRED_AT + timedelta(days=3))


def test_one_reminder_a_day_after_the_checkout_expired(learner, paid_course, coupon, outbox):
    checkout = _abandoned(learner, paid_course, coupon=coupon)
    assert _run(23) == 0 and outbox == []  # not yet
    assert _run(25) == 1
    assert _run(26) == 0 and _run(48) == 0  # never two for one checkout
    [message] = outbox
    body = message.get_content()
    assert message["To"] == learner.email and message["Subject"] == "Still thinking about Python 101?"
    assert "/courses/python-101?coupon=SAVE10" in body and "SAVE10 is still valid" in body
    assert "/unsubscribe/checkout-reminders/" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _reminder_key(checkout) == checkout.id


def _reminder_key(checkout):
    from models import OutboxMail
    return db.session.scalar(db.select(OutboxMail.context["payment_session_id"].as_string())
                             .where(OutboxMail.dedupe_key == f"checkout-reminder:{checkout.id}"))


def test_a_coupon_no_longer_valid_is_left_out(learner, paid_course, coupon, outbox):
    _abandoned(learner, paid_course, coupon=coupon)
    assert runs.remind_abandoned_checkouts(now=EXPIRED_AT + timedelta(days=4)) == 1  # coupon ended on day 3
    body = outbox[0].get_content()
    assert "/courses/python-101\n" in body and "SAVE10" not in body


def test_no_reminder_after_buying_the_course(learner, paid_course, outbox):
    _abandoned(learner, paid_course)
    factories.enrollment(learner, paid_course, paid=True)
    assert _run(25) == 0 and outbox == []


def test_no_reminder_for_a_learner_who_opted_out(learner, paid_course, outbox):
    _abandoned(learner, paid_course)
    learner.checkout_reminders = False
    db.session.commit()
    assert _run(25) == 0 and outbox == []


def test_only_the_latest_abandoned_checkout_of_a_course_is_reminded(learner, paid_course, outbox):
    first = _abandoned(learner, paid_course)
    second = _abandoned(learner, paid_course, started=START + timedelta(minutes=5))
    assert _run(26) == 1
    assert [m.get_content().count("python-101") for m in outbox] == [1]
    assert _reminder_key(second) == second.id and _reminder_key(first) is None


def test_old_abandoned_checkouts_are_let_go(learner, paid_course, outbox):
    _abandoned(learner, paid_course)
    assert runs.remind_abandoned_checkouts(now=EXPIRED_AT + timedelta(days=8)) == 0


def test_the_unsubscribe_link_asks_then_unsubscribes_without_signing_in(client, learner, paid_course, outbox):
    _abandoned(learner, paid_course)
    _run(25)
    link = outbox[0]["List-Unsubscribe"].strip("<>")
    path = link.split("://", 1)[1].split("/", 1)[1]
    # Opening the link only asks (mail scanners open every link); the button unsubscribes.
    page = client.get("/" + path)
    assert page.status_code == 200 and "Unsubscribe from checkout reminders?" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, learner.id).checkout_reminders is True
    response = client.post("/" + path)
    assert response.status_code == 200 and "You are unsubscribed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, learner.id).checkout_reminders is False
    _abandoned(learner, factories.course(), started=START + timedelta(minutes=1))
    assert _run(25) == 0  # the learner's next abandoned checkout is not reminded


def test_mail_programs_unsubscribe_with_a_post_and_no_csrf_token(client, learner, paid_course, outbox):
    _abandoned(learner, paid_course)
    _run(25)
    path = "/" + outbox[0]["List-Unsubscribe"].strip("<>").split("://", 1)[1].split("/", 1)[1]
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 204
    db.session.expire_all()
    assert db.session.get(User, learner.id).checkout_reminders is False


def test_a_forged_unsubscribe_link_is_refused(client):
    assert client.get("/unsubscribe/checkout-reminders/not-a-token").status_code == 404


def test_the_account_page_turns_reminders_off_and_on(client, sign_in, learner):
    from tests.helpers import post_form
    sign_in(client, learner)
    assert 'name="checkout_reminders" value="on" checked' in client.get("/account").get_data(as_text=True)
    post_form(client, "/account/reminders", {})
    db.session.expire_all()
    assert db.session.get(User, learner.id).checkout_reminders is False
    post_form(client, "/account/reminders", {"checkout_reminders": "on"})
    db.session.expire_all()
    assert db.session.get(User, learner.id).checkout_reminders is True


def test_checkouts_turned_down_do_not_starve_later_ones(learner, paid_course, outbox):
    # Two older checkouts whose learner bought the course since stay due for a week; with a
    # page of two they must not fill every run and keep the third checkout from its reminder.
    for minutes in (0, 1):
        bought = factories.course()
        _abandoned(learner, bought, started=START + timedelta(minutes=minutes))
        factories.enrollment(learner, bought, paid=True)
    _abandoned(learner, paid_course, started=START + timedelta(minutes=2))
    assert runs.remind_abandoned_checkouts(now=EXPIRED_AT + timedelta(hours=26), limit=2) == 1
    assert [m["Subject"] for m in outbox] == ["Still thinking about Python 101?"]
