"""Every validation attempt, check-in, no-show and dose recorded leaves one audit row with
who, where, what came of it, when and from which address; a change that fails leaves none
of its own."""

import pytest
import time_machine

from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.helpers import at, book
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.errors import InvalidTransition, NotPermitted
from vaxbook.bookings.models import Appointment
from vaxbook.checkin.validation import Outcome, check_in_with, validate

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.9"


@pytest.fixture(autouse=True)
def on_the_day():
    with time_machine.travel(at(9, 58), tick=False):
        yield


@pytest.fixture
def appointment(centre) -> Appointment:
    return book(SlotFactory(centre=centre, starts_at=at(10)))


def rows(action: AuditAction) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action=action)
        .order_by("id")
        .values_list("actor", "centre", "appointment_id", "outcome", "client_address")
    )


def test_each_validation_attempt_is_one_row_with_its_outcome(
    centre, appointment, receptionist
) -> None:
    validate(
        staff=receptionist,
        centre_id=centre.pk,
        reference=appointment.reference,
        client_address=ADDRESS,
    )
    validate(staff=receptionist, centre_id=centre.pk, reference="ABC-DEF-GH2")
    validate(staff=receptionist, centre_id=centre.pk, token="not.a.token")

    assert rows(AuditAction.VALIDATION) == [
        (receptionist.pk, centre.pk, appointment.pk, "valid", ADDRESS),
        (receptionist.pk, centre.pk, None, "unknown_reference", None),
        (receptionist.pk, centre.pk, None, "invalid_signature", None),
    ]
    assert [e.detail for e in AuditEvent.objects.order_by("id")] == [
        {"presented": "reference"},
        {"presented": "reference"},
        {"presented": "token"},
    ]
    assert not AuditEvent.objects.exclude(action=AuditAction.VALIDATION).exists()


def test_a_validation_at_a_centre_the_staff_member_does_not_belong_to(appointment) -> None:
    outsider = staff_at(CentreFactory(), StaffRole.MANAGER)
    centre_id = appointment.slot.centre_id

    with pytest.raises(NotPermitted):
        validate(
            staff=outsider,
            centre_id=centre_id,
            reference=appointment.reference,
            client_address=ADDRESS,
        )

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.centre, event.outcome, event.client_address) == (
        AuditAction.VALIDATION,
        outsider,
        None,  # not filed under a centre the outsider named
        "not_permitted",
        ADDRESS,
    )
    assert event.detail["centre_id"] == centre_id


def test_a_check_in_is_one_row_not_a_validation_and_a_check_in(
    centre, appointment, receptionist
) -> None:
    check_in_with(
        staff=receptionist,
        centre_id=centre.pk,
        reference=appointment.reference,
        client_address=ADDRESS,
    )

    assert rows(AuditAction.CHECK_IN) == [
        (receptionist.pk, centre.pk, appointment.pk, "checked_in", ADDRESS)
    ]
    assert AuditEvent.objects.count() == 1


def test_a_check_in_that_does_not_happen_is_one_row_with_the_reason(
    centre, appointment, receptionist
) -> None:
    check_in_with(staff=receptionist, centre_id=centre.pk, reference=appointment.reference)
    check_in_with(
        staff=receptionist,
        centre_id=centre.pk,
        reference=appointment.reference,
        client_address=ADDRESS,
    )

    assert [row[3:] for row in rows(AuditAction.CHECK_IN)] == [
        ("checked_in", None),
        (Outcome.ALREADY_CHECKED_IN.value, ADDRESS),
    ]


def test_a_no_show_and_a_refused_one(centre, appointment) -> None:
    manager = staff_at(centre, StaffRole.MANAGER)
    with pytest.raises(InvalidTransition):  # 09:58: the 10:00 appointment has not come yet
        services.mark_no_show(appointment_id=appointment.pk, staff=manager, client_address=ADDRESS)
    assert rows(AuditAction.NO_SHOW) == []

    with time_machine.travel(at(10, 30), tick=False):
        services.mark_no_show(appointment_id=appointment.pk, staff=manager, client_address=ADDRESS)

    assert rows(AuditAction.NO_SHOW) == [
        (manager.pk, centre.pk, appointment.pk, "no_show", ADDRESS)
    ]


def test_a_vaccination_and_a_refused_one(centre, appointment) -> None:
    vaccinator = staff_at(centre, StaffRole.VACCINATOR)
    with pytest.raises(InvalidTransition):  # not checked in
        services.record_vaccination(
            appointment_id=appointment.pk, staff=vaccinator, lot_number="EW0150"
        )
    assert rows(AuditAction.VACCINATION) == []

    services.check_in(appointment_id=appointment.pk, staff=vaccinator)
    services.record_vaccination(
        appointment_id=appointment.pk,
        staff=vaccinator,
        lot_number="EW0150",
        injection_site="right_arm",
        client_address="2001:db8::7",
    )

    assert rows(AuditAction.VACCINATION) == [
        (vaccinator.pk, centre.pk, appointment.pk, "vaccinated", "2001:db8::7")
    ]
    assert AuditEvent.objects.get(action=AuditAction.VACCINATION).detail == {
        "vaccine_id": appointment.slot.vaccine_id,
        "lot_number": "EW0150",
        "injection_site": "right_arm",
        "administered_at": "2027-07-15T07:58:00+00:00",  # UTC, as stored
    }


def test_the_pages_record_the_clients_address(centre, appointment, receptionist) -> None:
    desk = verified_client(receptionist, address="198.51.100.23")

    desk.post(f"/staff/centres/{centre.pk}/validate/", {"presented": appointment.reference})
    desk.post(f"/staff/centres/{centre.pk}/check-in/", {"presented": appointment.reference})

    assert [(e.action, e.outcome, e.client_address) for e in AuditEvent.objects.order_by("id")] == [
        (AuditAction.VALIDATION, "valid", "198.51.100.23"),
        (AuditAction.CHECK_IN, "checked_in", "198.51.100.23"),
    ]


def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(
    centre, appointment, receptionist, settings
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    desk = verified_client(receptionist, address="10.0.0.2")

    desk.post(
        f"/staff/centres/{centre.pk}/validate/",
        {"presented": appointment.reference},
        headers={"x-forwarded-for": "192.0.2.200"},
    )

    assert AuditEvent.objects.get().client_address == "192.0.2.200"
