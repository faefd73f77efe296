"""What learners are told by mail about their purchases (queued; sent once the change commits)."""
from flask import current_app, render_template

from models import Enrollment, PaymentSession
from services import mail
from services.money import format_money


def enrollment_paid(payment_session: PaymentSession, enrollment: Enrollment) -> None:
    """"You're enrolled": the confirmation and receipt of a paid checkout."""
    course, user = payment_session.course, payment_session.user
    mail.send_after_commit(user.email, f"You're enrolled in {course.title}", render_template(
        "mail/enrolled.txt", user=user, course=course, payment_session=payment_session, enrollment=enrollment,
        amount=format_money(payment_session.final_amount, payment_session.currency),
        # Built from FRONTEND_URL: fulfillment also runs from cron, where no request gives a host.
        frontend_url=current_app.config["FRONTEND_URL"]))
