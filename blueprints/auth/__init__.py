"""Sign-up, sign-in and sign-out with local accounts (OIDC sign-in joins here later)."""
