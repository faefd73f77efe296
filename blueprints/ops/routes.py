"""Routes of the ops blueprint (see docs/operations.md).

GET /healthz   the process answers (no I/O): 200 {"status": "ok"}
GET /readyz    database reachable, migrations at head, Redis (and the job queue) reachable
               when configured: 200 {"status": "ready", "checks": {...}} or 503 "unavailable"
GET /metrics   Prometheus text format, only from METRICS_ALLOWED_IPS or with the bearer
               METRICS_TOKEN; 403 otherwise

None of them is rate limited, touches the session or sets a cookie: probes come every few
seconds from the same addresses.
"""
import hmac
from ipaddress import ip_address, ip_network

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from extensions import limiter
from models import utcnow
from services import metrics, readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
@limiter.exempt
def readyz():
    ready, checks = readiness.report(migrations_dir=current_app.extensions["migrate"].directory,
                                     redis_url=current_app.config.get("REDIS_URL"),
                                     job_queue=current_app.extensions.get("huey"))
    return _no_store(jsonify(status="ready" if ready else "unavailable", checks=checks)), 200 if ready else 503


@bp.get("/metrics")
@limiter.exempt
def metrics_text():
    if not _may_read_metrics():
        return jsonify(success=False, error={"code": "FORBIDDEN", "message": "Metrics are not public."}), 403
    return _no_store(Response(metrics.exposition(utcnow()), mimetype=CONTENT_TYPE_LATEST))


def _may_read_metrics() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode()):
        return True
    # remote_addr is the socket's peer, or the client named by TRUSTED_PROXIES' hops (ProxyFix):
    # never a raw X-Forwarded-For that anybody can write.
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ip_network(allowed, strict=False) for allowed in current_app.config["METRICS_ALLOWED_IPS"])


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
