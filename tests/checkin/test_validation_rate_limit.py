"""Validation is rate-limited per staff account and per client address: a flood of guesses
gets a 429 page with Retry-After, and is neither looked up nor audited."""

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine

from tests.factories import CentreFactory, staff_at
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole
from vaxbook.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2027, 7, 15, 12, 0, 0, tzinfo=dt.UTC)  # a window starts on the minute


@pytest.fixture(autouse=True)
def tight_limits(settings) -> Iterator[None]:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "validation_account": "3/m",
        "validation_address": "5/m",
    }
    with time_machine.travel(NOON, tick=False):
        yield


def test_the_fourth_validation_in_a_minute_is_a_429() -> None:
    centre = CentreFactory()
    desk = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))
    url = f"/staff/centres/{centre.pk}/validate/"

    answers = [desk.post(url, {"presented": "ABC-DEF-GH2"}) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3]["Retry-After"] == "60"
    assert "Too many attempts" in answers[3].content.decode()
    assert AuditEvent.objects.count() == 3
    assert desk.get(url).status_code == 200  # looking at the page is not an attempt


def test_check_ins_count_too() -> None:
    centre = CentreFactory()
    desk = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))

    statuses = [
        desk.post(f"/staff/centres/{centre.pk}/check-in/", {"presented": "x"}).status_code
        for _ in range(4)
    ]

    assert statuses == [200, 200, 200, 429]


def test_one_address_is_limited_across_accounts() -> None:
    centre = CentreFactory()
    desks = [
        verified_client(staff_at(centre, StaffRole.RECEPTIONIST), address="192.0.2.9")
        for _ in range(3)
    ]
    url = f"/staff/centres/{centre.pk}/validate/"

    statuses = [desk.post(url, {"presented": "x"}).status_code for desk in desks for _ in range(2)]

    assert statuses == [200, 200, 200, 200, 200, 429]


def test_the_window_passes(settings) -> None:
    centre = CentreFactory()
    desk = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))
    url = f"/staff/centres/{centre.pk}/validate/"
    for _ in range(3):
        desk.post(url, {"presented": "x"})
    assert desk.post(url, {"presented": "x"}).status_code == 429

    with time_machine.travel(NOON + dt.timedelta(minutes=1), tick=False):
        assert desk.post(url, {"presented": "x"}).status_code == 200
