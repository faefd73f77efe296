"""Every response carries the security headers; production adds HSTS."""
from app import create_app
from tests.helpers import TEST_WEBHOOK_SECRET


def test_pages_forbid_framing_and_sniffing(client):
    for path in ["/courses", "/login", "/no-such-page", "/api/courses"]:
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers  # development is plain http


def test_a_view_keeps_its_own_referrer_policy(client):
    # The password reset page names a token in its address: it tells no other site about it.
    assert client.get("/password/reset/not-a-token").headers["Referrer-Policy"] == "no-referrer"


def test_production_adds_hsts():
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40,
                      "STRIPE_SANDBOX": False, "STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": "",
                      "STRIPE_WEBHOOK_SECRETS": [TEST_WEBHOOK_SECRET], "MAIL_SERVER": "smtp.example.com",
                      "FRONTEND_URL": "https://learn.example.com"})
    response = app.test_client().get("/static/css/app.css")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
