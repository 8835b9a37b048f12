"""Times, bookings, the Spanish switch and a database out of reach, which tests in several
folders share."""

import datetime as dt
import sqlite3
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import time_machine
from django.db import connection, connections
from django.test import Client

from tests.factories import CitizenFactory
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
CANARY = zoneinfo.ZoneInfo("Atlantic/Canary")
DAY = dt.date(2027, 7, 15)  # a summer Thursday: Madrid is UTC+2, the Canaries UTC+1, the server UTC


def at(
    hour: int, minute: int = 0, *, day: dt.date = DAY, zone: zoneinfo.ZoneInfo = MADRID
) -> dt.datetime:
    """hour:minute on `day` in `zone` (DAY in Madrid unless told), as an aware datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def book(
    slot: Slot, *, days_before: int = 2, person: Citizen | None = None, **citizen: Any
) -> Appointment:
    """`slot` booked through the booking service, with the clock stopped `days_before` days
    before it starts, by `person` or by a new citizen with the `citizen` fields given."""
    person = person or CitizenFactory(**citizen)
    with time_machine.travel(slot.starts_at - dt.timedelta(days=days_before), tick=False):
        return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


def in_spanish(client: Client) -> Client:
    """`client`, having switched the site to Spanish as the language menu does."""
    assert client.post("/i18n/setlang/", {"language": "es", "next": "/"}).status_code == 302
    return client


@dataclass
class Outage:
    """What database_out_of_reach() gives: end() brings the database back before the block
    ends (on PostgreSQL the outage ends by itself: a new connection works)."""

    end: Callable[[], None]


@contextmanager
def database_out_of_reach() -> Iterator[Outage]:
    """The database as requests find it when it cannot serve them: on PostgreSQL the
    server has ended every connection of this test run, as a restart or a failover does
    (the pool hands them out dead); on SQLite another process holds the write lock past
    the busy timeout (cut to 50 ms here) until end() or the end of the block.
    Needs a transactional test: the connections do not survive."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        connection.close()  # back to the pool, which hands it out again
        database = connection.settings_dict
        with psycopg.connect(
            dbname=database["NAME"],
            user=database["USER"],
            password=database["PASSWORD"],
            host=database["HOST"],
            port=database["PORT"] or None,
            autocommit=True,
        ) as server:
            server.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND usename = current_user"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        try:
            yield Outage(end=lambda: None)
        finally:
            # Every alias's pool lost its connections (the replica alias mirrors this
            # database): the test, and the tests after it, go on with new ones.
            for each in connections.all():
                close_pool = getattr(each, "close_pool", None)  # PostgreSQL's pool
                each.close()
                if close_pool is not None:
                    close_pool()
        return
    connection.connection.execute("PRAGMA busy_timeout = 50")
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")

    def end() -> None:
        if writer.in_transaction:
            writer.execute("ROLLBACK")

    try:
        yield Outage(end=end)
    finally:
        end()
        writer.close()
        connection.close()
