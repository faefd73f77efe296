"""One Stripe Customer per learner: created at the first checkout, reused by every later one,
shown on the payment sessions, and created once even when checkouts race."""
from extensions import db
from models import User
from tests import factories
from tests.api.builders import start_session
from tests.api.conftest import FRONTEND
from tests.isolation import run_in_threads


def test_the_first_checkout_creates_the_customer_and_later_ones_reuse_it(client, sandbox, auth, learner,
                                                                       paid_course):
    first = start_session(client, auth, paid_course.slug)["session"]
    second = start_session(client, auth, factories.course(price=2500).slug)["session"]
    customer_id = first["stripeCustomerId"]
    assert customer_id.startswith("cus_") and second["stripeCustomerId"] == customer_id
    db.session.expire_all()
    assert db.session.get(User, learner.id).stripe_customer_id == customer_id
    assert list(sandbox.state.customers) == [customer_id]
    customer = sandbox.state.customers[customer_id]
    assert (customer["email"], customer["metadata"]["user_id"]) == (learner.email, str(learner.id))
    for session in (first, second):
        stripe_session = sandbox.state.sessions[session["stripeSessionId"]]
        assert stripe_session["customer"] == customer_id and stripe_session["customer_email"] is None


def test_payment_sessions_show_their_stripe_metadata(client, sandbox, auth, learner, paid_course):
    session = start_session(client, auth, paid_course.slug)["session"]
    assert session["metadata"] == {"payment_session_id": session["id"], "course_id": str(paid_course.id),
                                   "course_slug": paid_course.slug, "user_id": str(learner.id), "coupon_code": ""}
    assert sandbox.state.sessions[session["stripeSessionId"]]["metadata"] == session["metadata"]
    fetched = client.get(f"/api/payments/sessions/{session['id']}", headers=auth).get_json()["session"]
    assert fetched["metadata"] == session["metadata"] and fetched["stripeCustomerId"] == session["stripeCustomerId"]


def test_learners_never_share_a_customer(client, sandbox, auth, other_auth, paid_course):
    mine = start_session(client, auth, paid_course.slug)["session"]["stripeCustomerId"]
    theirs = start_session(client, other_auth, paid_course.slug)["session"]["stripeCustomerId"]
    assert mine != theirs and len(sandbox.state.customers) == 2


def test_when_stripe_cannot_create_the_customer_the_checkout_fails_cleanly(client, sandbox, auth, learner,
                                                                          paid_course, app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_client", None)
    response = client.post("/api/payments/sessions", json={"courseId": paid_course.slug}, headers=auth)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "CHECKOUT_UNAVAILABLE"
    db.session.expire_all()
    assert db.session.get(User, learner.id).stripe_customer_id is None


def test_racing_first_checkouts_of_one_learner_create_one_customer(app, two_apps, sandbox, auth, learner):
    courses = [factories.course(price=3000 + n).slug for n in range(2)]

    def checkout(instance, slug):
        def job():
            with instance.app_context():
                response = instance.test_client().post("/api/payments/sessions", headers=auth, json={
                    "courseId": slug, "returnUrl": f"{FRONTEND}/done"})
                return response.status_code, response.get_json()
        return job

    results = run_in_threads(app, [checkout(instance, slug) for instance, slug in zip(two_apps, courses)])
    assert [result[0] for result in results] == [201, 201], results
    customers = {body["session"]["stripeCustomerId"] for _, body in results}
    assert len(customers) == 1 and list(sandbox.state.customers) == list(customers)
    db.session.expire_all()
    assert db.session.get(User, learner.id).stripe_customer_id in customers
