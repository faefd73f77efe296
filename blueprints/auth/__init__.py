"""Sign-up, sign-in (local accounts and OpenID Connect), sign-out and the account page."""
