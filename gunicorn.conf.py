"""Production serving settings: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Read by gunicorn's master before it forks its workers (docs/operations.md). Every value can be
changed from the environment:

- HOST / PORT (default 0.0.0.0:8000: the load balancer reaches the instance on its address),
  or GUNICORN_BIND for anything else (a unix socket, several addresses);
- WEB_CONCURRENCY worker processes (default 2 per CPU + 1), GUNICORN_THREADS threads each
  (default 4, gthread workers), GUNICORN_TIMEOUT seconds before a stuck worker is replaced;
- PROMETHEUS_MULTIPROC_DIR, where the workers keep their metrics so /metrics adds them up
  (default: a folder of its own under the temporary directory). Give the job worker of the
  same machine the same folder and its job metrics are served by this instance's /metrics too.
"""
import multiprocessing
import os
import re
import tempfile

bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5  # above the load balancer's idle timeout would be wrong; most balancers keep 60 s to the client only
# A worker is replaced after this many requests (a slow leak never grows without bound).
max_requests = 2000
max_requests_jitter = 200
# gunicorn 27 opens a control socket under $HOME unless told not to (LIBRARY-NOTES.md).
control_socket_disable = True

accesslog = "-"
errorlog = "-"
# The request id is the one the app answered with (X-Request-ID): the same as in its own lines.
access_log_format = ('%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s')

# Metrics from every worker (prometheus_client's multiprocess mode). Set before the workers
# import the app, which reads it when prometheus_client is first imported.
metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                    os.path.join(tempfile.gettempdir(), f"learnpay-metrics-{os.getpid()}"))


def on_starting(server):
    # Files of processes gone (a previous run) would add their counts to this one's; those of
    # live ones (a job worker sharing the folder) stay.
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        match = re.search(r"_(\d+)\.db$", name)
        if match and not _alive(int(match.group(1))):
            os.remove(os.path.join(metrics_dir, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: leave its file alone
    return True


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)
