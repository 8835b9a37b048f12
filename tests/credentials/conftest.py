import datetime as dt
from pathlib import Path

import pytest
from django.conf import LazySettings

from tests import helpers
from tests.factories import SlotFactory
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot


@pytest.fixture(autouse=True)
def signing_keys_path(settings: LazySettings, tmp_path: Path) -> Path:
    """Every test gets its own key store, in a directory that does not exist yet."""
    path = tmp_path / "keys" / "signing-keys.json"
    settings.SIGNING_KEYS_PATH = path
    settings.SIGNING_KEYS_JSON = ""
    settings.SITE_URL = "https://vaccination.example.org"
    settings.CREDENTIAL_GRACE_HOURS = 6
    return path


def book(slot: Slot, *, full_name: str = "María José Núñez Ortiz") -> Appointment:
    """An appointment booked through the booking service two days before `slot` starts."""
    return helpers.book(slot, full_name=full_name, date_of_birth=dt.date(1961, 2, 28))


@pytest.fixture
def appointment(db: None) -> Appointment:
    return book(SlotFactory())
