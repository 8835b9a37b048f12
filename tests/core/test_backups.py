"""manage.py backup and restore (vaxbook.core.backups), against the configured database: an
SQLite file, or PostgreSQL (then the fresh database a backup is restored into is created
here, on the same server, and dropped afterwards).

The restore into a fresh database runs the command as an operator would, in a process of
its own with DATABASE_URL naming that database; the tests then read both databases row by
row through the database driver, not through the app."""

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from tests.factories import CitizenFactory, SlotFactory, staff_at, tomorrow_at
from vaxbook.accounts.models import Citizen
from vaxbook.audit.models import AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot
from vaxbook.core import backups
from vaxbook.notifications.models import Message

# Restoring and reading back need committed rows, seen from other connections.
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# What a person, a centre and the outbox would miss if a restore lost it.
KEPT_TABLES = [
    model._meta.db_table
    for model in (Citizen, Appointment, Slot, Message, DBTaskResult, AuditEvent)
]

type Connect = Callable[[], Any]  # a DB-API connection: sqlite3's or psycopg's


@dataclass
class Campaign:
    references: set[str]
    slots: list[Slot]
    late_person: Citizen


@pytest.fixture
def campaign() -> Campaign:
    """Three bookings in two slots (one cancelled, one checked in by staff): appointments,
    counters, messages with their delivery tasks, and an audit event."""
    first = SlotFactory(capacity=5)
    second = SlotFactory(
        centre=first.centre, vaccine=first.vaccine, starts_at=tomorrow_at(11), capacity=3
    )
    booked = [
        services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
        for slot in (first, first, second)
    ]
    services.cancel_appointment(person=booked[1].person, appointment_id=booked[1].pk)
    services.check_in(
        appointment_id=booked[0].pk, staff=staff_at(first.centre), client_address="192.0.2.7"
    )
    return Campaign(
        references={appointment.reference for appointment in booked},
        slots=[first, second],
        late_person=CitizenFactory(),
    )


@dataclass
class FreshDatabase:
    url: str
    connect: Connect


def configured_database() -> Connect:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return lambda: sqlite3.connect(settings["NAME"])
    return lambda: psycopg.connect(**_libpq(settings))


def _libpq(settings: dict[str, Any], **overrides: str) -> dict[str, Any]:
    params = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "host": settings["HOST"],
        "port": settings["PORT"],
    }
    return {key: value for key, value in (params | overrides).items() if value}


def database_url(name: str | None = None) -> str:
    """DATABASE_URL for the configured database, or another on the same PostgreSQL server."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name or settings['NAME']}"
    user = urllib.parse.quote(settings["USER"] or "", safe="")
    password = urllib.parse.quote(settings["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    address = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return f"postgres://{credentials}{address}/{name or settings['NAME']}"


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[FreshDatabase]:
    """An empty database of the configured kind, and its DATABASE_URL."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"
        yield FreshDatabase(url=database_url(str(path)), connect=lambda: sqlite3.connect(path))
        return
    name = f"{settings['NAME']}_restored"
    with psycopg.connect(**_libpq(settings, dbname="postgres"), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield FreshDatabase(
            url=database_url(name),
            connect=lambda: psycopg.connect(**_libpq(settings, dbname=name)),
        )
    finally:
        with psycopg.connect(**_libpq(settings, dbname="postgres"), autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(connect: Connect, table: str) -> list[dict[str, Any]]:
    """Every row of `table`, each column by name, in the order of their ids."""
    database = connect()
    try:
        cursor = database.cursor()
        cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608 (our tables)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        database.close()


def manage(*args: str, database_url: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """manage.py in a process of its own, as an operator runs it."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "insecure-key-for-checks-and-tests-only",
        "VAXBOOK_VAR_DIR": str(var_dir),
    }
    environment.pop("DATABASE_REPLICA_URL", None)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def back_up(path: Path) -> str:
    out = StringIO()
    call_command("backup", output=path, stdout=out)
    return out.getvalue()


def restore(path: Path, *, force: bool = False) -> str:
    out = StringIO()
    connections.close_all()  # nothing of this test holds a lock the restore needs
    call_command("restore", path, force=force, stdout=out)
    return out.getvalue()


# --- the round trip -------------------------------------------------------------------------


def test_a_backup_restored_into_a_fresh_database_has_every_appointment_counter_and_message(
    campaign: Campaign, fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    backup = tmp_path / "vaxbook.backup"
    printed = back_up(backup)
    backed_up = {table: rows(configured_database(), table) for table in KEPT_TABLES}
    # After the backup: not in it.
    services.book_appointment(
        person=campaign.late_person, slot_id=campaign.slots[1].pk, dose_number=1
    )

    restored = manage("restore", str(backup), database_url=fresh_database.url, var_dir=tmp_path)

    assert restored.returncode == 0, restored.stderr
    assert "3 appointments" in printed
    assert "which was empty" in restored.stdout
    assert "the same rows as counted when the backup was made" in restored.stdout
    for table, expected in backed_up.items():
        assert expected, f"the campaign wrote nothing to {table}"
        assert rows(fresh_database.connect, table) == expected, table
    appointments = rows(fresh_database.connect, Appointment._meta.db_table)
    assert {row["reference"] for row in appointments} == campaign.references
    slots = rows(fresh_database.connect, Slot._meta.db_table)
    assert [row["booked"] for row in slots] == [1, 1]  # one cancelled; the late booking is not in


def test_a_backup_file_is_readable_by_its_owner_only(campaign: Campaign, tmp_path: Path) -> None:
    backup = tmp_path / "vaxbook.backup"
    back_up(backup)
    assert backup.stat().st_mode & 0o777 == 0o600
    assert backups.manifest_path_of(backup).stat().st_mode & 0o777 == 0o600


def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "vaxbook.backup"
    existing.write_text("an earlier backup")
    with pytest.raises(CommandError, match="already exists"):
        back_up(existing)
    assert existing.read_text() == "an earlier backup"


# What the restore drill of docs/backups.md checks: each query finds no row in a consistent
# database.
SLOTS_WHOSE_COUNTER_DIFFERS = """
    SELECT s.id, s.booked, COUNT(a.id) AS holding
      FROM centres_slot s
      LEFT JOIN bookings_appointment a ON a.slot_id = s.id AND a.status <> 'cancelled'
     GROUP BY s.id, s.booked
    HAVING s.booked <> COUNT(a.id)
"""
BOOKINGS_WITHOUT_CONFIRMATION = """
    SELECT a.reference FROM bookings_appointment a
     WHERE a.status = 'booked'
       AND NOT EXISTS (SELECT 1 FROM notifications_message m
                        WHERE m.appointment_id = a.id AND m.event = 'booked')
"""


def found(connect: Connect, query: str) -> list[tuple[Any, ...]]:
    database = connect()
    try:
        cursor = database.cursor()
        cursor.execute(query)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        database.close()


@pytest.mark.race
def test_a_backup_taken_while_people_book_is_one_consistent_instant(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    # Two booking threads: the first half of their bookings before the backup starts, the
    # rest during it, and the last few only once it is done (so some are surely after it).
    first = SlotFactory(capacity=20)
    slots = [first] + [
        SlotFactory(
            centre=first.centre, vaccine=first.vaccine, starts_at=tomorrow_at(hour), capacity=20
        )
        for hour in (11, 12, 13)
    ]
    people = CitizenFactory.create_batch(60)
    halfway = threading.Barrier(3, timeout=60)
    backed_up = threading.Event()
    failures: list[BaseException] = []

    def book(share: list[Citizen]) -> None:
        try:
            for number, person in enumerate(share):
                if number == len(share) // 2:
                    halfway.wait()
                if number == len(share) - 5:
                    backed_up.wait(timeout=60)
                slot = slots[number % len(slots)]
                services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
        except BaseException as error:
            failures.append(error)
            raise
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(people[n::2],)) for n in range(2)]
    connections.close_all()
    for thread in threads:
        thread.start()
    halfway.wait()
    backup = tmp_path / "vaxbook.backup"
    back_up(backup)
    backed_up.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert Appointment.objects.count() == 60

    restored = manage("restore", str(backup), database_url=fresh_database.url, var_dir=tmp_path)

    assert restored.returncode == 0, restored.stderr
    assert "the same rows as counted when the backup was made" in restored.stdout
    in_backup = len(rows(fresh_database.connect, Appointment._meta.db_table))
    assert 30 <= in_backup <= 50  # the first halves, and none of the last five of each
    assert found(fresh_database.connect, SLOTS_WHOSE_COUNTER_DIFFERS) == []
    assert found(fresh_database.connect, BOOKINGS_WITHOUT_CONFIRMATION) == []


def test_a_backup_where_it_cannot_write_says_so(tmp_path: Path) -> None:
    in_the_way = tmp_path / "backups"
    in_the_way.write_text("a file, not a directory")
    with pytest.raises(CommandError, match=r"Cannot write a backup in .*backups: a file is in"):
        back_up(in_the_way / "vaxbook.backup")


# --- a database that is not empty -----------------------------------------------------------


def test_restore_refuses_a_database_that_is_not_empty_and_leaves_it_as_it_was(
    campaign: Campaign, tmp_path: Path
) -> None:
    backup = tmp_path / "vaxbook.backup"
    back_up(backup)
    services.book_appointment(
        person=campaign.late_person, slot_id=campaign.slots[1].pk, dose_number=1
    )
    with pytest.raises(CommandError, match=r"is not empty: it has \d+ tables.*--force"):
        restore(backup)
    assert Appointment.objects.count() == 4
    assert Slot.objects.get(pk=campaign.slots[1].pk).booked == 2


def test_force_replaces_what_the_database_holds_with_the_backup(
    campaign: Campaign, tmp_path: Path
) -> None:
    backup = tmp_path / "vaxbook.backup"
    back_up(backup)
    late = services.book_appointment(
        person=campaign.late_person, slot_id=campaign.slots[1].pk, dose_number=1
    )

    printed = restore(backup, force=True)

    assert "replacing its" in printed
    assert not Appointment.objects.filter(pk=late.pk).exists()
    assert set(Appointment.objects.values_list("reference", flat=True)) == campaign.references
    assert Slot.objects.get(pk=campaign.slots[1].pk).booked == 1
    assert not Message.objects.filter(appointment_id=late.pk).exists()


# --- bad input ------------------------------------------------------------------------------


def truncated_copy(backup: Path, *, keep_manifest: bool) -> Path:
    damaged = backup.with_name("damaged.backup")
    damaged.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    if keep_manifest:
        shutil.copy(backups.manifest_path_of(backup), backups.manifest_path_of(damaged))
    return damaged


def altered_copy(backup: Path) -> Path:
    """The same size, one byte changed in the middle, with the original's manifest."""
    altered = backup.with_name("altered.backup")
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(data)
    shutil.copy(backups.manifest_path_of(backup), backups.manifest_path_of(altered))
    return altered


def other_kind_of_backup(tmp_path: Path) -> Path:
    other = tmp_path / "other.backup"
    if connection.vendor == "sqlite":
        other.write_bytes(b"PGDMP" + bytes(200))
    else:
        with sqlite3.connect(other) as database:
            database.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY)")
        database.close()
    return other


BAD_FILES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing": (lambda backup, tmp: tmp / "nowhere.backup", r"There is no backup at .*nowhere"),
    "not a backup": (
        lambda backup, tmp: tmp / "notes.txt",
        r"notes.txt is not a vaxbook backup: neither a pg_dump custom-format archive nor an"
        r" SQLite database",
    ),
    "truncated, with its manifest": (
        lambda backup, tmp: truncated_copy(backup, keep_manifest=True),
        r"is not the file that was backed up \([\d,]+ bytes where its manifest says [\d,]+\)",
    ),
    "one byte changed, with its manifest": (
        lambda backup, tmp: altered_copy(backup),
        r"altered.backup is not the file that was backed up \(its SHA-256 differs",
    ),
    "truncated, without a manifest": (
        lambda backup, tmp: truncated_copy(backup, keep_manifest=False),
        r"damaged.backup (is damaged|failed)",
    ),
    "of the other database": (
        lambda backup, tmp: other_kind_of_backup(tmp),
        r"is a backup of (SQLite|PostgreSQL).*but the database is (PostgreSQL|SQLite) database",
    ),
}


@pytest.mark.parametrize("bad", BAD_FILES)
def test_restore_of_a_bad_file_says_what_is_wrong_and_writes_nothing(
    bad: str, campaign: Campaign, tmp_path: Path
) -> None:
    backup = tmp_path / "vaxbook.backup"
    back_up(backup)
    (tmp_path / "notes.txt").write_text("shopping list\n")
    make, message = BAD_FILES[bad]
    path = make(backup, tmp_path)
    services.book_appointment(
        person=campaign.late_person, slot_id=campaign.slots[1].pk, dose_number=1
    )

    with pytest.raises(CommandError, match=message):
        restore(path, force=True)
    assert Appointment.objects.count() == 4  # as it was, with the booking after the backup


def test_the_command_answers_bad_input_with_one_clear_line_not_a_traceback(
    campaign: Campaign, tmp_path: Path
) -> None:
    # Every refusal goes through the same CommandError; this one also reaches the database.
    backup = tmp_path / "vaxbook.backup"
    back_up(backup)

    answer = manage("restore", str(backup), database_url=database_url(), var_dir=tmp_path)

    assert answer.returncode == 1
    assert answer.stderr.startswith("CommandError: The ")
    assert "is not empty" in answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1  # no traceback
    assert answer.stdout == ""


# --- pg_dump and pg_restore of the server's version -------------------------------------------


def fake_tool(directory: Path, name: str, major: int) -> Path:
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {major}.3'\n")
    tool.chmod(0o755)
    return tool


def test_the_tools_of_the_servers_version_or_newer_are_taken(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "bin", "pg_dump", 17)
    assert backups.pg_tool("pg_dump", server_major=17, bindir=tool.parent) == tool
    assert backups.pg_tool("pg_dump", server_major=16, bindir=tool.parent) == tool


def test_tools_older_than_the_server_are_refused_naming_what_to_install(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "bin", "pg_restore", 15)
    with pytest.raises(backups.BackupError) as refused:
        backups.pg_tool("pg_restore", server_major=99, bindir=tool.parent)
    assert f"No pg_restore for PostgreSQL 99 or newer (found {tool} (15)" in str(refused.value)
    assert "apt-get install postgresql-client-99" in str(refused.value)


def test_the_database_password_reaches_the_tools_in_a_private_file_not_the_environment() -> None:
    database = backups.Database(
        kind=backups.POSTGRESQL,
        settings={
            "NAME": "vaxbook",
            "USER": "app",
            "PASSWORD": "s3cret:with\\odd",
            "HOST": "db.example.org",
            "PORT": 5432,
            "OPTIONS": {"sslmode": "verify-full", "pool": {"max_size": 8}},
        },
    )
    with database.tool_environment() as environment:
        passfile = Path(environment["PGPASSFILE"])
        assert passfile.read_text() == "db.example.org:5432:vaxbook:app:s3cret\\:with\\\\odd\n"
        assert passfile.stat().st_mode & 0o777 == 0o600
        assert not [value for value in environment.values() if "s3cret" in value]
        assert environment["PGSSLMODE"] == "verify-full"
        assert (environment["PGHOST"], environment["PGDATABASE"]) == ("db.example.org", "vaxbook")
    assert not passfile.exists()
