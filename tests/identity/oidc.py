"""A real OpenID provider on loopback (oidc-provider-mock) and helpers to get tokens from it.

Tokens are obtained the way a client would: the authorization endpoint (the mock's consent
form, posted with the subject) gives a code, the token endpoint exchanges it for an ID token.
"""
from __future__ import annotations

import os
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

import oidc_provider_mock
from services.people import identity

CLIENT_ID = "learnpay-test-client"
CLIENT_SECRET = "learnpay-test-secret"
CALLBACK = "http://localhost/callback"

USERS = [
    oidc_provider_mock.User(sub="alice-sub", claims={"email": "alice@example.com", "email_verified": True,
                                                     "name": "Alice Oidc", "learnpay_roles": ["staff"]}),
    oidc_provider_mock.User(sub="bob-sub", claims={"email": "bob@example.com", "name": "Bob Oidc"}),
    oidc_provider_mock.User(sub="nomail-sub", claims={"name": "No Mail"}),
]


class Provider:
    def __init__(self, server) -> None:
        self.issuer = f"http://localhost:{server.server_port}"

    def id_token(self, sub: str = "alice-sub", client_id: str = CLIENT_ID, nonce: str = "n-0") -> str:
        """An ID token for `sub`, through the real authorization-code flow."""
        query = {"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
                 "scope": "openid email profile", "state": "s-0", "nonce": nonce}
        answer = requests.post(f"{self.issuer}/oauth2/authorize", params=query, data={"sub": sub},
                               allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
        token = requests.post(f"{self.issuer}/oauth2/token", timeout=5, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": client_id, "client_secret": CLIENT_SECRET})
        assert token.status_code == 200, token.text
        return token.json()["id_token"]

    def foreign_token(self, *, kid: str = "rogue-key", **claims) -> str:
        """A well-formed token for this issuer signed with a key the provider never published."""
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "mallory", "email": "mallory@example.com",
                   "iat": now, "exp": now + 600, **claims}
        return jwt.encode({"alg": "RS256", "kid": kid}, payload, RSAKey.generate_key(2048))

    def config(self, **extra) -> dict:
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "OIDC_AUDIENCE": CLIENT_ID, "OIDC_PROVIDER_NAME": "Test IdP", **extra}


@pytest.fixture(scope="session")
def oidc_provider():
    # The mock (an Authlib server) and our Authlib client refuse plain http unless told otherwise.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    with oidc_provider_mock.run_server_in_thread(port=0, user_claims=USERS) as server:
        yield Provider(server)


@pytest.fixture(scope="session")
def expired_oidc_provider():
    """A second provider whose tokens are already expired when issued (beyond the clock leeway)."""
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    with oidc_provider_mock.run_server_in_thread(port=0, user_claims=USERS,
                                                 access_token_max_age=timedelta(minutes=-5)) as server:
        yield Provider(server)


@pytest.fixture(autouse=True)
def _fresh_identity_cache():
    identity.clear_cache()
    yield
    identity.clear_cache()
