"""Command-line tools for operators: `flask users create|set-role`, `flask demo seed`, and the
periodic work (`flask payments reconcile|expire-stale|remind-abandoned`, `flask webhooks
retry-failed`, `flask mail deliver`, `flask users purge-sessions`, `flask api
purge-idempotency-keys`, `flask referrals issue-rewards`) that the job worker also runs on its schedule (`flask jobs …`, jobs/).
"""
import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from jobs import runs
from models import UserRole
from services import demo
from services.payments import stripe_gateway
from services.people import accounts, admin as user_admin
from services.errors import DomainError

users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
payments_cli = AppGroup("payments", help="Payment sessions: reconcile with Stripe, expire stale ones.")
webhooks_cli = AppGroup("webhooks", help="The Stripe webhook inbox.")
mail_cli = AppGroup("mail", help="The mail outbox.")
api_cli = AppGroup("api", help="The JSON API's housekeeping.")
referrals_cli = AppGroup("referrals", help="Referral rewards.")


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
    """Change an account's role (audited, as when an admin changes it on /staff/users)."""
    try:
        user = user_admin.change_role(accounts.require_by_email(email), role.upper(), actor=None,
                                      actor_label=user_admin.COMMAND_LINE)
    except DomainError as error:
        raise click.ClickException(error.message) from error
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


# --- periodic work (issue 5, issue 15): the same runs the job worker schedules (jobs/runs.py) ---

@payments_cli.command("reconcile")
@click.option("--older-than-minutes", default=15, show_default=True, type=click.IntRange(min=0),
              help="Only sessions opened at least this long ago (younger ones are still in progress).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--events/--no-events", default=True, show_default=True,
              help="Also feed Stripe's undelivered events (last 3 days) through the webhook inbox.")
def reconcile_payments(older_than_minutes: int, limit: int, events: bool) -> None:
    """Ask Stripe about PENDING/PROCESSING sessions and apply what it says (fulfill, expire)."""
    try:
        failures = runs.reconcile(older_than_minutes=older_than_minutes, limit=limit, events=events, echo=click.echo)
    except stripe_gateway.StripeGatewayError as error:
        raise click.ClickException(f"Could not list undelivered events: {error.user_message}") from error
    _exit_if_failed(failures)


@payments_cli.command("expire-stale")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
def expire_stale(limit: int) -> None:
    """Expire overdue PENDING sessions on Stripe and here, releasing their coupon holds."""
    runs.expire_stale(limit=limit, echo=click.echo)


@payments_cli.command("remind-abandoned")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
def remind_abandoned(limit: int) -> None:
    """Mail one reminder for each checkout that expired unpaid 24 hours ago (once per checkout)."""
    runs.remind_abandoned_checkouts(limit=limit, echo=click.echo)


@webhooks_cli.command("retry-failed")
@click.option("--limit", default=100, show_default=True, help="At most this many events per run.")
def retry_failed(limit: int) -> None:
    """Reprocess failed inbox events (safe on every instance at once: rows are claimed with SKIP LOCKED)."""
    _exit_if_failed(runs.retry_failed_webhooks(limit=limit, echo=click.echo))


def _exit_if_failed(failures: int) -> None:
    """Exit 1 once the whole run is done if any unit failed (cron and monitoring see it)."""
    if failures:
        click.echo(f"{failures} failed; see the messages above and the staff inbox.", err=True)
        raise SystemExit(1)


@mail_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(min=1))
def deliver_mail(limit: int) -> None:
    """Send the outbox's due mail: new, to retry, or left by a worker that stopped."""
    handled = runs.deliver_mail(limit=limit, echo=click.echo)
    if not handled:
        click.echo("Mail: nothing due.")


@users_cli.command("purge-sessions")
def purge_sessions() -> None:
    """Delete the rows of ended sign-in sessions (revoked, expired, idle)."""
    runs.purge_ended_sessions(echo=click.echo)


@api_cli.command("purge-idempotency-keys")
def purge_idempotency_keys() -> None:
    """Delete Idempotency-Key records older than their 24 hours."""
    runs.purge_idempotency_keys(echo=click.echo)


@referrals_cli.command("issue-rewards")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
def issue_referral_rewards(limit: int) -> None:
    """Issue (coupon + mail) every referral reward whose purchase is past its refund window."""
    _exit_if_failed(runs.issue_referral_rewards(limit=limit, echo=click.echo))


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(api_cli)
    app.cli.add_command(referrals_cli)
