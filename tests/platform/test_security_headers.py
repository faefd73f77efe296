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


# --- issue 14: no-store on every authenticated response, cookie attributes -------------------

def _cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_authenticated_responses_are_not_stored(client, learner, paid_course, sign_in):
    from services.people import api_tokens
    from extensions import db

    anonymous = client.application.test_client()
    assert anonymous.get("/courses").headers.get("Cache-Control") != "no-store"  # public pages stay cacheable
    sign_in(client, learner)
    for path in ["/courses", f"/courses/{paid_course.slug}", "/dashboard", "/account", "/api/payments/enrollments",
                 "/no-such-page"]:
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    _, plaintext = api_tokens.create(learner, "script")
    db.session.commit()
    for path in ["/api/payments/enrollments", "/api/payments/coupons/active"]:
        response = anonymous.get(path, headers={"Authorization": f"Bearer {plaintext}"})
        assert response.headers["Cache-Control"] == "no-store", path
    refused = anonymous.get("/api/payments/enrollments", headers={"Authorization": "Bearer lp_wrong"})
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"


def test_every_cookie_is_http_only_and_same_site(client, learner):
    from tests.helpers import DEFAULT_PASSWORD, csrf_token

    response = client.post("/login", data={"email": learner.email, "password": DEFAULT_PASSWORD, "remember": "y",
                                           "csrf_token": csrf_token(client, "/login")})
    cookies = _cookies(response)
    assert set(cookies) == {"session", "remember_token"}
    for name, header in cookies.items():
        assert "HttpOnly" in header and "SameSite=Lax" in header, header
        assert "Secure" not in header  # development is plain http
    assert response.headers["Cache-Control"] == "no-store"


def test_production_cookies_are_secure(monkeypatch):
    from config import Config

    monkeypatch.setenv("APP_ENV", "production")
    config = Config()
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.REMEMBER_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == config.REMEMBER_COOKIE_SAMESITE == "Lax"


def test_secure_cookies_are_sent_with_the_flag(app, learner):
    from tests.helpers import DEFAULT_PASSWORD, csrf_token

    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.post("https://localhost/login",
                           data={"email": learner.email, "password": DEFAULT_PASSWORD, "remember": "y",
                                 "csrf_token": csrf_token(client, "https://localhost/login")},
                           headers={"Referer": "https://localhost/login"})  # Flask-WTF's check over https
    assert response.status_code == 302
    cookies = _cookies(response)
    assert set(cookies) == {"session", "remember_token"}
    assert all("Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header for header in cookies.values())
