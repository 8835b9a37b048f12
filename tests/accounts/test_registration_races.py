"""Registration under races of real threads against the configured database (run them on
PostgreSQL with DATABASE_URL): the same link followed at once makes one account; the same
address registered at once leaves one registration and sends one link."""

import datetime as dt
import re
from functools import partial

import pytest
from django.core import mail

from tests.bookings.test_races import race
from vaxbook.accounts import registration
from vaxbook.accounts.models import Citizen, PendingRegistration, User

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 8


def ask(full_name: str) -> None:
    registration.request_registration(
        email="ada@example.org",
        password="correct horse battery staple",
        full_name=full_name,
        date_of_birth=dt.date(1990, 5, 17),
    )


def test_one_link_followed_many_times_at_once_makes_one_account() -> None:
    ask("Ada Lovelace")
    registration.send_link_or_notice(email="ada@example.org")
    link = re.search(r"/register/confirm/([A-Za-z0-9_-]+)/", str(mail.outbox[0].body))
    assert link is not None

    def follow() -> str:
        try:
            registration.confirm_registration(token=link.group(1))
        except registration.RegistrationLinkInvalid:
            return "invalid"
        return "created"

    outcomes = race([follow] * RACERS)

    assert sorted(map(str, outcomes)) == ["created"] + ["invalid"] * (RACERS - 1)
    assert User.objects.count() == 1
    assert Citizen.objects.count() == 1
    assert not PendingRegistration.objects.exists()


def test_one_address_registered_many_times_at_once_gets_one_link(settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "register_account": "off"}

    def register(n: int) -> str:
        ask(f"Ada {n}")
        return "asked"

    outcomes = race([partial(register, n) for n in range(RACERS)])

    assert outcomes == ["asked"] * RACERS  # no racer failed on the unique address
    pending = PendingRegistration.objects.get()
    for _ in range(RACERS):  # the worker runs each racer's task
        registration.send_link_or_notice(email="ada@example.org")
    assert len(mail.outbox) == 1
    assert pending.full_name in {f"Ada {n}" for n in range(RACERS)}
