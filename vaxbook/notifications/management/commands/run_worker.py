"""The background worker: django-tasks-db's `db_worker`, which waits for the database.

`db_worker` stops at the first database error it does not expect: a PostgreSQL restart or
failover, a dropped connection, SQLite locked past its busy timeout, whether it meets it
looking for a task or recording one. Its queue lives in the database, so nothing is lost,
but nothing is sent either until someone starts it again. This worker logs the outage,
waits WAIT_FOR_DATABASE_S after each failed attempt and goes on, as the web answers 503 and
goes on. Any other error still stops it, and so does a stop request (Ctrl+C, SIGTERM).

A worker that runs on (not --batch) also makes sure the retention rules are scheduled
(vaxbook.accounts.tasks.schedule_retention): they run every hour from then on.
"""

import logging
import time
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, connections
from django_tasks_db.management.commands import db_worker

from vaxbook.accounts.tasks import schedule_retention
from vaxbook.core import database

logger = logging.getLogger(__name__)

WAIT_FOR_DATABASE_S = 5.0


class Command(db_worker.Command):
    help = (
        "Run the background worker (django-tasks-db's db_worker) that waits for the database "
        "when it is out of reach instead of stopping. It never reloads: --reload is refused."
    )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        if reload:
            # The reloader runs the worker in a thread whose errors never reach this loop.
            raise CommandError("run_worker does not reload: run db_worker --reload to develop.")
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        # One worker for the whole run: a stop request and --max-tasks outlive an outage.
        worker = db_worker.Worker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        while worker.running:
            try:
                if not batch:
                    schedule_retention()
                worker.run()
                return
            except DatabaseError as error:
                if not database.is_unavailable(error):
                    raise
                if not worker.running:  # asked to stop during the task that met the outage
                    return
                logger.warning(
                    "Database unavailable (%s): the worker tries again in %g s.",
                    error,
                    WAIT_FOR_DATABASE_S,
                )
                forget_connections()
                wait_for_database()


def forget_connections() -> None:
    """Close this process's connections, and drop the dead ones a pool keeps: after a
    restart every idle pooled connection is dead, and would fail the next attempt."""
    for connection in connections.all(initialized_only=True):
        connection.close()
        pool = getattr(connection, "pool", None)  # PostgreSQL's, when configured
        if pool is not None:
            pool.check()


def wait_for_database() -> None:
    # A stop request here ends the worker: db_worker's signal handler exits.
    time.sleep(WAIT_FOR_DATABASE_S)
