"""Vaccinators record the dose given to a checked-in person: the appointment's vaccine, the
lot number, the injection site and the time; the appointment becomes vaccinated and the
"vaccinated" message is on its way."""

import datetime as dt

import pytest
import time_machine

from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.helpers import CANARY, DAY, book
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.errors import InvalidRecord
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.centres.models import Centre
from vaxbook.notifications.events import Event
from vaxbook.notifications.models import Message

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0, second: int = 0, *, day: dt.date = DAY) -> dt.datetime:
    # In the Canaries: UTC+1 in July, while the server runs in UTC.
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=CANARY)


@pytest.fixture(autouse=True)
def during_the_appointment():
    with time_machine.travel(at(10, 5), tick=False) as traveller:
        yield traveller


@pytest.fixture
def centre() -> Centre:
    return CentreFactory(time_zone="Atlantic/Canary")


@pytest.fixture
def appointment(centre) -> Appointment:
    """Booked two days ahead for 10:00; checked in at 10:03:27."""
    booked = book(SlotFactory(centre=centre, starts_at=at(10)), full_name="Ada Lovelace")
    with time_machine.travel(at(10, 3, 27), tick=False):
        return services.check_in(
            appointment_id=booked.pk, staff=staff_at(centre, StaffRole.RECEPTIONIST)
        )


def dose_url(appointment: Appointment, centre: Centre | None = None) -> str:
    centre_id = centre.pk if centre else appointment.slot.centre_id
    return f"/staff/centres/{centre_id}/appointments/{appointment.pk}/vaccination/"


GOOD = {"lot_number": " ew0150 ", "injection_site": "left_arm", "administered_at": ""}


def test_the_form_shows_the_appointments_vaccine_and_now_in_centre_time(
    appointment, vaccinator
) -> None:
    response = verified_client(vaccinator).get(dose_url(appointment))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ada Lovelace" in html
    assert f"{appointment.slot.vaccine.name}, dose 1" in html
    assert 'value="2027-07-15T10:05"' in html  # 09:05 UTC
    for site in ("Left arm", "Right arm", "Left thigh", "Right thigh", "Other"):
        assert site in html


def test_recording_the_dose(appointment, vaccinator) -> None:
    client = verified_client(vaccinator, address="192.0.2.10")

    response = client.post(dose_url(appointment), GOOD, follow=True)

    assert response.redirect_chain == [
        (f"/staff/centres/{appointment.slot.centre_id}/day/?date=2027-07-15", 302)
    ]
    assert "Dose recorded for Ada Lovelace." in response.content.decode()
    record = VaccinationRecord.objects.get(appointment=appointment)
    assert record.vaccine == appointment.slot.vaccine
    assert record.lot_number == "ew0150"
    assert record.injection_site == "left_arm"
    assert record.administered_at == at(10, 5)
    assert record.administered_by == vaccinator
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.VACCINATED
    assert appointment.vaccinated_at == at(10, 5)
    assert Message.objects.filter(appointment=appointment, event=Event.VACCINATED).exists()
    event = AuditEvent.objects.get(action=AuditAction.VACCINATION)
    assert (event.actor, event.appointment_id, event.outcome, event.client_address) == (
        vaccinator,
        appointment.pk,
        "vaccinated",
        "192.0.2.10",
    )
    assert event.detail["lot_number"] == "ew0150"


def test_an_earlier_time_is_read_in_the_centres_zone(appointment, vaccinator) -> None:
    verified_client(vaccinator).post(
        dose_url(appointment), {**GOOD, "administered_at": "2027-07-15T10:04"}
    )

    record = VaccinationRecord.objects.get(appointment=appointment)
    assert record.administered_at == at(10, 4)
    assert record.administered_at == dt.datetime(2027, 7, 15, 9, 4, tzinfo=dt.UTC)


def test_the_minute_of_the_check_in_is_accepted(appointment, vaccinator) -> None:
    # Checked in at 10:03:27; the form has minutes only.
    response = verified_client(vaccinator).post(
        dose_url(appointment), {**GOOD, "administered_at": "2027-07-15T10:03"}
    )

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lot_number": ""}, "Enter the lot number printed on the vial."),
        ({"lot_number": "   "}, "Enter the lot number printed on the vial."),
        ({"lot_number": "X" * 65}, "at most 64 characters"),
        ({"injection_site": ""}, "Choose where the dose was injected."),
        ({"injection_site": "left_ear"}, "Choose where the dose was injected."),
        ({"administered_at": "2027-07-15T10:06"}, "cannot be in the future"),
        ({"administered_at": "2027-07-15T10:02"}, "before the person was checked in"),
        ({"administered_at": "2027-07-14T23:00"}, "before the person was checked in"),
        ({"administered_at": "yesterday"}, "Enter a real date and time"),
        ({"administered_at": "2027-02-30T10:00"}, "Enter a real date and time"),
    ],
)
def test_bad_input_is_a_400_with_a_message_and_records_nothing(
    appointment, vaccinator, change, message
) -> None:
    response = verified_client(vaccinator).post(dose_url(appointment), {**GOOD, **change})

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "There is a problem" in html
    assert not VaccinationRecord.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.VACCINATION).exists()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_a_person_not_checked_in_gets_no_form(centre, vaccinator) -> None:
    booked = book(SlotFactory(centre=centre, starts_at=at(11)))
    client = verified_client(vaccinator)

    get = client.get(dose_url(booked))
    post = client.post(dose_url(booked), GOOD)

    assert get.status_code == 200
    assert "not checked in yet" in get.content.decode()
    assert 'name="lot_number"' not in get.content.decode()
    assert post.status_code == 409
    assert not VaccinationRecord.objects.exists()


def test_a_dose_is_recorded_once(appointment, vaccinator) -> None:
    client = verified_client(vaccinator)
    colleague = verified_client(staff_at(appointment.slot.centre, StaffRole.VACCINATOR))

    first = client.post(dose_url(appointment), GOOD)
    second = colleague.post(dose_url(appointment), {**GOOD, "lot_number": "OTHER"})

    assert first.status_code == 302
    assert second.status_code == 409
    assert "already been recorded" in second.content.decode()
    assert list(VaccinationRecord.objects.values_list("lot_number", flat=True)) == [
        "EW0150".lower()
    ]


@pytest.mark.parametrize(
    ("role", "status"),
    [(StaffRole.RECEPTIONIST, 404), (StaffRole.VACCINATOR, 200), (StaffRole.MANAGER, 200)],
)
def test_who_may_record_a_dose(appointment, role, status) -> None:
    client = verified_client(staff_at(appointment.slot.centre, role))

    assert client.get(dose_url(appointment)).status_code == status
    post = client.post(dose_url(appointment), GOOD)

    assert post.status_code == (302 if status == 200 else 404)
    assert VaccinationRecord.objects.exists() is (status == 200)


def test_a_vaccinator_of_another_centre_gets_404(appointment) -> None:
    other_centre = CentreFactory()
    client = verified_client(staff_at(other_centre, StaffRole.VACCINATOR))

    # Through the appointment's centre (not theirs) and through their own centre.
    assert client.get(dose_url(appointment)).status_code == 404
    assert client.get(dose_url(appointment, other_centre)).status_code == 404
    assert client.post(dose_url(appointment, other_centre), GOOD).status_code == 404
    assert not VaccinationRecord.objects.exists()


def test_an_unknown_appointment_is_404(centre, vaccinator) -> None:
    url = (
        f"/staff/centres/{centre.pk}/appointments/00000000-0000-4000-8000-000000000000/vaccination/"
    )

    assert verified_client(vaccinator).get(url).status_code == 404


def test_the_check_in_result_links_to_the_dose_for_vaccinators(centre, vaccinator) -> None:
    booked = book(SlotFactory(centre=centre, starts_at=at(11)))
    check_in = f"/staff/centres/{centre.pk}/check-in/"

    html = verified_client(vaccinator).post(check_in, {"presented": booked.reference})

    assert dose_url(booked) in html.content.decode()


def test_the_check_in_result_offers_no_dose_link_to_receptionists(centre) -> None:
    booked = book(SlotFactory(centre=centre, starts_at=at(11)))
    receptionist = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))

    html = receptionist.post(
        f"/staff/centres/{centre.pk}/check-in/", {"presented": booked.reference}
    )

    assert html.status_code == 200
    assert "/vaccination/" not in html.content.decode()


# --- the service's own checks (the API calls it too) ----------------------------------------


def test_the_service_refuses_an_unknown_injection_site(appointment, vaccinator) -> None:
    with pytest.raises(InvalidRecord):
        services.record_vaccination(
            appointment_id=appointment.pk,
            staff=vaccinator,
            lot_number="EW0150",
            injection_site="left_ear",
        )

    assert not VaccinationRecord.objects.exists()


def test_the_service_leaves_the_site_blank_when_not_given(appointment, vaccinator) -> None:
    record = services.record_vaccination(
        appointment_id=appointment.pk, staff=vaccinator, lot_number="EW0150"
    )

    assert record.injection_site == ""
    assert record.administered_at == at(10, 5)


def test_the_service_refuses_a_naive_time(appointment, vaccinator) -> None:
    with pytest.raises(ValueError, match="aware"):
        services.record_vaccination(
            appointment_id=appointment.pk,
            staff=vaccinator,
            lot_number="EW0150",
            administered_at=dt.datetime(2027, 7, 15, 10, 4),  # noqa: DTZ001 (the point)
        )
