import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import LazySettings

from tests.factories import CitizenFactory, SlotFactory
from vaxbook.bookings import services
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
    """An appointment booked through the booking service, a moment before `slot` starts."""
    person = CitizenFactory(full_name=full_name, date_of_birth=dt.date(1961, 2, 28))
    with time_machine.travel(slot.starts_at - dt.timedelta(days=2)):
        return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


@pytest.fixture
def appointment(db: None) -> Appointment:
    return book(SlotFactory())
