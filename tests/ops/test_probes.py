"""/healthz and /readyz: JSON, 200 or 503, never rate limited, no session cookie; request ids."""
import pytest
import sqlalchemy as sa

from app import create_app
from extensions import db
from tests.conftest import _base_config


def test_healthz_answers_without_io(client, monkeypatch):
    monkeypatch.setattr(db.engine, "connect", lambda *a, **k: pytest.fail("healthz touched the database"))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok",
                                                                  "redis": "skipped", "job_queue": "skipped"}}
    assert "Set-Cookie" not in response.headers


def _app(**overrides):
    return create_app({**_base_config("sqlite://"), **overrides})


def test_readyz_is_503_when_the_database_is_down():
    app = _app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unreachable" and body["checks"]["migrations"] == "unknown"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no host, user or error text


def test_readyz_is_503_before_the_migrations_ran(tmp_path):
    app = _app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/empty.db")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "not migrated", "redis": "skipped",
                                             "job_queue": "skipped"}


def test_readyz_is_503_when_the_schema_is_behind(app, client):
    with db.engine.begin() as conn:
        [current] = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'older'"))
    try:
        response = client.get("/readyz")
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert response.status_code == 503 and response.get_json()["checks"]["migrations"] == "not at head"


def test_readyz_checks_redis_when_configured(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["redis"] == "unreachable"


def test_readyz_with_a_reachable_redis(app, client):
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"]["redis"] == "ok"


def test_readyz_checks_the_job_queue(database_url, tmp_path):
    app = _app(SQLALCHEMY_DATABASE_URI=database_url, JOBS_IMMEDIATE=False, JOBS_SQLITE_PATH=str(tmp_path / "q.db"))
    with app.app_context():
        response = app.test_client().get("/readyz")
        db.engine.dispose()
    assert response.status_code == 200 and response.get_json()["checks"]["job_queue"] == "ok"


def test_readyz_is_503_when_the_job_queue_is_unreachable(database_url):
    app = _app(SQLALCHEMY_DATABASE_URI=database_url, JOBS_IMMEDIATE=False, REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        response = app.test_client().get("/readyz")
        db.engine.dispose()
    checks = response.get_json()["checks"]
    assert response.status_code == 503 and checks["job_queue"] == "unreachable" and checks["redis"] == "unreachable"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_never_rate_limited(database_url, path, monkeypatch):
    from extensions import limiter

    # A default limit sticks to the shared Limiter object: put the empty one back afterwards.
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    app = _app(SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2/minute")
    client = app.test_client()
    with app.app_context():
        assert [client.get(path).status_code for _ in range(5)] == [200] * 5
        assert client.get("/courses").status_code == 200
        assert [client.get("/courses").status_code for _ in range(2)][-1] == 429  # the default limit is live
        limiter.reset()
        db.engine.dispose()


# --- request ids ------------------------------------------------------------------------

def test_a_request_id_is_added_to_every_response(client):
    first, second = client.get("/courses"), client.get("/courses")
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_a_valid_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42.abc_DEF"})
    assert response.headers["X-Request-ID"] == "lb-7f3a:42.abc_DEF"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 129, "semi;colon", "<script>", "é"])
def test_an_invalid_incoming_request_id_is_replaced(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert response.headers["X-Request-ID"] != bad and len(response.headers["X-Request-ID"]) == 32


def test_error_responses_carry_the_request_id_too(client):
    assert client.get("/no-such-page", headers={"X-Request-ID": "abc"}).headers["X-Request-ID"] == "abc"
    assert client.get("/courses?q=%00", headers={"X-Request-ID": "nul"}).headers["X-Request-ID"] == "nul"
