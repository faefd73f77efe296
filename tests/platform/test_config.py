"""Settings come from the environment, and production refuses unsafe ones."""
import pytest

from app import create_app
from config import Config


def test_environment_wins_over_defaults(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example:5432/learn")
    monkeypatch.setenv("FRONTEND_URL", "https://learn.example.com/")
    settings = Config().as_dict()
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example:5432/learn"
    assert settings["FRONTEND_URL"] == "https://learn.example.com"


def test_no_stripe_key_means_the_sandbox(monkeypatch):
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    assert Config().as_dict()["STRIPE_SANDBOX"] is True
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_real")
    assert Config().as_dict()["STRIPE_SANDBOX"] is False


def test_webhook_secrets_are_a_list_for_rotation(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_new, whsec_old")
    assert Config().as_dict()["STRIPE_WEBHOOK_SECRETS"] == ["whsec_new", "whsec_old"]


@pytest.mark.parametrize("overrides, message", [
    ({"SECRET_KEY": "dev-only-insecure-secret-key"}, "SECRET_KEY"),
    ({"SECRET_KEY": "x" * 40, "STRIPE_SANDBOX": True}, "sandbox"),
    ({"SECRET_KEY": "x" * 40, "STRIPE_SANDBOX": False, "STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": "",
      "STRIPE_WEBHOOK_SECRETS": ["whsec_1"], "MAIL_SERVER": "", "FRONTEND_URL": "https://learn.example.com"},
     "MAIL_SERVER"),
    ({"SECRET_KEY": "x" * 40, "STRIPE_SANDBOX": False, "STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": "",
      "STRIPE_WEBHOOK_SECRETS": ["whsec_1"], "MAIL_SERVER": "smtp.example.com"}, "FRONTEND_URL"),
    ({"SECRET_KEY": "x" * 40, "STRIPE_SANDBOX": False, "STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": "",
      "STRIPE_WEBHOOK_SECRETS": ["whsec_1"], "MAIL_SERVER": "smtp.example.com",
      "FRONTEND_URL": "http://learn.example.com"}, "FRONTEND_URL"),
])
def test_production_refuses_unsafe_settings(overrides, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://", **overrides})


def test_production_starts_with_safe_settings():
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40,
                      "STRIPE_SANDBOX": False, "STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": "",
                      "STRIPE_WEBHOOK_SECRETS": ["whsec_1"], "MAIL_SERVER": "smtp.example.com",
                      "FRONTEND_URL": "https://learn.example.com"})
    assert app.config["SESSION_COOKIE_SECURE"] is False or app.config["APP_ENV"] == "production"


def test_a_negative_trusted_proxies_is_refused():
    # ProxyFix would then believe an X-Forwarded-For entry that the client wrote itself.
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TRUSTED_PROXIES": -1})
