"""Backups of the database, consistent while the service runs, and their restore.

- PostgreSQL: pg_dump's custom format. Our own connection opens a REPEATABLE READ
  transaction, exports its snapshot and counts the rows in it; pg_dump dumps that same
  snapshot (`--snapshot`). So the backup is every row as of one instant, bookings going on
  meanwhile, and the counts printed are the backup's own.
- SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) copies every page in one
  step, under one read transaction: a snapshot of one instant that a writer cannot tear.
  The copy is then made a single self-contained file (rollback journal, not WAL).

A backup is written under a temporary name and renamed when complete, so a backup under
its final name is never half-written; it is readable by its owner only (it holds every
person's data). Next to it, a manifest (`<file>.json`) keeps its SHA-256, its size and the
rows counted.

A restore checks the file before touching the database: that it is the kind of backup the
database takes, that it matches its manifest, and that it reads to the end (pg_restore
reads the whole archive; SQLite checks its integrity). It refuses a database that already
has tables unless forced, and writes all or nothing: pg_restore in one transaction, SQLite
through the backup API (one write transaction).
"""

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404 (pg_dump and pg_restore, found by path, never a shell)
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
from django.conf import settings
from django.db import connections

from vaxbook.accounts.models import Citizen
from vaxbook.audit.models import AuditEvent
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot
from vaxbook.notifications.models import Message

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
SUFFIXES = {POSTGRESQL: ".pgdump", SQLITE: ".sqlite3"}
# The first bytes of each kind of backup file.
MAGIC = {POSTGRESQL: b"PGDMP", SQLITE: b"SQLite format 3\x00"}
KIND_NAMES = {
    POSTGRESQL: "PostgreSQL (a pg_dump custom-format archive)",
    SQLITE: "SQLite (a database file)",
}
MANIFEST_FORMAT = "vaxbook-backup/1"
# A restore is a vaxbook database only with Django's record of its migrations.
MIGRATIONS_TABLE = "django_migrations"
SQLITE_BUSY_TIMEOUT_S = 20
# pg_dump and pg_restore end with an error message; a dump of a large database takes long.
PG_TOOL_TIMEOUT_S = 6 * 3600


class BackupError(Exception):
    """A backup or a restore that cannot go on. The message says why and what to do; the
    database is as it was."""


@dataclass(frozen=True)
class Manifest:
    kind: str
    sha256: str
    size: int
    created_at: str
    database: str
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"format": MANIFEST_FORMAT, **self.__dict__}, indent=2) + "\n"


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest_path: Path
    manifest: Manifest


@dataclass(frozen=True)
class Restore:
    path: Path
    kind: str
    database: str
    # The tables the database had before: replaced (forced), or none.
    tables_before: int
    # The manifest's counts, or None without a manifest.
    counts_backed_up: dict[str, int] | None
    counts: dict[str, int]


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


# What a restore drill compares: what people booked, the slots' counters, the outbox. Each
# label with its table and the statement that counts it.
def _counted() -> dict[str, tuple[str, str]]:
    def count(table: str) -> tuple[str, str]:
        return table, f'SELECT COUNT(*) FROM "{table}"'  # noqa: S608 (our models' tables)

    slots = Slot._meta.db_table
    return {
        "people": count(Citizen._meta.db_table),
        "appointments": count(Appointment._meta.db_table),
        "slots": count(slots),
        "places booked": (slots, f'SELECT COALESCE(SUM("booked"), 0) FROM "{slots}"'),  # noqa: S608
        "messages": count(Message._meta.db_table),
        "audit events": count(AuditEvent._meta.db_table),
    }


def count_rows(cursor: Cursor, tables: set[str]) -> dict[str, int]:
    """The counts a drill compares, of the tables that exist (an older backup may lack one)."""
    counts = {}
    for label, (table, query) in _counted().items():
        if table in tables:
            cursor.execute(query)
            counts[label] = int(cursor.fetchone()[0])
    return counts


def describe_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{number} {label}" for label, number in counts.items()) or "no vaxbook rows"


# --- the configured database ----------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """One of settings.DATABASES, as the backup and restore tools reach it."""

    kind: str
    settings: Mapping[str, Any]

    @classmethod
    def configured(cls, alias: str = "default") -> "Database":
        if alias not in settings.DATABASES:
            raise BackupError(f"No database {alias!r} in the settings.")
        database = connections[alias].settings_dict
        vendor = connections[alias].vendor
        if vendor not in (POSTGRESQL, SQLITE):
            raise BackupError(f"Backups cover PostgreSQL and SQLite, not {vendor}.")
        return cls(kind=vendor, settings=database)

    @property
    def path(self) -> Path:
        return Path(self.settings["NAME"])

    def describe(self) -> str:
        if self.kind == SQLITE:
            return f"SQLite database {self.path}"
        host = self.settings.get("HOST") or "the local socket"
        port = self.settings.get("PORT") or 5432
        return f"PostgreSQL database {self.settings['NAME']} on {host}:{port}"

    def connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(**self._libpq(), autocommit=True)
        except psycopg.Error as error:
            raise BackupError(f"Cannot connect to the {self.describe()}: {error}") from error

    def _libpq(self) -> dict[str, Any]:
        """The connection parameters for libpq (psycopg, pg_dump, pg_restore)."""
        options = self.settings.get("OPTIONS", {})
        params = {
            "dbname": self.settings["NAME"],
            "user": self.settings.get("USER"),
            "password": self.settings.get("PASSWORD"),
            "host": self.settings.get("HOST"),
            "port": self.settings.get("PORT"),
            **{key: options[key] for key in LIBPQ_OPTIONS if key in options},
        }
        return {key: str(value) for key, value in params.items() if value not in (None, "")}

    @contextlib.contextmanager
    def tool_environment(self) -> Iterator[dict[str, str]]:
        """The environment for pg_dump and pg_restore: the connection in PG* variables, the
        password in a password file readable by us only (never on a command line, which
        every user of the machine can read)."""
        params = self._libpq()
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        environment |= {LIBPQ_ENVIRONMENT[key]: params[key] for key in params if key != "password"}
        with tempfile.TemporaryDirectory(prefix="vaxbook-pgpass-") as directory:
            if "password" in params:
                passfile = Path(directory) / "pgpass"
                fields = [params.get(key, "*") for key in ("host", "port", "dbname", "user")]
                fields.append(params["password"])
                passfile.write_text(":".join(_pgpass_escape(value) for value in fields) + "\n")
                passfile.chmod(0o600)
                environment["PGPASSFILE"] = str(passfile)
            yield environment


LIBPQ_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout")
LIBPQ_ENVIRONMENT = {
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


def _pgpass_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


# --- backup ---------------------------------------------------------------------------------


def default_path(database: Database, *, now: dt.datetime, directory: Path | None = None) -> Path:
    directory = directory or Path(settings.BACKUP_DIR)
    return directory / f"vaxbook-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}{SUFFIXES[database.kind]}"


def back_up(
    *, database: Database, path: Path, now: dt.datetime, pg_bindir: Path | None = None
) -> Backup:
    """Write a consistent backup of `database` to `path` (which must not exist yet), and
    its manifest next to it."""
    manifest_path = manifest_path_of(path)
    for existing in (path, manifest_path):
        if existing.exists():
            raise BackupError(f"{existing} already exists: a backup never overwrites a file.")
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial.unlink(missing_ok=True)
        # Readable by its owner only from the first byte: it will hold every person's data.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as error:
        reason = "a file is in the way" if path.parent.is_file() else error.strerror
        raise BackupError(f"Cannot write a backup in {path.parent}: {reason}.") from None
    try:
        if database.kind == POSTGRESQL:
            counts = _pg_dump(database, partial, pg_bindir=pg_bindir)
        else:
            counts = _sqlite_backup(database, partial)
        manifest = Manifest(
            kind=database.kind,
            sha256=sha256_of(partial),
            size=partial.stat().st_size,
            created_at=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
            database=database.describe(),
            counts=counts,
        )
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    manifest_path.write_text(manifest.as_json())
    manifest_path.chmod(0o600)
    return Backup(path=path, manifest_path=manifest_path, manifest=manifest)


def _pg_dump(database: Database, destination: Path, *, pg_bindir: Path | None) -> dict[str, int]:
    with database.connect() as snapshot_holder:
        server_major = snapshot_holder.info.server_version // 10000
        pg_dump = pg_tool("pg_dump", server_major=server_major, bindir=pg_bindir)
        # The snapshot stays valid while this transaction is open: until pg_dump is done.
        snapshot_holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        (snapshot,) = snapshot_holder.execute("SELECT pg_export_snapshot()").fetchall()[0]
        cursor = snapshot_holder.cursor()
        counts = count_rows(cursor, _pg_tables(cursor))
        with database.tool_environment() as environment:
            _run(
                [
                    str(pg_dump),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-password",
                    f"--file={destination}",
                ],
                environment=environment,
                failing=f"pg_dump of the {database.describe()}",
            )
        snapshot_holder.execute("COMMIT")
    return counts


def _sqlite_backup(database: Database, destination: Path) -> dict[str, int]:
    if not database.path.is_file():
        raise BackupError(f"There is no {database.describe()} to back up.")
    source = sqlite3.connect(database.path, timeout=SQLITE_BUSY_TIMEOUT_S)
    copy = sqlite3.connect(destination)
    try:
        # pages=-1: every page in one step, under one read transaction: one instant.
        source.backup(copy, pages=-1)
        # One self-contained file: no -wal file to forget when copying it elsewhere.
        copy.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite_integrity(copy, destination)
        return count_rows(copy.cursor(), _sqlite_tables(copy))
    except sqlite3.Error as error:
        raise BackupError(f"Backing up the {database.describe()} failed: {error}") from error
    finally:
        copy.close()
        source.close()


# --- restore --------------------------------------------------------------------------------


def restore(
    *, path: Path, database: Database, force: bool = False, pg_bindir: Path | None = None
) -> Restore:
    """Check the backup at `path`, then restore it into `database`. Raises BackupError,
    with the database untouched, if the file is missing, damaged, of the other kind, or the
    database already has tables and `force` is not given."""
    kind = check_file(path)
    if kind != database.kind:
        raise BackupError(
            f"{path} is a backup of {KIND_NAMES[kind]}, but the database is {database.describe()}."
        )
    manifest = read_manifest(path)
    if manifest is not None:
        _check_against_manifest(path, manifest)
    if database.kind == POSTGRESQL:
        return _pg_restore(path, database, force=force, pg_bindir=pg_bindir, manifest=manifest)
    return _sqlite_restore(path, database, force=force, manifest=manifest)


def check_file(path: Path) -> str:
    """The kind of backup at `path` (POSTGRESQL or SQLITE), from its first bytes."""
    try:
        with path.open("rb") as file:
            start = file.read(len(MAGIC[SQLITE]))
    except FileNotFoundError:
        raise BackupError(f"There is no backup at {path}.") from None
    except IsADirectoryError:
        raise BackupError(f"{path} is a directory, not a backup file.") from None
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}.") from None
    for kind, magic in MAGIC.items():
        if start.startswith(magic):
            return kind
    raise BackupError(
        f"{path} is not a vaxbook backup: neither a pg_dump custom-format archive nor an"
        " SQLite database (damaged, or another file)."
    )


def manifest_path_of(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_manifest(path: Path) -> Manifest | None:
    manifest_path = manifest_path_of(path)
    if not manifest_path.exists():
        return None
    try:
        fields = json.loads(manifest_path.read_text())
        if fields.pop("format", None) != MANIFEST_FORMAT:
            raise ValueError("an unknown format")
        return Manifest(**fields)
    except (ValueError, TypeError, OSError) as error:
        raise BackupError(f"The manifest {manifest_path} cannot be read: {error}.") from error


def _check_against_manifest(path: Path, manifest: Manifest) -> None:
    size = path.stat().st_size
    if size != manifest.size:
        difference = f"{size:,} bytes where its manifest says {manifest.size:,}"
    elif sha256_of(path) != manifest.sha256:
        difference = "its SHA-256 differs from its manifest's"
    else:
        return
    raise BackupError(
        f"{path} is not the file that was backed up ({difference}): it is damaged or"
        " truncated. Restore another backup."
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_restore(
    path: Path,
    database: Database,
    *,
    force: bool,
    pg_bindir: Path | None,
    manifest: Manifest | None,
) -> Restore:
    with database.connect() as target:
        server_major = target.info.server_version // 10000
        tables_before = _pg_tables(target.cursor())
    pg_restore = pg_tool("pg_restore", server_major=server_major, bindir=pg_bindir)
    with database.tool_environment() as environment:
        listing = _run(
            [str(pg_restore), "--list", str(path)],
            environment=environment,
            failing=f"Reading {path}",
        )
        if f" TABLE public {MIGRATIONS_TABLE} " not in listing:
            raise BackupError(f"{path} is a PostgreSQL archive, but not of a vaxbook database.")
        # Reads every block of the archive (the SQL goes nowhere): a truncated or damaged
        # file is found here, before the database is touched.
        _run(
            [str(pg_restore), f"--file={os.devnull}", str(path)],
            environment=environment,
            failing=f"Reading {path}",
        )
        _refuse_unless_forced(database, tables_before, force=force)
        # One transaction: the database gets all of the backup or none of it. The objects
        # belong to the role that restores (the app's role, from DATABASE_URL), whatever
        # role owned them where the backup was taken.
        command = [
            str(pg_restore),
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            f"--dbname={database.settings['NAME']}",
        ]
        if tables_before:
            command += ["--clean", "--if-exists"]
        _run(
            [*command, str(path)],
            environment=environment,
            failing=f"Restoring into the {database.describe()} (nothing was written)",
        )
    with database.connect() as target:
        cursor = target.cursor()
        counts = count_rows(cursor, _pg_tables(cursor))
    return Restore(
        path=path,
        kind=POSTGRESQL,
        database=database.describe(),
        tables_before=len(tables_before),
        counts_backed_up=manifest.counts if manifest else None,
        counts=counts,
    )


def _sqlite_restore(
    path: Path, database: Database, *, force: bool, manifest: Manifest | None
) -> Restore:
    try:
        backup = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"Cannot open {path}: {error}.") from error
    try:
        _check_sqlite_integrity(backup, path)
        if MIGRATIONS_TABLE not in _sqlite_tables(backup):
            raise BackupError(f"{path} is an SQLite database, but not of a vaxbook database.")
        database.path.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database.path, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            tables_before = _sqlite_tables(target)
            _refuse_unless_forced(database, tables_before, force=force)
            # The backup API writes every page in one write transaction of the target, under
            # SQLite's locks: all or nothing, and safe next to another connection.
            backup.backup(target, pages=-1)
            counts = count_rows(target.cursor(), _sqlite_tables(target))
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupError(
            f"Restoring into the {database.describe()} failed (nothing was written): {error}"
        ) from error
    finally:
        backup.close()
    return Restore(
        path=path,
        kind=SQLITE,
        database=database.describe(),
        tables_before=len(tables_before),
        counts_backed_up=manifest.counts if manifest else None,
        counts=counts,
    )


def _refuse_unless_forced(database: Database, tables: set[str], *, force: bool) -> None:
    if tables and not force:
        examples = ", ".join(sorted(tables)[:3])
        raise BackupError(
            f"The {database.describe()} is not empty: it has {len(tables)} tables ({examples},"
            " …). Restore into a fresh database, or add --force to replace what it holds with"
            " the backup."
        )


# --- helpers --------------------------------------------------------------------------------


def _pg_tables(cursor: Cursor) -> set[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row[0] for row in cursor.fetchall()}


def _sqlite_tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {row[0] for row in rows}


def _check_sqlite_integrity(connection: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is damaged: {error}.") from error
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {'; '.join(problems[:3])}.")


def pg_tool(name: str, *, server_major: int, bindir: Path | None = None) -> Path:
    """pg_dump or pg_restore of the server's major version, or a newer one: an older
    pg_dump refuses a newer server, and an older pg_restore a newer archive."""
    candidates = [bindir / name] if bindir else []
    candidates += [
        Path(f"/usr/lib/postgresql/{server_major}/bin/{name}"),  # Debian, Ubuntu
        Path(f"/usr/pgsql-{server_major}/bin/{name}"),  # the PGDG packages for RHEL
    ]
    if on_path := shutil.which(name):
        candidates.append(Path(on_path))
    found = []
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            major = _tool_major(candidate)
            if major is not None and major >= server_major:
                return candidate
            found.append(f"{candidate} ({major or 'unknown version'})")
    raise BackupError(
        f"No {name} for PostgreSQL {server_major} or newer"
        + (f" (found {', '.join(found)})" if found else "")
        + f". Install the server's client (Debian: apt-get install postgresql-client-"
        f"{server_major}) or name its directory with --pg-bindir."
    )


def _tool_major(tool: Path) -> int | None:
    try:
        version = subprocess.run(  # noqa: S603  # nosec B603 (our PostgreSQL tools, a list of arguments)
            [str(tool), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", version)
    return int(match.group(1)) if match else None


def _run(command: list[str], *, environment: dict[str, str], failing: str) -> str:
    try:
        result = subprocess.run(  # noqa: S603  # nosec B603 (our PostgreSQL tools, a list of arguments)
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=PG_TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackupError(f"{failing} failed: {error}") from None
    if result.returncode != 0:
        reason = " ".join(result.stderr.strip().splitlines()[-3:]) or f"exit {result.returncode}"
        raise BackupError(f"{failing} failed: {reason}")
    return result.stdout
