import sqlite3
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.sqlite3 import base as sqlite_base
from django.test import Client

from config import env
from vaxbook.core.views import database_health


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_is_reachable(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_gone(client: Client) -> None:
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("connection refused"),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_healthz_answers_head_like_get(client: Client) -> None:
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == b""


@pytest.mark.django_db
def test_healthz_head_answers_503_when_the_database_is_gone(client: Client) -> None:
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("connection refused"),
    ):
        response = client.head("/healthz")
    assert response.status_code == 503


def test_healthz_is_read_only(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_start_page_lists_the_active_centres(client: Client) -> None:
    from tests.factories import CentreFactory

    CentreFactory(name="Hospital Isabel Zendal")
    CentreFactory(name="Closed Pavilion", is_active=False)
    response = client.get("/")
    assert response.status_code == 200
    assert "Hospital Isabel Zendal" in response.text
    assert "Closed Pavilion" not in response.text


@pytest.mark.django_db
def test_the_language_switcher_changes_the_page_language(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert '<html lang="es">' in response.text


def test_healthz_reports_an_sqlite_database_whose_write_lock_another_process_holds(
    tmp_path: Path, django_db_blocker
) -> None:
    # In WAL mode readers never wait, so SELECT 1 alone would say "ok" while every booking
    # waits for the lock. A database of its own: the lock is taken by another connection.
    settings_dict = {**env.database(f"sqlite:///{tmp_path / 'db.sqlite3'}", var_dir=tmp_path)}
    settings_dict |= {"ATOMIC_REQUESTS": False, "AUTOCOMMIT": True, "TIME_ZONE": None}
    with django_db_blocker.unblock():  # a database of the test's own, not the test database
        db = sqlite_base.DatabaseWrapper(settings_dict, alias="health_probe")
        assert database_health(db) == "ok"

        holder = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert database_health(db) == "locked"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert database_health(db) == "ok"
        db.close()
