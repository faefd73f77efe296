"""Settings read from the environment (and from `.env` in development).

Code reads `current_app.config`; only `app.create_app` imports this module.
A variable set in the environment always wins over `.env` and over the defaults here.
"""
import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"
STRIPE_API_VERSION = "2026-10-28.endive"
SANDBOX_SECRET_KEY = "sk_test_learnpay_sandbox"
DEFAULT_FRONTEND_URL = "http://127.0.0.1:5000"  # `make run`


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'learnpay.db'}")
    # Heroku-style and plain postgres URLs would pick psycopg2; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _connectable(host: str) -> str:
    """The address to reach a server bound to `host` (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Config:
    """Every setting, read once when the app is created (see docs/configuration.md)."""

    def __init__(self) -> None:
        if _env("APP_ENV", "development") != "production":
            load_dotenv(BASE_DIR / ".env", override=False)
        self.APP_ENV = _env("APP_ENV", "development")
        self.SECRET_KEY = _env("SECRET_KEY", DEFAULT_SECRET_KEY)
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # SQLite only: how long a writer waits for another one's transaction before giving up.
        self.SQLITE_BUSY_TIMEOUT_SECONDS = float(_env("SQLITE_BUSY_TIMEOUT_SECONDS", "30"))
        # The public address: the base of every link we send (Stripe's return URLs, mails).
        # Never taken from a request's Host header, which the client chooses.
        # `make run` serves on HOST:PORT and the sandbox on SANDBOX_PORT; the defaults follow them.
        self.HOST = _env("HOST", "127.0.0.1")
        self.PORT = int(_env("PORT", "5000"))
        self.SANDBOX_PORT = int(_env("SANDBOX_PORT", "5001"))
        self.FRONTEND_URL = _env("FRONTEND_URL", f"http://{_connectable(self.HOST)}:{self.PORT}").rstrip("/")
        self.ALLOWED_REDIRECT_ORIGINS = _split(_env("ALLOWED_REDIRECT_ORIGINS", "")) or [self.FRONTEND_URL]
        # Other sites' frontends that may call /api/* from a browser (bearer tokens, never cookies).
        self.CORS_ALLOWED_ORIGINS = [origin.rstrip("/") for origin in _split(_env("CORS_ALLOWED_ORIGINS", ""))]

        real_key = _env("STRIPE_SECRET_KEY")
        self.STRIPE_SECRET_KEY = real_key or SANDBOX_SECRET_KEY
        # With no key configured we talk to the local sandbox; with a key, to Stripe
        # unless STRIPE_API_BASE says otherwise.
        sandbox_base = f"http://127.0.0.1:{self.SANDBOX_PORT}"
        self.STRIPE_API_BASE = _env("STRIPE_API_BASE", "" if real_key else sandbox_base).rstrip("/")
        self.STRIPE_SANDBOX = bool(self.STRIPE_API_BASE)
        self.STRIPE_WEBHOOK_SECRETS = _split(_env("STRIPE_WEBHOOK_SECRET"))
        self.STRIPE_API_VERSION = STRIPE_API_VERSION
        self.STRIPE_WEBHOOK_TOLERANCE = int(_env("STRIPE_WEBHOOK_TOLERANCE", "300"))
        self.STRIPE_TIMEOUT_SECONDS = float(_env("STRIPE_TIMEOUT_SECONDS", "20"))
        self.STRIPE_MAX_NETWORK_RETRIES = int(_env("STRIPE_MAX_NETWORK_RETRIES", "2"))
        self.CHECKOUT_SESSION_MINUTES = int(_env("CHECKOUT_SESSION_MINUTES", "31"))
        # Proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
        self.TRUSTED_PROXIES = int(_env("TRUSTED_PROXIES", "0"))
        self.PARTIAL_REFUND_KEEPS_ACCESS = _flag("PARTIAL_REFUND_KEEPS_ACCESS", True)
        # Days a PAST_DUE membership subscription keeps its courses open (issue 16; docs/configuration.md).
        self.MEMBERSHIP_GRACE_DAYS = int(_env("MEMBERSHIP_GRACE_DAYS", "7"))
        self.WEBHOOK_MAX_BYTES = int(_env("WEBHOOK_MAX_BYTES", str(256 * 1024)))

        self.REDIS_URL = _env("REDIS_URL")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
        self.RATELIMIT_HEADERS_ENABLED = True
        self.COUPON_CHECK_RATE_LIMIT = _env("COUPON_CHECK_RATE_LIMIT", "60/minute")
        self.SIGN_IN_RATE_LIMIT = _env("SIGN_IN_RATE_LIMIT", "10/minute;30/hour")
        self.SIGN_UP_RATE_LIMIT = _env("SIGN_UP_RATE_LIMIT", "10/hour")
        self.PASSWORD_RESET_RATE_LIMIT = _env("PASSWORD_RESET_RATE_LIMIT", "5/hour")
        self.API_RATE_LIMIT = _env("API_RATE_LIMIT", "120/minute")
        self.API_ADDRESS_RATE_LIMIT = _env("API_ADDRESS_RATE_LIMIT", "600/minute")

        # The job queue (jobs/): Redis when REDIS_URL is set, else this SQLite file.
        self.JOBS_SQLITE_PATH = _env("JOBS_SQLITE_PATH", str(BASE_DIR / "instance" / "jobs.db"))
        self.JOBS_IMMEDIATE = _flag("JOBS_IMMEDIATE")  # tests: run tasks inline, no queue

        self.PASSWORD_RESET_MINUTES = int(_env("PASSWORD_RESET_MINUTES", "60"))
        self.MAIL_SERVER = _env("MAIL_SERVER")
        self.MAIL_PORT = int(_env("MAIL_PORT", "587"))
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _flag("MAIL_USE_TLS", True)
        self.MAIL_FROM = _env("MAIL_FROM", "Learnpay <no-reply@learnpay.dev>")

        # Operations (docs/operations.md): logs, metrics, error reports.
        self.LOG_FORMAT = _env("LOG_FORMAT", "json" if self.APP_ENV == "production" else "text").lower()
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO").upper()
        self.METRICS_ALLOWED_IPS = _split(_env("METRICS_ALLOWED_IPS", "127.0.0.1,::1"))
        self.METRICS_TOKEN = _env("METRICS_TOKEN")
        self.SENTRY_DSN = _env("SENTRY_DSN")
        self.SENTRY_TRACES_SAMPLE_RATE = float(_env("SENTRY_TRACES_SAMPLE_RATE", "0"))

        self.OIDC_ISSUER = _env("OIDC_ISSUER")
        self.OIDC_CLIENT_ID = _env("OIDC_CLIENT_ID")
        self.OIDC_CLIENT_SECRET = _env("OIDC_CLIENT_SECRET")
        self.OIDC_AUDIENCE = _env("OIDC_AUDIENCE") or self.OIDC_CLIENT_ID
        self.OIDC_PROVIDER_NAME = _env("OIDC_PROVIDER_NAME", "your identity provider")
        self.OIDC_STAFF_CLAIM = _env("OIDC_STAFF_CLAIM")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.APP_ENV == "production"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # Server-side session limits (services/people/sessions.py): inactivity, and the most a
        # sign-in lasts, "remember me" included (its cookie lasts as long).
        self.SESSION_IDLE_MINUTES = int(_env("SESSION_IDLE_MINUTES", "120"))
        self.SESSION_MAX_DAYS = int(_env("SESSION_MAX_DAYS", "30"))
        self.REMEMBER_COOKIE_DURATION = timedelta(days=self.SESSION_MAX_DAYS)
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = 2 * 1024 * 1024
        # Course covers (services/courses/covers.py): where they are stored (one folder every
        # instance shares), the largest upload and the most pixels it may declare.
        self.COURSE_COVER_DIR = _env("COURSE_COVER_DIR", str(BASE_DIR / "instance" / "covers"))
        self.COURSE_COVER_MAX_BYTES = int(_env("COURSE_COVER_MAX_BYTES", str(5 * 1024 * 1024)))
        self.COURSE_COVER_MAX_PIXELS = int(_env("COURSE_COVER_MAX_PIXELS", "40000000"))

    def as_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key.isupper()}


def check_production_safety(settings) -> None:
    """Refuse to run production with settings that are only fit for development."""
    _check_operations_settings(settings)
    if settings["APP_ENV"] != "production":
        return
    secret = settings.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
        raise RuntimeError("SECRET_KEY must be set to a long random value in production.")
    if settings["STRIPE_SANDBOX"] or settings["STRIPE_SECRET_KEY"] == SANDBOX_SECRET_KEY:
        raise RuntimeError("The Stripe sandbox cannot be used in production: set STRIPE_SECRET_KEY "
                           "and unset STRIPE_API_BASE.")
    if not settings["STRIPE_WEBHOOK_SECRETS"]:
        raise RuntimeError("STRIPE_WEBHOOK_SECRET must be set in production.")
    frontend_url = settings.get("FRONTEND_URL") or ""
    if not frontend_url.startswith("https://") or frontend_url == DEFAULT_FRONTEND_URL:
        raise RuntimeError("FRONTEND_URL must be the site's public https address in production "
                           "(Stripe's return URLs and mailed links are built on it).")
    if not settings.get("MAIL_SERVER"):
        # Otherwise "forgot password" would tell learners a link is on its way that never comes.
        raise RuntimeError("MAIL_SERVER must be set in production: password reset links are sent by email.")


def _check_operations_settings(settings) -> None:
    from ipaddress import ip_network

    for allowed in settings.get("METRICS_ALLOWED_IPS", []):
        try:
            ip_network(allowed, strict=False)
        except ValueError:
            raise RuntimeError(f"METRICS_ALLOWED_IPS: {allowed!r} is not an IP address or network.") from None
    if settings.get("SESSION_IDLE_MINUTES", 120) < 1 or settings.get("SESSION_MAX_DAYS", 30) < 1:
        raise RuntimeError("SESSION_IDLE_MINUTES and SESSION_MAX_DAYS must be at least 1.")
    if settings.get("LOG_FORMAT", "text") not in ("json", "text"):
        raise RuntimeError("LOG_FORMAT must be json or text.")
    token = settings.get("METRICS_TOKEN") or ""
    if token and len(token) < 16:
        raise RuntimeError("METRICS_TOKEN must be at least 16 characters (or unset).")
