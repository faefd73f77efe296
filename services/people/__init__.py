"""People: accounts, OIDC identity, API tokens, and user administration (`admin`)."""
