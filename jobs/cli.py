"""`flask jobs …`: run a worker (production: one or more, under systemd or a Procfile)."""
import logging

import click
from flask.cli import AppGroup

from jobs import huey

jobs_cli = AppGroup("jobs", help="The job queue: run a worker.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Threads running tasks (mail waits on SMTP, so more than one).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also enqueue the periodic jobs on their schedule.")
def worker(workers: int, periodic: bool) -> None:
    """Consume the queue until SIGTERM or Ctrl-C (either lets running tasks finish)."""
    if huey.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is set: there is no queue to consume.")
    logging.getLogger("huey").setLevel(logging.INFO)
    # Polls SQLite at most a second apart (Redis blocks on the queue instead), so a mail
    # queued on commit leaves within a second or so.
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic, max_delay=1.0,
                                    graceful_signal="TERM", check_worker_health=True)
    click.echo(f" * Job worker: {workers} thread(s), queue {type(huey.storage).__name__}"
               f"{', periodic jobs on' if periodic else ''}")
    consumer.run()
