"""gunicorn.conf.py: several workers, one /metrics for all of them, the request id in the access log."""
import re

import requests

from tests.ops.servers import GunicornApp


def test_metrics_add_up_every_workers_requests(database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test-secret", "APP_ENV": "development",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "RATELIMIT_ENABLED": "0"}
    with GunicornApp(env, workers=2) as server:
        assert len(server.worker_pids()) == 2
        for number in range(24):  # a new connection each: the workers share them out
            response = requests.get(server.url + "/courses", headers={"Connection": "close",
                                                                      "X-Request-ID": f"gtest-{number}"})
            assert response.status_code == 200 and response.headers["X-Request-ID"] == f"gtest-{number}"
        writers = {path.name for path in (tmp_path / "metrics").glob("histogram_*.db")}
        # Whichever worker answers the scrape, it reports all 24 (usually both workers wrote some).
        scrapes = [requests.get(server.url + "/metrics", headers={"Connection": "close"}, timeout=10).text
                   for _ in range(4)]
        log = server.log()
    assert writers and all(name.startswith("histogram_") for name in writers)
    for text in scrapes:
        count = re.search(r'learnpay_http_request_duration_seconds_count\{endpoint="catalog.index",method="GET",'
                          r'status="200"\} (\S+)', text)
        assert count and float(count.group(1)) == 24.0, text[:2000]
    assert "request_id=gtest-7" in log
    assert 'GET /courses HTTP/1.1" 200' in log
