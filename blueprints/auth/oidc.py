"""The Authlib client for "Sign in with …": one registration per configured provider.

Authlib caches clients by name for the life of the process, so the name is derived from the
issuer and client id: an app reconfigured for another provider (or each test's own provider)
gets its own client instead of a stale one.
"""
import hashlib

from flask import current_app

from extensions import oauth


def is_configured() -> bool:
    config = current_app.config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


def client():
    config = current_app.config
    issuer = config["OIDC_ISSUER"].rstrip("/")
    digest = hashlib.sha256(f"{issuer}|{config['OIDC_CLIENT_ID']}".encode()).hexdigest()[:12]
    name = f"oidc_{digest}"
    existing = oauth.create_client(name)
    if existing is not None:
        return existing
    return oauth.register(
        name,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config.get("OIDC_CLIENT_SECRET") or None,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
