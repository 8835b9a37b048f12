import datetime as dt

import pytest
import time_machine
from django.conf import LazySettings
from icalendar import Calendar

from tests import helpers
from tests.factories import CentreFactory, CitizenFactory, SlotFactory
from tests.helpers import CANARY, MADRID
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, Slot
from vaxbook.notifications.calendar import appointment_ics, published_ics

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture(autouse=True)
def site(settings: LazySettings) -> None:
    settings.SITE_URL = "https://vaccination.example.org"
    settings.TIME_ZONE = "UTC"


def slot_at(centre: Centre, local_start: dt.datetime) -> Slot:
    return SlotFactory(centre=centre, starts_at=local_start)


def book(slot: Slot, *, language: str = "en") -> Appointment:
    """Booked through the booking service two days before the slot."""
    return helpers.book(slot, language=language, full_name="Ana García López")


def parse(ics: bytes) -> Calendar:
    return Calendar.from_ical(ics)


def only_event(calendar: Calendar):
    (event,) = calendar.events
    return event


# --- time ------------------------------------------------------------------------------------


def test_canary_islands_appointment_shows_the_islands_local_time_on_a_utc_server() -> None:
    centre = CentreFactory(time_zone="Atlantic/Canary", town="Las Palmas de Gran Canaria")
    # Summer: the islands are at UTC+1, an hour behind Madrid, so every zone gives a
    # different clock time for the same moment.
    appointment = book(slot_at(centre, dt.datetime(2026, 7, 2, 10, 0, tzinfo=CANARY)))

    ics = appointment_ics(appointment)

    assert b"DTSTART;TZID=Atlantic/Canary:20260702T100000" in ics
    event = only_event(parse(ics))
    assert (event.start.date(), event.start.time()) == (dt.date(2026, 7, 2), dt.time(10, 0))
    assert event.start.utcoffset() == dt.timedelta(hours=1)
    assert event.start == dt.datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
    assert event.end - event.start == dt.timedelta(minutes=10)


def test_calendar_carries_the_zone_rules_of_the_centre() -> None:
    centre = CentreFactory(time_zone="Atlantic/Canary")
    appointment = book(slot_at(centre, dt.datetime(2026, 7, 2, 10, 0, tzinfo=CANARY)))

    calendar = parse(appointment_ics(appointment))

    (zone,) = calendar.timezones
    assert zone.tz_name == "Atlantic/Canary"
    # The VTIMEZONE alone (not the reader's own zone database) gives the right offset.
    embedded = zone.to_tz(lookup_tzid=False)
    assert dt.datetime(2026, 7, 2, 10, 0, tzinfo=embedded).utcoffset() == dt.timedelta(hours=1)
    assert dt.datetime(2026, 12, 2, 10, 0, tzinfo=embedded).utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("day", "offset_hours"),
    [
        (dt.date(2026, 3, 28), 1),  # the Saturday before summer time
        (dt.date(2026, 3, 30), 2),  # the Monday after it began on Sunday 29 March
        (dt.date(2026, 10, 24), 2),  # the Saturday before winter time
        (dt.date(2026, 10, 26), 1),  # the Monday after it began on Sunday 25 October
    ],
)
def test_madrid_appointment_keeps_its_local_time_across_a_daylight_saving_change(
    day: dt.date, offset_hours: int
) -> None:
    centre = CentreFactory(time_zone="Europe/Madrid")
    local_start = dt.datetime.combine(day, dt.time(10, 0), tzinfo=MADRID)
    appointment = book(slot_at(centre, local_start))

    calendar = parse(appointment_ics(appointment))

    event = only_event(calendar)
    assert (event.start.date(), event.start.time()) == (day, dt.time(10, 0))
    assert event.start.utcoffset() == dt.timedelta(hours=offset_hours)
    embedded = calendar.timezones[0].to_tz(lookup_tzid=False)
    by_embedded_rules = dt.datetime.combine(day, dt.time(10, 0), tzinfo=embedded)
    assert by_embedded_rules.utcoffset() == dt.timedelta(hours=offset_hours)


def test_stamp_is_in_utc() -> None:
    appointment = book(SlotFactory())
    moment = dt.datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

    with time_machine.travel(moment, tick=False):
        event = only_event(parse(appointment_ics(appointment)))

    assert event.stamp == moment


# --- one entry for the appointment's whole life ----------------------------------------------


def test_cancellation_has_the_same_uid_and_removes_the_entry() -> None:
    slot = SlotFactory()
    appointment = book(slot)
    with time_machine.travel(slot.starts_at - dt.timedelta(days=2, minutes=-5), tick=False):
        booked = parse(appointment_ics(appointment))
    with time_machine.travel(slot.starts_at - dt.timedelta(days=1), tick=False):
        cancelled_appointment = services.cancel_appointment(
            person=appointment.person, appointment_id=appointment.pk
        )
        cancelled = parse(appointment_ics(cancelled_appointment, cancelled=True))

    assert booked["METHOD"] == "REQUEST"
    assert only_event(booked)["STATUS"] == "CONFIRMED"
    assert cancelled["METHOD"] == "CANCEL"
    assert only_event(cancelled)["STATUS"] == "CANCELLED"
    assert only_event(cancelled).uid == only_event(booked).uid == f"{appointment.reference}@vaxbook"
    assert only_event(cancelled).sequence > only_event(booked).sequence
    assert not only_event(cancelled).alarms.times


def test_cancellation_made_in_the_same_second_as_the_booking_still_outranks_it() -> None:
    slot = SlotFactory()
    person = CitizenFactory()
    with time_machine.travel(slot.starts_at - dt.timedelta(days=2), tick=False):
        appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
        booked = only_event(parse(appointment_ics(appointment)))
        cancelled_appointment = services.cancel_appointment(
            person=person, appointment_id=appointment.pk
        )
        cancelled = only_event(parse(appointment_ics(cancelled_appointment)))

    assert cancelled.sequence > booked.sequence


def test_a_cancelled_appointment_always_gives_the_cancellation() -> None:
    slot = SlotFactory()
    appointment = book(slot)
    with time_machine.travel(slot.starts_at - dt.timedelta(days=1), tick=False):
        cancelled = services.cancel_appointment(
            person=appointment.person, appointment_id=appointment.pk
        )

    assert parse(appointment_ics(cancelled))["METHOD"] == "CANCEL"


def test_reschedule_keeps_the_uid_with_the_new_time_and_a_higher_sequence() -> None:
    first = SlotFactory()
    later = SlotFactory(
        centre=first.centre,
        vaccine=first.vaccine,
        starts_at=first.starts_at + dt.timedelta(hours=3),
    )
    appointment = book(first)
    with time_machine.travel(first.starts_at - dt.timedelta(days=2, minutes=-5), tick=False):
        before = only_event(parse(appointment_ics(appointment)))
    with time_machine.travel(first.starts_at - dt.timedelta(days=1), tick=False):
        moved = services.reschedule_appointment(
            person=appointment.person, appointment_id=appointment.pk, new_slot_id=later.pk
        )
        after = only_event(parse(appointment_ics(moved)))

    assert after.uid == before.uid
    assert after.start == later.starts_at
    assert after.sequence > before.sequence


# --- what the entry says ---------------------------------------------------------------------


def test_location_has_the_centre_and_its_address_and_geo_its_position() -> None:
    centre = CentreFactory(
        name="Hospital Isabel II",
        address="Calle de Mateo Inurria 3",
        postcode="28036",
        town="Madrid",
    )
    appointment = book(SlotFactory(centre=centre))

    event = only_event(parse(appointment_ics(appointment)))

    assert event.location == "Hospital Isabel II, Calle de Mateo Inurria 3, 28036 Madrid"
    assert event["GEO"].latitude == pytest.approx(float(centre.latitude))
    assert event["GEO"].longitude == pytest.approx(float(centre.longitude))


def test_alarm_reminds_the_person_two_hours_before() -> None:
    appointment = book(SlotFactory())

    event = only_event(parse(appointment_ics(appointment)))

    (alarm,) = event.alarms.times
    assert alarm.trigger == appointment.slot.starts_at - dt.timedelta(hours=2)
    assert event.subcomponents[0]["ACTION"] == "DISPLAY"


def test_description_has_the_reference_and_what_to_bring_and_the_link() -> None:
    appointment = book(SlotFactory())

    event = only_event(parse(appointment_ics(appointment)))

    assert appointment.display_reference in event.description
    assert "identity document" in event.description
    assert "medicines" in event.description
    assert event.url.startswith("https://vaccination.example.org/appointments/")
    assert str(appointment.pk) in event.url


def test_entry_is_in_the_persons_language() -> None:
    appointment = book(SlotFactory(), language="es")

    event = only_event(parse(appointment_ics(appointment)))

    assert event.summary == "Vacunación COVID-19, dosis 1"
    assert "documento de identidad" in event.description
    assert "Referencia" in event.description


def test_entry_names_the_organizer_and_the_person_so_mail_clients_accept_it() -> None:
    appointment = book(SlotFactory())

    event = only_event(parse(appointment_ics(appointment)))

    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert str(event["ATTENDEE"]) == f"mailto:{appointment.person.user.email}"


# --- the file to download --------------------------------------------------------------------


def test_the_downloaded_file_is_published_with_the_same_event_and_no_attendee() -> None:
    appointment = book(SlotFactory())

    published = parse(published_ics(appointment))

    assert published["METHOD"] == "PUBLISH"
    event = only_event(published)
    assert event.uid == f"{appointment.reference}@vaxbook"
    assert event["STATUS"] == "CONFIRMED"
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert "ATTENDEE" not in event


def test_a_cancelled_appointments_downloaded_file_says_cancelled() -> None:
    slot = SlotFactory()
    appointment = book(slot)
    with time_machine.travel(slot.starts_at - dt.timedelta(days=1), tick=False):
        cancelled = services.cancel_appointment(
            person=appointment.person, appointment_id=appointment.pk
        )

    published = parse(published_ics(cancelled))

    assert published["METHOD"] == "PUBLISH"
    assert only_event(published)["STATUS"] == "CANCELLED"
