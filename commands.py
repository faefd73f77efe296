"""Command-line tools for operators: `flask users …` and `flask demo …`.

Blueprints add their own groups (`flask payments …`, `flask webhooks …`) with `bp.cli`.
"""
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from extensions import db
from models import UserRole, utcnow
from services import demo
from services.payments import reconcile, stripe_gateway, webhook_inbox
from services.people import accounts
from services.errors import DomainError

users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
payments_cli = AppGroup("payments", help="Payment sessions: reconcile with Stripe, expire stale ones.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(["learner", "staff", "admin"]), default="learner", show_default=True)
@click.option("--password", help="Prompted for (hidden) when not given.")
def create_user(email: str, name: str, role: str, password: str | None) -> None:
    """Create an account, e.g. a staff member."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(email, name or email.split("@")[0], password, UserRole(role.upper()))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {user.role.value.lower()} {user.email} (id {user.id}).")


@users_cli.command("set-role")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["learner", "staff", "admin"]), required=True)
def set_role(email: str, role: str) -> None:
    """Change an account's role."""
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No account with email {email}.")
    user.role = UserRole(role.upper())
    db.session.commit()
    click.echo(f"{user.email} is now {role}.")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Only seed a database that has no courses yet.")
def seed(if_empty: bool) -> None:
    """Load demo courses, coupons and accounts (safe to run again)."""
    if if_empty and not demo.is_empty():
        click.echo("Database already has data; demo seed skipped.")
        return
    credentials = demo.seed()
    db.session.commit()
    click.echo("Demo data loaded. Sign in with:")
    for role, (email, password) in credentials.items():
        click.echo(f"  {role:8} {email} / {password}")


# --- payments (issue 5): catching up with Stripe from cron, safe on every instance at once ---

@payments_cli.command("reconcile")
@click.option("--older-than-minutes", default=15, show_default=True, type=click.IntRange(min=0),
              help="Only sessions opened at least this long ago (younger ones are still in progress).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--events/--no-events", default=True, show_default=True,
              help="Also feed Stripe's undelivered events (last 3 days) through the webhook inbox.")
def reconcile_payments(older_than_minutes: int, limit: int, events: bool) -> None:
    """Ask Stripe about PENDING/PROCESSING sessions and apply what it says (fulfill, expire)."""
    now = utcnow()
    candidates = reconcile.stale_candidates(older_than=timedelta(minutes=older_than_minutes), now=now, limit=limit)
    counts = _each_session(candidates, reconcile.reconcile_one, now, "not reconciled")
    click.echo("Sessions: " + (_summary(counts) or "none to check"))
    if not events:
        return
    keeps = current_app.config.get("PARTIAL_REFUND_KEEPS_ACCESS", True)
    applied = 0
    try:
        pending = list(reconcile.undelivered_events(since=now - timedelta(days=3)))
    except stripe_gateway.StripeGatewayError as error:
        raise click.ClickException(f"Could not list undelivered events: {error.user_message}") from error
    for data in pending:
        if webhook_inbox.is_done(data["id"]):
            continue
        try:
            webhook_inbox.receive(data, now=utcnow(), partial_refund_keeps_access=keeps)
            db.session.commit()
            applied += 1
        except Exception as error:  # recorded in the inbox; retry-failed picks it up
            db.session.rollback()
            webhook_inbox.record_failure(data, error, now=utcnow())
            db.session.commit()
            click.echo(f"{data['id']}: failed ({type(error).__name__})", err=True)
    click.echo(f"Undelivered events: {len(pending)} listed, {applied} applied.")


@payments_cli.command("expire-stale")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
def expire_stale(limit: int) -> None:
    """Expire overdue PENDING sessions on Stripe and here, releasing their coupon holds."""
    now = utcnow()
    counts = _each_session(reconcile.overdue_candidates(now=now, limit=limit), reconcile.expire_one, now, "not expired")
    click.echo("Overdue sessions: " + (_summary(counts) or "none"))


def _each_session(payment_session_ids, action, now, failure: str) -> dict[str, int]:
    """Run `action` on each session in a transaction of its own; count the outcomes."""
    keeps = current_app.config.get("PARTIAL_REFUND_KEEPS_ACCESS", True)
    counts: dict[str, int] = {}
    for ps_id in payment_session_ids:
        try:
            status = action(ps_id, now=now, partial_refund_keeps_access=keeps)
            db.session.commit()
        except (DomainError, stripe_gateway.StripeGatewayError) as error:
            db.session.rollback()
            click.echo(f"{ps_id}: {failure} ({error})", err=True)
            status = "ERROR"
        key = str(getattr(status, "value", status) or "SKIPPED")
        counts[key] = counts.get(key, 0) + 1
    return counts


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(payments_cli)
