"""Response headers every page gets: no framing, no MIME sniffing, a careful referrer policy,
and HSTS in production (where the app is served over TLS).

The Content-Security-Policy is deliberately narrow: it forbids framing (clickjacking on the
checkout and account pages), plugins and a changed <base>, and does not restrict scripts or
form targets, because htmx's `hx-on` attributes need script evaluation and the checkout form
redirects to Stripe's (or the sandbox's) own origin. A view that sets one of these headers
itself (the password reset page's `no-referrer`) keeps its own value.

Every response made for a signed-in user or an API credential says `Cache-Control: no-store`,
whatever the view set: a shared or browser cache must never keep one person's page (their
account, purchases, tokens) for the next one or for the back button after sign-out.
"""
from flask import Flask, Response, g, request

HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def register(app: Flask) -> None:
    production = app.config.get("APP_ENV") == "production"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if _authenticated():
            response.headers["Cache-Control"] = "no-store"
        return response


def _authenticated() -> bool:
    """The response was made for someone: a signed-in user (only if Flask-Login loaded one: no
    query here), an API caller (g.api_auth_method) or a request carrying a credential."""
    user = g.get("_login_user")
    return bool((user is not None and user.is_authenticated) or g.get("api_auth_method")
                or "Authorization" in request.headers)
