"""Command-line tools for operators: `flask users …` and `flask demo …`.

Blueprints add their own groups (`flask payments …`, `flask webhooks …`) with `bp.cli`.
"""
import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from models import UserRole
from services import accounts, demo
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


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(payments_cli)
