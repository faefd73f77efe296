"""What creating a Checkout Session through the API costs in SQL statements (issue 22)."""
import pytest

from extensions import db
from tests import factories
from tests.api.builders import bearer
from tests.helpers import StatementCounter

FRONTEND = "http://127.0.0.1:5000"


@pytest.fixture
def app_overrides(sandbox_config):
    return {**sandbox_config, "FRONTEND_URL": FRONTEND, "ALLOWED_REDIRECT_ORIGINS": [FRONTEND]}


def test_new_checkout_session_statements(client, learner, sandbox):
    course_ids = [factories.course(lectures=5).id for _ in range(2)]
    headers = bearer(learner)
    counts = []
    for course_id in course_ids:
        db.session.expunge_all()
        with StatementCounter(db.engine) as counter:
            response = client.post("/api/payments/sessions", json={"courseId": course_id}, headers=headers)
        assert response.status_code == 201 and response.get_json()["status"] == "REDIRECT"
        counts.append(counter.count)
    assert len(sandbox.state.sessions) == 2
    # token with its learner; course; learner row lock; enrollment; open or processing sessions;
    # INSERT; the session locked with course and learner; open sessions to close on Stripe;
    # UPDATE with Stripe's id and URL; the committed session for the answer. (It was 19.)
    assert counts[1] == 10
    # The first use of the token also records it (UPDATE, learner reloaded), and the learner's
    # first checkout creates their Stripe Customer (the learner locked, then its id written).
    assert counts[0] == 14
