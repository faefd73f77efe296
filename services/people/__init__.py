"""People: who someone is and what they may do.

Owns accounts (sign-up, passwords, reset tokens: `accounts`), OIDC sign-in and JWTs
(`identity`), personal API tokens (`api_tokens`) and user administration, roles included
(`admin`). Imports no other domain.
"""
