"""Reading vaxbook's settings from the environment.

Every variable is documented in `.env.example`. The functions here are pure so that the
rules (defaults, what a production start refuses) are tested without reloading settings.
"""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# How long an SQLite writer waits for the lock before giving up, in seconds. Bookings are
# short transactions, so a long queue drains well inside this.
SQLITE_BUSY_TIMEOUT_S = 20
# Seconds a request waits for Redis before going on without it.
REDIS_TIMEOUT_S = 0.5
# Seconds a request waits for a PostgreSQL connection from its process's pool, and for a new
# connection to be made. The web server runs no more threads than the pool holds connections
# (deploy/web), so a request waits only when the database is slow or gone: it then answers
# 503 within the second instead of hanging (vaxbook.core.database.breaker).
DATABASE_POOL_TIMEOUT_S = 0.5
DATABASE_CONNECT_TIMEOUT_S = 2  # libpq's least: it reads 1 as 2
# Seconds a request waits for the read replica's connection before reading from the primary.
REPLICA_CONNECT_TIMEOUT_S = 1
# How far behind the primary the replica may be and still serve reads, by default.
REPLICA_MAX_LAG_DEFAULT_S = 5.0
# Runs of one statement on a PostgreSQL connection after which psycopg prepares it.
PREPARE_THRESHOLD = 5


def env_bool(name: str, *, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(*, debug: bool, var_dir: Path) -> str:
    """SECRET_KEY from the environment; development makes one and keeps it under var/."""
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if not debug:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. A production start needs a long random SECRET_KEY in the "
            "environment (see .env.example); set DEBUG=true for a development start, which "
            "generates one under var/."
        )
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def database(url: str | None, *, var_dir: Path) -> dict[str, Any]:
    """Django's DATABASES["default"] for DATABASE_URL (an SQLite file under var/ by default)."""
    if not url:
        var_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{var_dir / 'vaxbook.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN: two bookings never both read, then
            # both fail to upgrade to a write lock (SQLITE_BUSY without waiting).
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_BUSY_TIMEOUT_S,
            # WAL lets readers go on while one writer commits; synchronous=FULL keeps every
            # committed booking across a power cut.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
            ),
        }
        # Opening an SQLite connection (with its PRAGMAs) costs more than a small query:
        # keep it for the life of the thread, checked before reuse.
        config["CONN_MAX_AGE"] = None
        config["CONN_HEALTH_CHECKS"] = True
        # Tests that race threads need a real file: the in-memory test database's shared
        # cache uses table locks that ignore the busy timeout. One file per test process,
        # so that two test runs on one machine do not share a database.
        config["TEST"] = {"NAME": str(var_dir / f"test-{os.getpid()}.sqlite3")}
    elif engine == "django.db.backends.postgresql":
        # Django's backend with a circuit breaker: vaxbook/core/postgresql/base.py.
        config["ENGINE"] = "vaxbook.core.postgresql"
        # psycopg 3's pool: a few connections per worker process, reused between requests.
        # The pool size bounds the connections each process opens, so many workers
        # never exhaust PostgreSQL's max_connections.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "pool": {
                "min_size": int(os.environ.get("DATABASE_POOL_MIN", "1")),
                "max_size": int(os.environ.get("DATABASE_POOL_MAX", "8")),
                "timeout": DATABASE_POOL_TIMEOUT_S,
            },
            "connect_timeout": DATABASE_CONNECT_TIMEOUT_S,
        }
        # The server binds the parameters, and each statement a connection has run
        # PREPARE_THRESHOLD times is prepared once: PostgreSQL then skips parsing and
        # planning it, about half its CPU per booking (bench/http_storm.py). Set
        # DATABASE_PREPARED_STATEMENTS=off behind a pooler in transaction mode (PgBouncer
        # before 1.21), which cannot keep a prepared statement on one connection.
        if env_bool("DATABASE_PREPARED_STATEMENTS", default=True):
            config["OPTIONS"] |= {
                "server_side_binding": True,
                "prepare_threshold": PREPARE_THRESHOLD,
            }
        else:
            # Nor can such a pooler keep a cursor past its transaction: QuerySet.iterator()'s
            # server-side cursor (WITH HOLD in autocommit) would be fetched from on another
            # server connection, where its portal does not exist.
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be sqlite:///… or postgres://…, not {engine!r}."
        )
    return config


def replica_database(url: str | None, *, var_dir: Path) -> dict[str, Any] | None:
    """DATABASES["replica"] for DATABASE_REPLICA_URL (a hot standby of the primary), or None
    without one. A replica that does not answer must not hold requests up: they wait at
    most REPLICA_CONNECT_TIMEOUT_S for it, then go to the primary (vaxbook.core.db_router).
    In a test run it is the same test database as the primary (Django's MIRROR)."""
    if not url:
        return None
    config = database(url, var_dir=var_dir)
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["OPTIONS"]["connect_timeout"] = REPLICA_CONNECT_TIMEOUT_S
        config["OPTIONS"]["pool"] = {
            **config["OPTIONS"]["pool"],
            "timeout": REPLICA_CONNECT_TIMEOUT_S,
        }
    config["TEST"] = {"MIRROR": "default"}
    return config


def replica_max_lag_seconds() -> float:
    raw = os.environ.get("REPLICA_MAX_LAG_SECONDS", str(REPLICA_MAX_LAG_DEFAULT_S))
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ImproperlyConfigured(
            f"REPLICA_MAX_LAG_SECONDS must be a number of seconds above 0, not {raw!r}."
        )
    return seconds


def cache(redis_url: str | None) -> dict[str, Any]:
    """The shared Redis cache when REDIS_URL is set; per-process memory otherwise."""
    if redis_url:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "vaxbook",
            # A Redis that hangs must not hang the requests in front of it (the rate
            # limits): they give up after this and go on without it.
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_S,
                "socket_timeout": REDIS_TIMEOUT_S,
            },
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def load_shedding(environ: Mapping[str, str]) -> dict[str, Any]:
    """The budgets of vaxbook.core.overload, per worker process (docs/overload.md). The
    same variables size granian's blocking threads in deploy/web."""

    def number(name: str, default: str, *, least: float = 0, kind: type = int) -> Any:
        raw = environ.get(name, default)
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or value < least:
            raise ImproperlyConfigured(f"{name} must be a number of at least {least}, not {raw!r}.")
        return value

    return {
        "running": number("WEB_THREADS", "4", least=1),
        "waiting": number("WEB_QUEUE", "16"),
        "wait_seconds": number("WEB_QUEUE_SECONDS", "5", kind=float),
        "staff_running": number("WEB_STAFF_THREADS", "2", least=1),
        "line_running": number("WEB_LINE_THREADS", "2", least=1),
        "retry_after": number("WEB_RETRY_AFTER", "5", least=1),
    }
