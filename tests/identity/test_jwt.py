"""JWT verification against the provider's JWKS, and users made from claims."""
import time
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from extensions import db
from models import User, UserRole, utcnow
from services.people import identity
from services.errors import DomainError
from tests import factories
from tests.identity.oidc import CLIENT_ID


def verify(provider, token, **kwargs):
    return identity.verify_jwt(token, issuer=provider.issuer, audience=CLIENT_ID, **kwargs)


def test_a_real_id_token_verifies(app, oidc_provider):
    claims = verify(oidc_provider, oidc_provider.id_token("alice-sub"))
    assert claims["sub"] == "alice-sub" and claims["email"] == "alice@example.com"
    assert claims["iss"] == oidc_provider.issuer and CLIENT_ID in claims["aud"]


def test_expired_token_is_refused(app, oidc_provider, expired_oidc_provider):
    token = oidc_provider.id_token()
    with pytest.raises(identity.InvalidToken, match="expired"):
        verify(oidc_provider, token, now=utcnow() + timedelta(hours=2))
    already_expired = expired_oidc_provider.id_token()
    with pytest.raises(identity.InvalidToken, match="expired"):
        verify(expired_oidc_provider, already_expired)


def test_not_yet_valid_token_is_refused(app, oidc_provider):
    with pytest.raises(identity.InvalidToken):
        verify(oidc_provider, oidc_provider.id_token(), now=utcnow() - timedelta(hours=1))


def test_wrong_audience_is_refused(app, oidc_provider):
    token = oidc_provider.id_token(client_id="another-client")
    with pytest.raises(identity.InvalidToken, match="audience"):
        verify(oidc_provider, token)


def test_wrong_issuer_is_refused(app, oidc_provider, expired_oidc_provider):
    # Signed by a real provider, but not the one we trust.
    token = expired_oidc_provider.id_token()
    with pytest.raises(identity.InvalidToken):
        verify(oidc_provider, token)


def test_unknown_key_id_is_refused_after_one_refresh(app, oidc_provider, monkeypatch):
    fetched = []
    real_get_json = identity._get_json
    monkeypatch.setattr(identity, "_get_json", lambda url: fetched.append(url) or real_get_json(url))
    verify(oidc_provider, oidc_provider.id_token())  # primes the cache
    fetched.clear()
    identity._cache[oidc_provider.issuer].keys_at -= identity.JWKS_MIN_REFRESH_SECONDS + 1
    with pytest.raises(identity.InvalidToken, match="key"):
        verify(oidc_provider, oidc_provider.foreign_token())
    assert [url.endswith("/jwks") for url in fetched] == [True]  # refreshed exactly once
    fetched.clear()
    with pytest.raises(identity.InvalidToken):  # refreshes are throttled
        verify(oidc_provider, oidc_provider.foreign_token())
    assert fetched == []


def test_rotated_keys_are_fetched_again(app, oidc_provider):
    verify(oidc_provider, oidc_provider.id_token())
    entry = identity._cache[oidc_provider.issuer]
    # Pretend we cached the provider's keys before it rotated them.
    entry.key_set = KeySet([RSAKey.generate_key(2048, parameters={"kid": "old-key"})])
    entry.keys_at = time.monotonic() - identity.JWKS_MIN_REFRESH_SECONDS - 1
    assert verify(oidc_provider, oidc_provider.id_token())["sub"] == "alice-sub"


def test_symmetric_and_unsigned_tokens_are_refused(app, oidc_provider):
    now = int(time.time())
    claims = {"iss": oidc_provider.issuer, "aud": CLIENT_ID, "sub": "x", "exp": now + 60}
    hs = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key("a-shared-secret-of-sufficient-length"))
    for token in (hs, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "not-a-jwt", "eyJ.e.e"):
        with pytest.raises(identity.InvalidToken):
            verify(oidc_provider, token)


def test_user_is_created_then_updated_from_claims(app, oidc_provider):
    claims = {"sub": "alice-sub", "email": "Alice@Example.com", "name": "Alice", "learnpay_roles": ["staff"]}
    user = identity.user_from_claims(oidc_provider.issuer, claims, staff_claim="learnpay_roles=staff")
    db.session.commit()
    assert (user.email, user.name, user.role, user.password_hash) == ("alice@example.com", "Alice",
                                                                       UserRole.STAFF, None)
    again = identity.user_from_claims(oidc_provider.issuer, {**claims, "name": "Alice Renamed",
                                                             "email": "alice2@example.com", "learnpay_roles": []},
                                      staff_claim="learnpay_roles=staff")
    db.session.commit()
    assert again.id == user.id
    assert (again.name, again.email, again.role) == ("Alice Renamed", "alice2@example.com", UserRole.LEARNER)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_an_unverified_email_never_takes_over_an_account(app, oidc_provider, learner):
    with pytest.raises(DomainError) as caught:
        identity.user_from_claims(oidc_provider.issuer, {"sub": "s1", "email": learner.email})
    assert caught.value.code == "EMAIL_TAKEN"
    linked = identity.user_from_claims(oidc_provider.issuer,
                                       {"sub": "s1", "email": learner.email, "email_verified": True})
    assert linked.id == learner.id and linked.oidc_subject == "s1"


def test_admin_role_is_kept_and_disabled_users_are_refused(app, oidc_provider):
    admin = factories.user(email="root@example.com", role="ADMIN", oidc_issuer=oidc_provider.issuer,
                           oidc_subject="root")
    user = identity.user_from_claims(oidc_provider.issuer, {"sub": "root", "email": admin.email},
                                     staff_claim="learnpay_roles=staff")
    assert user.role == UserRole.ADMIN
    factories.user(email="off@example.com", is_disabled=True, oidc_issuer=oidc_provider.issuer, oidc_subject="off")
    with pytest.raises(DomainError) as caught:
        identity.user_from_claims(oidc_provider.issuer, {"sub": "off", "email": "off@example.com"})
    assert caught.value.status == 403


@pytest.mark.parametrize("setting, claims, expected", [
    ("is_staff", {"is_staff": True}, True),
    ("is_staff", {"is_staff": "true"}, True),
    ("is_staff", {"is_staff": False}, False),
    ("groups=staff", {"groups": ["a", "staff"]}, True),
    ("groups=staff", {"groups": ["a"]}, False),
    ("role=staff", {"role": "staff"}, True),
    ("role=staff", {}, False),
    ("", {"is_staff": True}, False),
])
def test_staff_claim_forms(setting, claims, expected):
    assert identity.has_staff_claim(claims, setting) is expected


def test_configured_issuer_with_a_trailing_slash_still_matches(app, oidc_provider):
    claims = identity.verify_jwt(oidc_provider.id_token(), issuer=oidc_provider.issuer + "/", audience=CLIENT_ID)
    assert claims["sub"] == "alice-sub"


def test_claims_with_control_characters_are_cleaned_or_refused(app, oidc_provider):
    user = identity.user_from_claims(oidc_provider.issuer, {"sub": "s-ctl", "email": "ctl@example.com",
                                                            "name": "Eve\u0000 Null\n"})
    db.session.commit()
    assert user.name == "Eve Null"
    with pytest.raises(identity.InvalidToken):
        identity.user_from_claims(oidc_provider.issuer, {"sub": "bad\u0000sub", "email": "x@example.com"})
