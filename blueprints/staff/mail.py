"""The mail outbox for staff: recent mails with their state, and a preview of each."""
import logging

from flask import render_template, request

from blueprints.staff import bp
from blueprints.staff.helpers import int_arg
from extensions import db
from models import MailStatus, OutboxMail
from services import mail, notifications

log = logging.getLogger(__name__)


@bp.route("/mail")
def mail_outbox():
    status = request.args.get("status", "")
    chosen = MailStatus(status) if status in MailStatus.__members__ else None
    shown = int_arg("show")
    row = db.session.get(OutboxMail, shown) if shown else None
    preview = None
    if row is not None:
        try:
            preview = notifications.message_for(row, preview=True)
        except notifications.MailCancelled as reason:
            preview = f"(not sent: {reason})"
        except Exception as error:  # noqa: BLE001 - a broken row is what staff came here to see
            log.exception("Mail %s cannot be rendered", row.id)
            preview = f"(cannot be rendered: {type(error).__name__}; the worker retries it and marks it FAILED)"
    return render_template("staff/mail.html", rows=mail.recent(100, chosen), statuses=list(MailStatus),
                           status=status, shown=row, preview=preview, backlog=mail.backlog())
