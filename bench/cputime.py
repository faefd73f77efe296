"""CPU time of the processes a benchmark drives: load-independent figures beside wrk's rates.

On a machine shared with other work, requests per second follow the machine's load as much as
the code. The CPU time a request costs does not (much): it is what the server's processes, the
PostgreSQL backends serving them and the Stripe stand-in actually ran for it, read from
/proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat counts 10 ms ticks, longer than a
whole fortunes request). PostgreSQL runs on this machine (the test server), so its backends'
/proc entries are readable.
"""
from __future__ import annotations

from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """CPU time one process has run so far, summed over its live threads."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass  # a thread that just ended
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total / 1e9


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (a gunicorn master and its workers)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return pids


def tree_snapshot(pid: int) -> dict[int, float]:
    return {p: cpu_seconds(p) for p in process_tree(pid)}


class Backends:
    """The PostgreSQL backends connected to one database (pg_stat_activity), but our own."""

    def __init__(self, url: str, database: str) -> None:
        import psycopg

        self.database = database
        self.admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        self.own = self.admin.info.backend_pid

    def snapshot(self) -> dict[int, float]:
        rows = self.admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                                  (self.database, self.own)).fetchall()
        return {pid: cpu_seconds(pid) for (pid,) in rows}

    def close(self) -> None:
        self.admin.close()


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process that appeared meanwhile counts from zero
    (one that ended meanwhile is lost: gunicorn workers here are not recycled)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())
