"""The webhook inbox for staff: recent Stripe events, their outcome, and reprocessing failures."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.forms import EmptyForm
from blueprints.staff import bp
from blueprints.staff.helpers import page_arg
from blueprints.webhooks import delivery
from extensions import db
from models import StripeEvent, WebhookEventStatus
from services import audit
from services.payments import lists as payment_lists


@bp.route("/webhooks")
def webhooks():
    filters = {"status": request.args.get("status", ""), "type_": request.args.get("type", "")}
    return render_template("staff/webhooks.html", rows=payment_lists.webhook_events(page=page_arg(), **filters),
                           filters=filters, statuses=list(WebhookEventStatus), action_form=EmptyForm())


@bp.route("/webhooks/<event_id>/reprocess", methods=["POST"])
def webhook_reprocess(event_id: str):
    event = db.get_or_404(StripeEvent, event_id)
    if EmptyForm().validate_on_submit():
        before = {"status": event.status.value, "attempts": event.attempts}
        attempt = delivery.retry(event_id)  # committed, or rolled back with the failure recorded
        event = db.session.get(StripeEvent, event_id, populate_existing=True)
        audit.record("staff.webhook_reprocessed", event, actor=current_user, before=before,
                     after={"status": event.status.value, "attempts": event.attempts})
        db.session.commit()
        if attempt.failed:
            flash(f"Event {event_id} failed again: {event.last_error}", "error")
        elif attempt.outcome is None:
            flash("Nothing to do: the event is already done or another worker holds it.", "info")
        else:
            flash(f"Event {event_id} reprocessed: {event.status.value.lower()}.", "success")
    return redirect(url_for("staff.webhooks", status=request.args.get("status", "")))
