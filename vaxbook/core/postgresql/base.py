"""Django's PostgreSQL backend with a circuit breaker on new connections
(vaxbook.core.database.breaker): once the database is known to be down, a request needing
it fails at once and is answered 503, instead of each waiting for the pool's timeout."""

from typing import Any

import psycopg
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        # Imported here: a database backend is loaded before the apps are ready.
        from vaxbook.core.database import POSTGRES_UNAVAILABLE, breaker

        if not breaker.allow():
            # No SQLSTATE: vaxbook.core.database.is_unavailable counts it as out of reach.
            raise psycopg.OperationalError(
                "the database is known to be out of reach; not waiting for it"
            )
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError as error:
            # Refused, timed out, or no connection came free in the pool in time
            # (psycopg_pool.PoolTimeout is an OperationalError, without a SQLSTATE). A
            # refused password is a configuration error, not an outage.
            if error.sqlstate is None or error.sqlstate.startswith(POSTGRES_UNAVAILABLE):
                breaker.trip()
            raise
        breaker.reset()
        return connection
