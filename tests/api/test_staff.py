"""Staff on the day through the API: validate, check in, record the dose."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api, token_for
from tests.factories import CentreFactory, StaffMembershipFactory, staff_at
from vaxbook.accounts.models import StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import references
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.centres.models import Centre
from vaxbook.credentials.tokens import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tokens_outlive_the_travel_to_the_appointment_day(settings) -> None:
    settings.API_TOKEN_LIFETIME_SECONDS = 3 * 24 * 3600


@pytest.fixture
def on_the_day(appointment: Appointment):
    """Half an hour before the appointment, on its day at the centre."""
    with time_machine.travel(appointment.slot.starts_at - dt.timedelta(minutes=30)):
        yield


@pytest.fixture
def token(appointment: Appointment) -> str:
    return issue_token(appointment)


def to_ms(moment: dt.datetime | None) -> dt.datetime:
    """As JSON carries it: to the millisecond."""
    assert moment is not None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def status_of(appointment: Appointment) -> str:
    appointment.refresh_from_db()
    return appointment.status


# --- validations -------------------------------------------------------------------------


def test_a_valid_confirmation(staff: Api, appointment, token, centre, on_the_day) -> None:
    response = staff.post("/validations", {"token": token})

    assert response.status == 200
    body = response.body
    assert body["outcome"] == "valid"
    assert body["appointment"]["id"] == str(appointment.pk)
    assert body["appointment"]["reference"] == appointment.reference
    assert body["appointment"]["centre"]["id"] == centre.pk
    assert body["appointment"]["holder"] == {
        "full_name": "Ada Lovelace",
        "date_of_birth": "1980-06-15",
    }
    assert body["checked_in_at"] is None
    assert body["checked_in_by"] is None
    assert status_of(appointment) == AppointmentStatus.BOOKED  # validation changes nothing


def test_a_typed_reference_in_any_spacing_and_case(staff: Api, appointment, on_the_day) -> None:
    typed = references.display(appointment.reference).lower().replace("-", " ")

    response = staff.post("/validations", {"reference": typed})

    assert response.body["outcome"] == "valid"


@pytest.mark.parametrize(
    ("presented", "outcome"),
    [
        ({"token": "eyJhbGciOiJub25lIn0.e30."}, "invalid_signature"),
        ({"token": "https://example.org/not-a-token"}, "invalid_signature"),
        ({"token": ""}, "invalid_signature"),
        ({"token": "x" * 4096}, "invalid_signature"),
        ({"reference": "ABC-DEF-GH2"}, "unknown_reference"),  # a typo the check catches
        ({"reference": ""}, "unknown_reference"),
    ],
)
def test_what_is_not_a_confirmation(staff: Api, presented, outcome: str) -> None:
    response = staff.post("/validations", presented)

    assert response.status == 200
    assert response.body["outcome"] == outcome
    assert response.body["appointment"] is None


def test_too_early(staff: Api, appointment, token) -> None:
    with time_machine.travel(appointment.slot.starts_at - dt.timedelta(days=1)):
        response = staff.post("/validations", {"token": token})

    assert response.body["outcome"] == "too_early"
    assert response.body["appointment"]["holder"] is None


def test_staff_of_another_centre_see_wrong_centre(
    other_staff: Api, appointment, token, on_the_day
) -> None:
    response = other_staff.post("/validations", {"token": token})

    assert response.body["outcome"] == "wrong_centre"
    assert response.body["appointment"]["holder"] is None


def test_validating_for_a_centre_one_does_not_work_at_is_403(
    other_staff: Api, appointment, token, centre, on_the_day
) -> None:
    response = other_staff.post("/validations", {"token": token, "centre_id": centre.pk})

    assert response.status == 403
    assert response.code == "not_permitted"


def test_staff_of_several_centres_name_the_centre(appointment, token, centre, on_the_day) -> None:
    nurse = staff_at(centre)
    StaffMembershipFactory(user=nurse, centre=CentreFactory())
    api = Api(token_for(nurse))

    without = api.post("/validations", {"token": token})
    with_centre = api.post("/validations", {"token": token, "centre_id": centre.pk})

    assert without.status == 422
    assert without.code == "centre_required"
    assert with_centre.body["outcome"] == "valid"


def test_an_administrator_names_the_centre(admin: Api, token, centre, on_the_day) -> None:
    without = admin.post("/validations", {"token": token})
    assert without.code == "centre_required"
    assert without.body["detail"] == "An administrator says which centre with centre_id."
    assert (
        admin.post("/validations", {"token": token, "centre_id": centre.pk}).body["outcome"]
        == "valid"
    )


@pytest.mark.parametrize("path", ["/validations", "/checkins"])
def test_an_administrator_naming_a_centre_that_does_not_exist_is_refused(
    admin: Api, appointment, token, on_the_day, path: str
) -> None:
    missing = max(Centre.objects.values_list("pk", flat=True)) + 1

    response = admin.post(path, {"token": token, "centre_id": missing})

    assert response.status == 403
    assert response.code == "not_permitted"
    appointment.refresh_from_db()
    assert appointment.checked_in_at is None
    event = AuditEvent.objects.get()
    assert (event.centre_id, event.outcome) == (None, "not_permitted")
    assert event.detail["centre_id"] == missing
    spanish = admin.post(
        path, {"token": token, "centre_id": missing}, headers={"Accept-Language": "es"}
    )
    assert spanish.body["detail"] == "No hay ningún centro con este id."


def test_citizens_cannot_validate(citizen: Api, token, centre, on_the_day) -> None:
    assert citizen.post("/validations", {"token": token}).code == "not_permitted"
    assert citizen.post("/validations", {"token": token, "centre_id": centre.pk}).code == (
        "not_permitted"
    )


@pytest.mark.parametrize(
    "presented",
    [{}, {"token": "a", "reference": "b"}, {"centre_id": 1}, {"token": None, "reference": None}],
)
def test_exactly_one_of_token_and_reference(staff: Api, presented) -> None:
    response = staff.post("/validations", presented)

    assert response.status == 422
    assert response.code == "validation_error"


def test_each_attempt_is_audited_with_the_client_address(
    staff: Api, staff_user: User, token, on_the_day
) -> None:
    staff.post("/validations", {"token": token})

    event = AuditEvent.objects.get(action=AuditAction.VALIDATION)
    assert event.actor == staff_user
    assert event.client_address == "127.0.0.1"
    assert event.outcome == "valid"


# --- check-ins ---------------------------------------------------------------------------


def test_checking_in(staff: Api, staff_user: User, appointment, token, on_the_day) -> None:
    response = staff.post("/checkins", {"token": token})

    assert response.status == 200
    assert response.body["outcome"] == "valid"
    assert response.body["checked_in_by"] == {"id": staff_user.pk, "email": staff_user.email}
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert dt.datetime.fromisoformat(response.body["checked_in_at"]) == to_ms(
        appointment.checked_in_at
    )


def test_a_second_check_in_says_when_and_by_whom(
    staff: Api, staff_user: User, appointment, token, on_the_day
) -> None:
    first = staff.post("/checkins", {"reference": appointment.reference})

    again = staff.post("/checkins", {"token": token})

    assert again.status == 200
    assert again.body["outcome"] == "already_checked_in"
    assert again.body["checked_in_at"] == first.body["checked_in_at"]
    assert again.body["checked_in_by"]["email"] == staff_user.email
    assert again.body["appointment"]["holder"]["full_name"] == "Ada Lovelace"


def test_a_check_in_that_is_not_valid_changes_nothing(staff: Api, appointment, token) -> None:
    with time_machine.travel(appointment.slot.starts_at + dt.timedelta(days=1)):
        response = staff.post("/checkins", {"token": token})

    assert response.body["outcome"] == "expired"
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_staff_of_another_centre_cannot_check_in(
    other_staff: Api, appointment, token, centre, on_the_day
) -> None:
    assert other_staff.post("/checkins", {"token": token}).body["outcome"] == "wrong_centre"
    assert other_staff.post("/checkins", {"token": token, "centre_id": centre.pk}).status == 403
    assert status_of(appointment) == AppointmentStatus.BOOKED


def test_a_check_in_reads_the_roles_of_the_staff_member_once(
    staff: Api, appointment, token, on_the_day
) -> None:
    # Which centre (none named), works there, may check in: three questions, one query.
    with CaptureQueriesContext(connection) as captured:
        response = staff.post("/checkins", {"token": token})

    assert response.body["outcome"] == "valid"
    role_reads = [q for q in captured.captured_queries if "accounts_staffmembership" in q["sql"]]
    assert len(role_reads) == 1


# --- the dose given ----------------------------------------------------------------------


@pytest.fixture
def checked_in(staff: Api, appointment: Appointment, token: str, on_the_day) -> Appointment:
    assert staff.post("/checkins", {"token": token}).body["outcome"] == "valid"
    return appointment


def test_recording_the_dose(staff: Api, staff_user: User, checked_in) -> None:
    response = staff.post(
        f"/appointments/{checked_in.pk}/vaccination",
        {"lot_number": " FF1234 ", "injection_site": "left_arm"},
    )

    assert response.status == 201
    record = VaccinationRecord.objects.get()
    assert response.body == {
        "id": record.pk,
        "appointment_id": str(checked_in.pk),
        "vaccine": {"id": checked_in.slot.vaccine_id, "name": "Comirnaty"},
        "lot_number": "FF1234",
        "injection_site": "left_arm",
        "administered_at": response.body["administered_at"],
        "administered_by": {"id": staff_user.pk, "email": staff_user.email},
    }
    assert dt.datetime.fromisoformat(response.body["administered_at"]) == to_ms(
        record.administered_at
    )
    assert status_of(checked_in) == AppointmentStatus.VACCINATED
    assert AuditEvent.objects.get(action=AuditAction.VACCINATION).client_address == "127.0.0.1"


def test_recording_the_time_it_was_given(staff: Api, checked_in) -> None:
    given = (checked_in.slot.starts_at - dt.timedelta(minutes=30)).astimezone(
        dt.timezone(dt.timedelta(hours=5))
    )

    response = staff.post(
        f"/appointments/{checked_in.pk}/vaccination",
        {"lot_number": "FF1234", "administered_at": given.isoformat()},
    )

    assert response.status == 201
    assert VaccinationRecord.objects.get().administered_at == given


def test_a_dose_before_the_check_in_is_409(staff: Api, appointment, on_the_day) -> None:
    response = staff.post(f"/appointments/{appointment.pk}/vaccination", {"lot_number": "FF1"})

    assert response.status == 409
    assert response.code == "invalid_transition"
    assert response.body["appointment_status"] == "booked"
    assert not VaccinationRecord.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"lot_number": "   "}, "invalid_record"),
        ({"lot_number": "FF1", "administered_at": "2999-01-01T10:00:00+00:00"}, "invalid_record"),
        ({"lot_number": "FF1", "administered_at": "2020-01-01T10:00:00+00:00"}, "invalid_record"),
        ({"lot_number": ""}, "validation_error"),
        ({"lot_number": "x" * 65}, "validation_error"),
        ({"lot_number": "FF1", "injection_site": "nose"}, "validation_error"),
        ({"lot_number": "FF1", "administered_at": "2021-05-17T10:00:00"}, "validation_error"),
        ({"lot_number": "FF1", "administered_at": "0001-01-01T00:00:00+14:00"}, "validation_error"),
    ],
)
def test_an_impossible_record_is_422(staff: Api, checked_in, body, code: str) -> None:
    response = staff.post(f"/appointments/{checked_in.pk}/vaccination", body)

    assert response.status == 422
    assert response.code == code
    assert status_of(checked_in) == AppointmentStatus.CHECKED_IN


def test_a_receptionist_does_not_vaccinate(checked_in, centre) -> None:
    receptionist = Api(token_for(staff_at(centre, StaffRole.RECEPTIONIST)))

    response = receptionist.post(f"/appointments/{checked_in.pk}/vaccination", {"lot_number": "F"})

    assert response.status == 403
    assert response.code == "not_permitted"
    assert status_of(checked_in) == AppointmentStatus.CHECKED_IN


def test_vaccinating_a_missing_appointment_is_404(staff: Api) -> None:
    response = staff.post(
        "/appointments/00000000-0000-4000-8000-000000000000/vaccination", {"lot_number": "F"}
    )

    assert response.status == 404
    assert response.code == "not_found"
