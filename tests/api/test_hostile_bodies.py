"""Bodies a hostile client can send get a 4xx with a code, never a 500 (both databases)."""
import json

import pytest

ENROLL = "/api/payments/enrollments"
ENDPOINTS = [ENROLL, "/api/payments/coupons/validate", "/api/payments/sessions"]


def _post(client, auth, path: str, raw: bytes):
    return client.post(path, data=raw, headers={**auth, "Content-Type": "application/json"})


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\u0000"])
def test_text_no_database_can_store_is_a_400_invalid_text(client, auth, path, text):
    raw = json.dumps({"courseId": text, "code": text, "couponCode": text}).encode()  # "\ud800" escaped, as clients send it
    response = _post(client, auth, path, raw)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "INVALID_TEXT"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_json_nested_three_thousand_deep_is_a_400_json_too_deep(client, auth, path):
    raw = b'{"courseId": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    response = _post(client, auth, path, raw)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "JSON_TOO_DEEP"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_one_megabyte_body_is_a_413_with_a_code(client, auth, path):
    raw = json.dumps({"courseId": "x" * (1024 * 1024)}).encode()
    response = _post(client, auth, path, raw)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_lone_surrogate_as_a_key_is_refused_too(client, auth):
    response = _post(client, auth, ENROLL, b'{"\\ud800": 1, "courseId": "git-basics"}')
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "INVALID_TEXT"
