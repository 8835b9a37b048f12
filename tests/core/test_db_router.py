"""Read routing (vaxbook.core.db_router): which reads the replica serves, read-your-writes,
and the fall back to the primary when the replica lags or is down.

In the suite the replica is a second alias on the same test database (tests/conftest.py);
the tests that read from it run with real transactions and both aliases allowed."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.cache import cache
from django.db import OperationalError, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, tomorrow_at
from vaxbook.bookings import services
from vaxbook.centres import queries
from vaxbook.centres.models import Slot
from vaxbook.core import db_router
from vaxbook.core.db_router import PRIMARY, REPLICA, ReadRouter

both_databases = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@contextmanager
def queries_on(alias: str) -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connections[alias]) as captured:
        yield captured


def slot_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if "centres_slot" in query["sql"]]


def lag_of(seconds: float):
    def lag(self) -> float:
        return seconds

    return lag


def replica_refuses(self) -> float:
    raise OperationalError("connection refused")


# --- the router's decisions ---------------------------------------------------------------


def test_writes_go_to_the_primary() -> None:
    assert ReadRouter().db_for_write(Slot) == PRIMARY


@both_databases
def test_reads_go_to_the_replica_only_where_the_code_allows_it() -> None:
    router = ReadRouter()
    assert router.db_for_read(Slot) == PRIMARY
    with db_router.replica_reads():
        assert router.db_for_read(Slot) == REPLICA


@both_databases
def test_reads_inside_a_transaction_stay_on_the_primary() -> None:
    with transaction.atomic(), db_router.replica_reads():
        assert ReadRouter().db_for_read(Slot) == PRIMARY


@both_databases
def test_after_a_write_the_same_request_reads_from_the_primary() -> None:
    router = ReadRouter()
    router.db_for_write(Slot)
    with db_router.replica_reads():
        assert router.db_for_read(Slot) == PRIMARY


@both_databases
def test_a_replica_past_the_lag_bound_is_left_until_it_catches_up(
    monkeypatch, settings, caplog
) -> None:
    settings.REPLICA_MAX_LAG_SECONDS = 5
    monkeypatch.setattr(db_router.ReplicaProbe, "lag", lag_of(7.5))
    with db_router.replica_reads():
        assert ReadRouter().db_for_read(Slot) == PRIMARY
    assert "the replica is 7.5 s behind (bound 5 s)" in caplog.text

    monkeypatch.setattr(db_router.ReplicaProbe, "lag", lag_of(0.2))
    db_router.probe.forget()  # a second later: measured again
    with db_router.replica_reads():
        assert ReadRouter().db_for_read(Slot) == REPLICA


@both_databases
def test_the_lag_is_measured_at_most_once_a_second(monkeypatch) -> None:
    measured = []

    def lag(self) -> float:
        measured.append(1)
        return 0.0

    monkeypatch.setattr(db_router.ReplicaProbe, "lag", lag)
    for _ in range(50):
        db_router.replica_or_primary()
    assert len(measured) == 1


@both_databases
def test_a_replica_that_is_down_is_left(monkeypatch, caplog) -> None:
    monkeypatch.setattr(db_router.ReplicaProbe, "lag", replica_refuses)
    with db_router.replica_reads():
        assert ReadRouter().db_for_read(Slot) == PRIMARY
    assert "the replica is down (connection refused)" in caplog.text


@both_databases
def test_the_probe_reads_the_lag_from_the_replica_itself() -> None:
    # Here the "replica" is the primary's own database: never behind.
    assert db_router.probe.lag() == 0.0


# --- what the pages and the API read where ------------------------------------------------


@both_databases
def test_the_day_page_and_the_api_slot_list_read_from_the_replica() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10))
    client = Client()
    day = slot.local_date.isoformat()
    with queries_on(REPLICA) as replica, queries_on(PRIMARY) as primary:
        page = client.get(f"/centres/{slot.centre_id}/", {"date": day})
        api = client.get(f"/api/v1/centres/{slot.centre_id}/slots", {"date": day})
    assert page.status_code == 200
    assert api.json()["count"] == 1
    assert len(slot_queries(replica)) == 2
    assert slot_queries(primary) == []


@both_databases
def test_the_search_reads_from_the_replica() -> None:
    SlotFactory(centre=CentreFactory(name="Centro Norte"), starts_at=tomorrow_at(10))
    with queries_on(REPLICA) as replica:
        page = Client().get("/centres/", {"q": "Norte"})
    assert "Centro Norte" in page.text
    assert slot_queries(replica)


@both_databases
def test_a_persons_own_appointments_are_read_from_the_primary() -> None:
    person = CitizenFactory()
    slot = SlotFactory(starts_at=tomorrow_at(10))
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    client = Client()
    client.force_login(person.user)
    with queries_on(REPLICA) as replica:
        page = client.get("/appointments/")
    assert page.status_code == 200
    assert replica.captured_queries == []


@both_databases
def test_after_a_write_the_browser_reads_from_the_primary_for_a_while(settings) -> None:
    settings.REPLICA_MAX_LAG_SECONDS = 5
    slot = SlotFactory(starts_at=tomorrow_at(10))
    client = Client()
    wrote = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    cookie = wrote.cookies[db_router.READ_YOUR_WRITES_COOKIE]
    assert cookie["max-age"] == 6
    assert cookie["httponly"]

    with queries_on(REPLICA) as replica, queries_on(PRIMARY) as primary:
        client.get(f"/centres/{slot.centre_id}/", {"date": slot.local_date.isoformat()})
    assert slot_queries(replica) == []
    assert len(slot_queries(primary)) == 1

    cache.clear()
    del client.cookies[db_router.READ_YOUR_WRITES_COOKIE]  # expired
    with queries_on(REPLICA) as replica:
        client.get(f"/centres/{slot.centre_id}/", {"date": slot.local_date.isoformat()})
    assert len(slot_queries(replica)) == 1


@both_databases
def test_reads_fall_back_to_the_primary_while_the_replica_lags(monkeypatch) -> None:
    monkeypatch.setattr(db_router.ReplicaProbe, "lag", lag_of(60.0))
    slot = SlotFactory(starts_at=tomorrow_at(10))
    with queries_on(REPLICA) as replica:
        page = Client().get(f"/centres/{slot.centre_id}/", {"date": slot.local_date.isoformat()})
    assert page.status_code == 200
    assert "10:00" in page.text
    assert replica.captured_queries == []


@both_databases
def test_a_replica_failing_mid_read_is_marked_down_and_the_read_runs_on_the_primary(
    monkeypatch, caplog
) -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10))
    assert db_router.probe.state().usable  # measured a moment ago
    replica = connections[REPLICA]
    replica.close()

    def refuse() -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(replica, "ensure_connection", refuse)
    with caplog.at_level(logging.WARNING), db_router.fresh_reads():
        slots = queries.day_slots(centre=slot.centre, day=slot.local_date)

    assert [found.pk for found in slots] == [slot.pk]
    assert "the replica is down (a read failed" in caplog.text
    assert db_router.probe.state().status == "down"


# --- /healthz -----------------------------------------------------------------------------


@both_databases
def test_healthz_shows_the_replica_and_its_lag(monkeypatch) -> None:
    monkeypatch.setattr(db_router.ReplicaProbe, "lag", lag_of(0.25))
    answer = Client().get("/healthz").json()
    assert answer == {
        "status": "ok",
        "database": "ok",
        "replica": "ok",
        "replica_lag_seconds": 0.25,
    }


@both_databases
def test_healthz_stays_up_and_says_so_when_the_replica_lags_or_is_down(monkeypatch) -> None:
    monkeypatch.setattr(db_router.ReplicaProbe, "lag", lag_of(30.0))
    lagging = Client().get("/healthz")
    assert lagging.status_code == 200
    assert lagging.json()["replica"] == "lagging"

    monkeypatch.setattr(db_router.ReplicaProbe, "lag", replica_refuses)
    db_router.probe.forget()
    down = Client().get("/healthz")
    assert down.status_code == 200
    assert down.json()["replica"] == "down"
    assert down.json()["replica_lag_seconds"] is None
