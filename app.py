"""The application factory: it wires extensions, blueprints, error handlers and commands.

It does nothing else: no migrations, no network calls, no prompts (see STYLE.md).
"""
import importlib
from typing import Any

from flask import Flask, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

import commands
import jobs
import telemetry
from blueprints import errors, security_headers
from blueprints.auth import signin
from config import Config, check_production_safety
from extensions import (cors, csrf, db, enable_sqlite_foreign_keys, limiter, login_manager, migrate, oauth,
                        serialize_sqlite_writers)
from services.courses import covers, details
from services.learning import access
from services.money import format_money
from services import products

# The styles of the `when` Jinja filter: times are stored and shown in UTC.
DATE_FORMATS = {
    "datetime": "%d %b %Y, %H:%M UTC",  # learner pages
    "date": "%d %B %Y",                 # certificates
    "day": "%d %b %Y",
    "time": "%H:%M UTC",
    "table": "%Y-%m-%d %H:%M",           # staff tables (sortable at a glance; the column says UTC)
}

BLUEPRINTS = ("auth", "catalog", "checkout", "learner", "memberships", "paths", "staff", "webhooks", "api", "ops",
              "referrals")


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(Config().as_dict())
    app.config.update(config_overrides or {})
    check_production_safety(app.config)
    telemetry.register(app)  # first: the request id and the timer start before any other hook
    if app.config.get("TRUSTED_PROXIES", 0) < 0:
        raise RuntimeError("TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies in front of the app.")
    if app.config.get("TRUSTED_PROXIES"):
        # Behind a load balancer every request comes from its address: per-address rate limits
        # would become site-wide ones. Only as many hops as configured are believed (spoofing).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    register_extensions(app)
    register_blueprints(app)
    errors.register(app)
    security_headers.register(app)
    commands.register(app)
    jobs.init_app(app)
    telemetry.watch_jobs(app.extensions["huey"])  # a "job run" line and metrics for every task
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    enable_sqlite_foreign_keys()
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            serialize_sqlite_writers(engine, busy_timeout_seconds=app.config.get("SQLITE_BUSY_TIMEOUT_SECONDS", 30))
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    oauth.init_app(app)
    init_cors(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    signin.register(app)  # the user loader: server-checked sessions (services/people/sessions.py)


# What a frontend on another origin may send and read. No X-CSRFToken: cross-origin callers
# authenticate with bearer tokens, never with the session cookie.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSED_HEADERS = ["Idempotent-Replayed", "Retry-After", "WWW-Authenticate", "X-RateLimit-Limit",
                        "X-RateLimit-Remaining", "X-RateLimit-Reset"]


def init_cors(app: Flask) -> None:
    """CORS for /api/* from CORS_ALLOWED_ORIGINS only, and never with credentials (cookies)."""
    cors.init_app(app, resources={r"/api/*": {"origins": list(app.config.get("CORS_ALLOWED_ORIGINS") or [])}},
                  allow_headers=CORS_REQUEST_HEADERS, expose_headers=CORS_EXPOSED_HEADERS,
                  methods=["GET", "POST", "PATCH", "OPTIONS"], supports_credentials=False, max_age=600,
                  send_wildcard=False)


def register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        module = importlib.import_module(f"blueprints.{name}.routes")
        app.register_blueprint(module.bp)


def register_template_helpers(app: Flask) -> None:
    @app.template_filter("when")
    def when_filter(value, style: str = "datetime") -> str:
        """Every date and time a page shows, in UTC (learner and staff pages alike)."""
        return value.strftime(DATE_FORMATS[style]) if value is not None else "—"

    @app.template_filter("money")
    def money_filter(amount: int, currency: str, free_label: str | None = None) -> str:
        return format_money(amount, currency, free_label=free_label)

    @app.template_filter("duration")
    def duration_filter(minutes: int) -> str:
        """A course's length: "1 h 15 min"."""
        return details.format_length(minutes)

    # Any page may say why an enrollment gives no access (the course page's purchase box does).
    app.jinja_env.globals["describe_access"] = access.describe
    app.jinja_env.filters["sold"] = products.sold  # {{ (ps|sold).title }}: what a payment sells
    app.jinja_env.globals["topic_label"] = details.topic_label

    @app.template_global()
    def cover_url(key: str, size: str = "large") -> str:
        """The URL of a course cover's file ("large" for the course page, "small" for cards)."""
        return url_for("catalog.cover", name=covers.filename(key, size))

    @app.context_processor
    def inject_settings() -> dict:
        return {"stripe_sandbox": app.config["STRIPE_SANDBOX"],
                "oidc_enabled": bool(app.config.get("OIDC_ISSUER") and app.config.get("OIDC_CLIENT_ID")),
                "oidc_provider_name": app.config.get("OIDC_PROVIDER_NAME"),
                # Absolute links on pages use the configured address, never the request's Host.
                "frontend_url": app.config["FRONTEND_URL"]}
