from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client


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
