"""/staff/mail: recent mails with their state and a preview that never shows a reset link."""
import sqlalchemy as sa

from extensions import db
from models import OutboxMail
from services import notifications


def test_staff_see_recent_mail_with_state_and_a_preview(client, sign_in, staff, learner):
    notifications.password_reset(learner, request_id="r1")
    db.session.commit()  # JOBS_IMMEDIATE: the hint sends it at once (to the log)
    row_id = db.session.scalar(sa.select(OutboxMail.id))
    sign_in(client, staff)
    page = client.get("/staff/mail").get_data(as_text=True)
    assert learner.email in page and "password_reset" in page and "SENT" in page
    preview = client.get(f"/staff/mail?show={row_id}").get_data(as_text=True)
    assert "Reset your Learnpay password" in preview and "shown only in the mail itself" in preview
    assert "/password/reset/" not in preview


def test_learners_cannot_see_the_mail(client, sign_in, learner):
    sign_in(client, learner)
    assert client.get("/staff/mail").status_code == 403


def test_a_mail_that_cannot_be_rendered_is_shown_as_such_not_a_500(client, sign_in, staff, learner):
    notifications.password_reset(learner, request_id="r1")
    db.session.commit()
    row = db.session.scalars(sa.select(OutboxMail)).one()
    row.template = "retired_template"  # a row queued by an older release whose template is gone
    db.session.commit()
    sign_in(client, staff)
    response = client.get(f"/staff/mail?show={row.id}")
    assert response.status_code == 200 and "cannot be rendered" in response.get_data(as_text=True)
