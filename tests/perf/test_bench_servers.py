"""The bench's servers run with the bench's gunicorn settings, never production's (issue 22).

gunicorn reads ./gunicorn.conf.py unless given -c, and the bench scripts run from the
repository root: its max_requests recycled every worker every ~2,000 requests mid-benchmark
(the Stripe stand-in lost its Customers, cold app workers took whole rounds down)."""
import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_bench_gunicorn_settings_recycle_no_worker_and_log_no_access():
    spec = importlib.util.spec_from_file_location("bench_gunicorn_conf", BENCH / "gunicorn_conf.py")
    settings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(settings)
    assert settings.max_requests == 0 and settings.accesslog is None and settings.control_socket_disable


def test_every_bench_script_starting_gunicorn_passes_the_bench_settings():
    starting = [path for path in BENCH.glob("*.py") if '"-w"' in path.read_text()]
    assert starting  # the scripts that start servers say how many workers
    for path in starting:
        assert '"-c", GUNICORN_CONF' in path.read_text(), path.name
