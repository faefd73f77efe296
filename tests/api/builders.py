"""Builders for API tests: bearer headers for a user, sessions opened through the API."""
from __future__ import annotations

from extensions import db
from models import User
from services.people import api_tokens


def bearer(user: User, name: str = "tests") -> dict[str, str]:
    """`Authorization` headers with a fresh personal API token of `user`."""
    _, plaintext = api_tokens.create(user, name)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def start_session(client, headers: dict, course_key, **body):
    response = client.post("/api/payments/sessions", json={"courseId": course_key, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
