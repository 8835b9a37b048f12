"""The background worker: django-tasks-db's `db_worker`, which waits for the database.

`db_worker` stops at the first database error outside a task: a PostgreSQL restart or
failover, a dropped connection, SQLite locked past its busy timeout. Its queue lives in
the database, so nothing is lost, but nothing is sent either until someone starts it
again. This worker logs the outage, waits WAIT_FOR_DATABASE_S and goes on, as the web
answers 503 and goes on. Any other error still stops it.
"""

import logging
import time
from argparse import ArgumentParser
from typing import Any

from django.db import DatabaseError, connections
from django_tasks_db.management.commands import db_worker

from vaxbook.core import database

logger = logging.getLogger(__name__)

WAIT_FOR_DATABASE_S = 5.0


class Command(db_worker.Command):
    help = (
        "Run the background worker (django-tasks-db's db_worker) that waits for the database "
        "when it is out of reach instead of stopping."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # The reloader runs the worker in a thread whose errors never reach handle().
        parser.set_defaults(reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            try:
                return super().handle(*args, **options)
            except DatabaseError as error:
                if not database.is_unavailable(error):
                    raise
                logger.warning(
                    "Database unavailable (%s): the worker tries again in %g s.",
                    error,
                    WAIT_FOR_DATABASE_S,
                )
                # A broken connection is not reused: the next attempt opens a new one.
                connections.close_all()
                # Ctrl+C or SIGTERM here stops the worker: db_worker's handler exits.
                time.sleep(WAIT_FOR_DATABASE_S)
