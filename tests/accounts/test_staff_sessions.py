"""Staff sessions on shared tablets end when left idle and after a shift; the client's
own claim of HTTPS is not believed without a proxy in front."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, staff_at
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def nurse():
    return staff_at(CentreFactory(), StaffRole.VACCINATOR)


def test_a_staff_session_lasts_only_as_long_as_its_idle_limit(nurse) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = verified_client(nurse)
        response = client.get("/staff/")
        assert response.status_code == 200
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert int(cookie["max-age"]) == settings.STAFF_SESSION_IDLE_SECONDS

        clock.shift(dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS - 60))
        assert client.get("/staff/").status_code == 200  # in use: the limit moves on
        clock.shift(dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS - 60))
        assert client.get("/staff/").status_code == 200

        clock.shift(dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS + 1))
        response = client.get("/staff/")
        assert response.status_code == 302
        assert "/staff/sign-in/" in response["Location"]


def test_a_staff_session_in_constant_use_ends_after_a_shift(nurse) -> None:
    step = dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS // 2)
    with time_machine.travel(START, tick=False) as clock:
        client = verified_client(nurse)
        statuses = []
        for _ in range(settings.STAFF_SESSION_MAX_SECONDS // step.seconds + 2):
            statuses.append(client.get("/staff/").status_code)
            clock.shift(step)

    assert statuses[0] == 200
    assert statuses[-1] == 302
    assert client.get("/staff/").status_code == 302  # signed out, not only redirected


def test_a_citizens_session_keeps_the_usual_length() -> None:
    person = CitizenFactory()
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.force_login(person.user)
        clock.shift(dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS + 60))
        assert client.get("/appointments/").status_code == 200


def test_x_forwarded_proto_is_not_believed_without_a_proxy(rf) -> None:
    request = rf.get("/", headers={"X-Forwarded-Proto": "https"})
    assert settings.TRUSTED_PROXY_COUNT == 0
    assert not request.is_secure()


def test_x_forwarded_proto_is_believed_behind_a_proxy() -> None:
    probe = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    shown = [
        subprocess.run(  # noqa: S603 (our own interpreter and settings)
            [sys.executable, "-c", f"import django; django.setup(); {probe}"],
            cwd=ROOT,
            env={**env, "TRUSTED_PROXY_COUNT": count},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for count in ("0", "1")
    ]
    assert shown == ["None", "('HTTP_X_FORWARDED_PROTO', 'https')"]
