"""The `Idempotency-Key` header on unsafe API operations (rules in services/idempotency.py).

`@idempotent` goes under `@login_required` (keys belong to the caller). Without the header
the view simply runs. With it, the key is claimed and committed before the view runs, so
every instance sees it; the view's response (a success or a 4xx refusal alike) is kept and
replayed with `Idempotent-Replayed: true`.
"""
from __future__ import annotations

import functools

from flask import current_app, jsonify, request

from extensions import db
from models import utcnow
from services import idempotency

HEADER = "Idempotency-Key"


def idempotent(view):
    @functools.wraps(view)
    def wrapper(user, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(user, *args, **kwargs)
        claim = idempotency.claim(user, key, idempotency.fingerprint(request.method, request.path,
                                                                     request.get_data()), utcnow())
        db.session.commit()
        if claim.replay is not None:
            status, body = claim.replay
            response = jsonify(body)
            response.status_code = status
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = current_app.make_response(view(user, *args, **kwargs))
        except Exception as error:  # noqa: BLE001 - answered by the app's handlers below, or released
            db.session.rollback()  # what the view left uncommitted is not part of its answer
            try:
                response = current_app.make_response(current_app.handle_user_exception(error))
            except Exception:
                idempotency.release(claim)
                db.session.commit()
                raise
        idempotency.record(claim, response.status_code, response.get_json(silent=True))
        db.session.commit()
        return response
    return wrapper
