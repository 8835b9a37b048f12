import datetime as dt
import json
import uuid
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from joserfc import jws
from joserfc.jwk import ECKey

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, UserFactory, staff_at
from tests.helpers import CANARY, DAY, at, book
from vaxbook.accounts.models import StaffRole
from vaxbook.bookings import references, services
from vaxbook.bookings.errors import NotPermitted
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, Slot
from vaxbook.checkin.validation import Outcome, Validation, check_in_with, validate
from vaxbook.credentials import keys
from vaxbook.credentials.tokens import TOKEN_TYPE, issue_token

pytestmark = pytest.mark.django_db

Presented = dict[str, str]


def confirmation(appointment: Appointment) -> str:
    """The token the person received when booking."""
    return issue_token(appointment, now=appointment.created_at)


def database_state() -> tuple[list[tuple], list[tuple]]:
    appointments = list(
        Appointment.objects.order_by("pk").values_list(
            "pk", "slot_id", "status", "checked_in_at", "checked_in_by", "vaccinated_at"
        )
    )
    slots = list(Slot.objects.order_by("pk").values_list("pk", "booked"))
    return appointments, slots


def outcome_at(moment: dt.datetime, *, staff, centre: Centre, **presented: str) -> Validation:
    """validate() at `moment`, checking that it changed nothing and took at most 2 queries."""
    before = database_state()
    with time_machine.travel(moment, tick=False):
        validation = validate(staff=staff, centre_id=centre.pk, **presented)
    assert database_state() == before
    return validation


@pytest.fixture
def slot(centre) -> Slot:
    return SlotFactory(centre=centre, starts_at=at(10))


@pytest.fixture
def appointment(slot) -> Appointment:
    return book(slot, full_name="Ada Lovelace", date_of_birth=dt.date(1961, 2, 28))


@pytest.fixture(params=["token", "typed reference"])
def present(request) -> Callable[[Appointment], Presented]:
    """How staff present an appointment: its scanned token or its reference typed by hand,
    in lower case with hyphens."""

    def presented(appointment: Appointment) -> Presented:
        if request.param == "token":
            return {"token": confirmation(appointment)}
        return {"reference": appointment.display_reference.lower()}

    return presented


# --- every outcome, by token and by typed reference ---------------------------------------


def test_a_booked_appointment_for_today_here_is_valid(
    appointment, receptionist, centre, present
) -> None:
    validation = outcome_at(at(9), staff=receptionist, centre=centre, **present(appointment))

    assert validation.outcome == Outcome.VALID
    assert validation.is_valid
    assert validation.appointment == appointment
    assert validation.appointment is not None
    assert validation.appointment.person.full_name == "Ada Lovelace"
    assert validation.appointment.person.date_of_birth == dt.date(1961, 2, 28)
    assert validation.checked_in_at is None
    assert validation.checked_in_by is None


def test_the_whole_local_day_is_valid_not_only_the_slots_time(
    appointment, receptionist, centre, present
) -> None:
    for moment in (at(0, 0), at(23, 59)):
        validation = outcome_at(moment, staff=receptionist, centre=centre, **present(appointment))
        assert validation.outcome == Outcome.VALID


def test_a_cancelled_appointment_is_cancelled(appointment, receptionist, centre, present) -> None:
    presented = present(appointment)  # before the cancellation: a perfectly valid token
    with time_machine.travel(at(8)):
        services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)

    validation = outcome_at(at(9), staff=receptionist, centre=centre, **presented)

    assert validation.outcome == Outcome.CANCELLED
    assert validation.appointment == appointment


def test_an_appointment_at_another_centre_is_wrong_centre(appointment, present) -> None:
    elsewhere = CentreFactory()

    validation = outcome_at(
        at(9),
        staff=staff_at(elsewhere, StaffRole.RECEPTIONIST),
        centre=elsewhere,
        **present(appointment),
    )

    assert validation.outcome == Outcome.WRONG_CENTRE
    assert validation.appointment == appointment


def test_a_vaccinated_appointment_is_already_vaccinated(
    appointment, receptionist, centre, present
) -> None:
    nurse = staff_at(centre, StaffRole.VACCINATOR)
    with time_machine.travel(at(10)):
        services.check_in(appointment_id=appointment.pk, staff=nurse)
        services.record_vaccination(appointment_id=appointment.pk, staff=nurse, lot_number="FA1")

    validation = outcome_at(at(11), staff=receptionist, centre=centre, **present(appointment))

    assert validation.outcome == Outcome.ALREADY_VACCINATED


def test_already_checked_in_says_when_and_by_whom(
    appointment, receptionist, centre, present
) -> None:
    nurse = staff_at(centre, StaffRole.VACCINATOR)
    with time_machine.travel(at(9, 55), tick=False):
        services.check_in(appointment_id=appointment.pk, staff=nurse)

    validation = outcome_at(at(10), staff=receptionist, centre=centre, **present(appointment))

    assert validation.outcome == Outcome.ALREADY_CHECKED_IN
    assert validation.checked_in_at == at(9, 55)
    assert validation.checked_in_by == nurse


def test_an_appointment_on_a_later_day_is_too_early(
    appointment, receptionist, centre, present
) -> None:
    validation = outcome_at(
        at(10, day=DAY - dt.timedelta(days=1)),
        staff=receptionist,
        centre=centre,
        **present(appointment),
    )

    assert validation.outcome == Outcome.TOO_EARLY
    assert validation.appointment == appointment


def test_an_appointment_on_an_earlier_day_is_expired(
    appointment, receptionist, centre, present
) -> None:
    # At noon the next day the token itself has expired too (end of day plus 6 hours):
    # it is still genuine, so the appointment is found and reported as expired.
    for moment in (
        at(0, 30, day=DAY + dt.timedelta(days=1)),
        at(12, day=DAY + dt.timedelta(days=1)),
    ):
        validation = outcome_at(moment, staff=receptionist, centre=centre, **present(appointment))
        assert validation.outcome == Outcome.EXPIRED
        assert validation.appointment == appointment


def test_a_no_show_is_expired_even_on_its_day(appointment, receptionist, centre, present) -> None:
    manager = staff_at(centre, StaffRole.MANAGER)
    with time_machine.travel(at(12)):
        services.mark_no_show(appointment_id=appointment.pk, staff=manager)

    validation = outcome_at(at(13), staff=receptionist, centre=centre, **present(appointment))

    assert validation.outcome == Outcome.EXPIRED


# --- invalid signatures ---------------------------------------------------------------------


def test_a_tampered_token_has_an_invalid_signature(appointment, receptionist, centre) -> None:
    header, payload, signature = confirmation(appointment).split(".")
    flipped = "A" if signature[40] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:40]}{flipped}{signature[41:]}"

    validation = outcome_at(at(9), staff=receptionist, centre=centre, token=tampered)

    assert validation == Validation(Outcome.INVALID_SIGNATURE)


def test_a_token_signed_by_a_foreign_key_has_an_invalid_signature(
    appointment, receptionist, centre
) -> None:
    foreign = ECKey.generate_key("P-256", private=True)
    claims = json.loads(jws.extract_compact(confirmation(appointment).encode()).payload)
    for kid in (foreign.thumbprint(), keys.active_kid()):
        header = {"alg": "ES256", "kid": kid, "typ": TOKEN_TYPE}
        forged = jws.serialize_compact(header, json.dumps(claims), foreign, algorithms=["ES256"])

        validation = outcome_at(at(9), staff=receptionist, centre=centre, token=forged)

        assert validation == Validation(Outcome.INVALID_SIGNATURE)


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "https://example.org/?ref=ABC-DEF-GH7", "a.b.c", "x" * 10_000, "ABCDEFGH7"],
)
def test_garbage_in_the_qr_code_has_an_invalid_signature(receptionist, centre, garbage) -> None:
    validation = outcome_at(at(9), staff=receptionist, centre=centre, token=garbage)

    assert validation == Validation(Outcome.INVALID_SIGNATURE)


# --- unknown references -----------------------------------------------------------------------


def test_a_reference_with_a_typo_is_unknown_without_any_lookup(
    appointment, receptionist, centre
) -> None:
    reference = appointment.reference
    wrong = references.ALPHABET[(references.ALPHABET.index(reference[3]) + 1) % 31]
    typo = reference[:3] + wrong + reference[4:]
    swapped = reference[0] + reference[2] + reference[1] + reference[3:]
    candidates = [typo, references.display(typo).lower()]
    if swapped != reference:
        candidates.append(swapped)

    for typed in candidates:
        with time_machine.travel(at(9)), CaptureQueriesContext(connection) as queries:
            validation = validate(staff=receptionist, centre_id=centre.pk, reference=typed)
        assert validation == Validation(Outcome.UNKNOWN_REFERENCE)
        # The membership is read and the attempt audited; no appointment is looked up.
        assert len(queries) == 2
        assert not [q for q in queries if Appointment._meta.db_table in q["sql"]]


@pytest.mark.parametrize("garbage", ["", "ABC", "0O1IL0O1I", "x" * 10_000, "ABC-DEF-GH7-XYZ"])
def test_a_typed_reference_that_is_not_one_is_unknown(receptionist, centre, garbage) -> None:
    validation = outcome_at(at(9), staff=receptionist, centre=centre, reference=garbage)

    assert validation == Validation(Outcome.UNKNOWN_REFERENCE)


def test_a_well_formed_reference_nobody_holds_is_unknown(appointment, receptionist, centre) -> None:
    nobodys = references.new_reference()
    assert nobodys != appointment.reference

    validation = outcome_at(
        at(9), staff=receptionist, centre=centre, reference=references.display(nobodys)
    )

    assert validation == Validation(Outcome.UNKNOWN_REFERENCE)


@pytest.mark.parametrize("change", ["aid", "ref"])
def test_a_genuine_token_naming_no_appointment_is_unknown(
    appointment, receptionist, centre, change
) -> None:
    # Signed by our own key: only the pair (id, reference) does not name an appointment.
    claims = json.loads(jws.extract_compact(confirmation(appointment).encode()).payload)
    if change == "aid":
        claims["aid"] = str(uuid.uuid4())
    else:
        claims["ref"] = book(SlotFactory(starts_at=at(11))).reference
    token = keys.sign(json.dumps(claims).encode(), typ=TOKEN_TYPE)

    validation = outcome_at(at(9), staff=receptionist, centre=centre, token=token)

    assert validation == Validation(Outcome.UNKNOWN_REFERENCE)


# --- the database, not the token, decides ---------------------------------------------------


def test_a_rescheduled_appointment_is_judged_by_its_current_slot_not_its_old_token(
    appointment, receptionist, centre
) -> None:
    old_token = confirmation(appointment)
    three_days_later = SlotFactory(
        centre=centre, vaccine=appointment.slot.vaccine, starts_at=at(10, day=DAY + dt.timedelta(3))
    )
    with time_machine.travel(at(8)):
        services.reschedule_appointment(
            person=appointment.person,
            appointment_id=appointment.pk,
            new_slot_id=three_days_later.pk,
        )

    on_the_old_day = outcome_at(at(10), staff=receptionist, centre=centre, token=old_token)
    on_the_new_day = outcome_at(
        at(10, day=DAY + dt.timedelta(3)), staff=receptionist, centre=centre, token=old_token
    )

    assert on_the_old_day.outcome == Outcome.TOO_EARLY
    # The old token has expired by then; it still finds the appointment, which is valid.
    assert on_the_new_day.outcome == Outcome.VALID


def test_an_appointment_moved_to_another_centre_is_wrong_centre_at_the_old_one(
    appointment, receptionist, centre
) -> None:
    old_token = confirmation(appointment)
    other = SlotFactory(vaccine=appointment.slot.vaccine, starts_at=at(12))
    with time_machine.travel(at(8)):
        services.reschedule_appointment(
            person=appointment.person, appointment_id=appointment.pk, new_slot_id=other.pk
        )

    here = outcome_at(at(12), staff=receptionist, centre=centre, token=old_token)
    there = outcome_at(
        at(12),
        staff=staff_at(other.centre, StaffRole.RECEPTIONIST),
        centre=other.centre,
        token=old_token,
    )

    assert here.outcome == Outcome.WRONG_CENTRE
    assert there.outcome == Outcome.VALID


# --- the order of the outcomes -----------------------------------------------------------------


def test_cancelled_comes_before_wrong_centre_and_the_day(appointment) -> None:
    elsewhere = CentreFactory()
    with time_machine.travel(at(8)):
        services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)

    validation = outcome_at(
        at(9, day=DAY + dt.timedelta(days=5)),
        staff=staff_at(elsewhere),
        centre=elsewhere,
        reference=appointment.reference,
    )

    assert validation.outcome == Outcome.CANCELLED


def test_wrong_centre_comes_before_the_status_and_the_day(appointment, centre) -> None:
    elsewhere = CentreFactory()
    with time_machine.travel(at(9)):
        services.check_in(appointment_id=appointment.pk, staff=staff_at(centre))

    for day in (DAY, DAY + dt.timedelta(days=1)):
        validation = outcome_at(
            at(9, day=day),
            staff=staff_at(elsewhere),
            centre=elsewhere,
            reference=appointment.reference,
        )
        assert validation.outcome == Outcome.WRONG_CENTRE


def test_already_checked_in_comes_before_expired(appointment, receptionist, centre) -> None:
    with time_machine.travel(at(9)):
        services.check_in(appointment_id=appointment.pk, staff=receptionist)

    validation = outcome_at(
        at(9, day=DAY + dt.timedelta(days=1)),
        staff=receptionist,
        centre=centre,
        reference=appointment.reference,
    )

    assert validation.outcome == Outcome.ALREADY_CHECKED_IN


# --- the centre's local day -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 23:30 on the 14th in the Canaries, already the 15th in Madrid.
        (dt.datetime(2027, 7, 14, 22, 30, tzinfo=dt.UTC), Outcome.TOO_EARLY),
        # 00:30 on the 15th in the Canaries, still the 14th for the server (UTC).
        (dt.datetime(2027, 7, 14, 23, 30, tzinfo=dt.UTC), Outcome.VALID),
        # 23:59 on the 15th in the Canaries, already the 16th in Madrid.
        (dt.datetime(2027, 7, 15, 22, 59, tzinfo=dt.UTC), Outcome.VALID),
        # 00:30 on the 16th in the Canaries, still the 15th for the server; the token still
        # verifies (grace period), the day is over.
        (dt.datetime(2027, 7, 15, 23, 30, tzinfo=dt.UTC), Outcome.EXPIRED),
    ],
)
def test_the_day_is_the_centres_local_day(moment, expected, present) -> None:
    canary = CentreFactory(town="Las Palmas de Gran Canaria", time_zone="Atlantic/Canary")
    appointment = book(SlotFactory(centre=canary, starts_at=at(10, zone=CANARY)))

    validation = outcome_at(
        moment,
        staff=staff_at(canary, StaffRole.RECEPTIONIST),
        centre=canary,
        **present(appointment),
    )

    assert validation.outcome == expected


# --- who may validate -------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(StaffRole))
def test_every_role_at_the_centre_may_validate(appointment, centre, role) -> None:
    validation = outcome_at(
        at(9), staff=staff_at(centre, role), centre=centre, reference=appointment.reference
    )

    assert validation.outcome == Outcome.VALID


def test_staff_of_another_centre_may_not_validate_for_this_one(appointment, centre) -> None:
    elsewhere = staff_at(CentreFactory(), StaffRole.MANAGER)
    before = database_state()

    with time_machine.travel(at(9)):
        for call in (validate, check_in_with):
            with pytest.raises(NotPermitted):
                call(staff=elsewhere, centre_id=centre.pk, token=confirmation(appointment))
            with pytest.raises(NotPermitted):
                call(staff=elsewhere, centre_id=centre.pk, reference=appointment.reference)

    assert database_state() == before


def test_a_citizen_may_not_validate(appointment, centre) -> None:
    with time_machine.travel(at(9)), pytest.raises(NotPermitted):
        validate(staff=appointment.person.user, centre_id=centre.pk, reference="ABC-DEF-GH7")


def test_an_administrator_may_validate_anywhere(appointment, centre) -> None:
    admin = UserFactory(is_superuser=True)

    validation = outcome_at(at(9), staff=admin, centre=centre, reference=appointment.reference)

    assert validation.outcome == Outcome.VALID


@pytest.mark.parametrize(
    "presented", [{}, {"token": "a.b.c", "reference": "ABC-DEF-GH7"}, {"token": None}]
)
def test_exactly_one_of_token_and_reference_is_given(receptionist, centre, presented) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        validate(staff=receptionist, centre_id=centre.pk, **presented)


def test_validation_reads_in_two_queries_and_writes_its_audit_row(
    appointment, receptionist, centre, present, django_assert_max_num_queries
) -> None:
    presented = present(appointment)
    with time_machine.travel(at(9)), django_assert_max_num_queries(3):
        validation = validate(staff=receptionist, centre_id=centre.pk, **presented)
        # Everything a page shows is loaded already.
        assert validation.appointment is not None
        assert validation.appointment.slot.centre.name
        assert validation.appointment.slot.vaccine.name
        assert validation.appointment.person.full_name
        assert validation.appointment.checked_in_by is None


# --- checking in --------------------------------------------------------------------------------


def test_check_in_with_checks_a_valid_appointment_in_once(
    appointment, receptionist, centre, present
) -> None:
    presented = present(appointment)
    with time_machine.travel(at(9, 50), tick=False):
        first = check_in_with(staff=receptionist, centre_id=centre.pk, **presented)
    other = staff_at(centre, StaffRole.VACCINATOR)
    with time_machine.travel(at(9, 55), tick=False):
        second = check_in_with(staff=other, centre_id=centre.pk, **presented)

    assert first.outcome == Outcome.VALID
    assert first.appointment is not None
    assert first.appointment.status == AppointmentStatus.CHECKED_IN
    assert (first.checked_in_at, first.checked_in_by) == (at(9, 50), receptionist)
    assert second.outcome == Outcome.ALREADY_CHECKED_IN
    assert (second.checked_in_at, second.checked_in_by) == (at(9, 50), receptionist)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_by == receptionist
    assert appointment.checked_in_at == at(9, 50)


@pytest.mark.parametrize("day_offset", [-1, 1])
def test_check_in_with_writes_nothing_unless_valid(
    appointment, receptionist, centre, day_offset
) -> None:
    before = database_state()
    with time_machine.travel(at(9, day=DAY + dt.timedelta(days=day_offset))):
        validation = check_in_with(
            staff=receptionist, centre_id=centre.pk, reference=appointment.reference
        )

    assert validation.outcome in {Outcome.TOO_EARLY, Outcome.EXPIRED}
    assert database_state() == before


def test_check_in_with_loses_a_race_as_already_checked_in_by_the_winner(
    appointment, receptionist, centre, monkeypatch
) -> None:
    winner = staff_at(centre, StaffRole.VACCINATOR)
    real_check_in = services.check_in

    def someone_was_faster(*, appointment_id, staff, slot_id, client_address):
        # Between our validation and our check-in, a colleague checks the person in.
        real_check_in(appointment_id=appointment_id, staff=winner)
        return real_check_in(
            appointment_id=appointment_id,
            staff=staff,
            slot_id=slot_id,
            client_address=client_address,
        )

    monkeypatch.setattr(services, "check_in", someone_was_faster)
    with time_machine.travel(at(9, 58), tick=False):
        validation = check_in_with(
            staff=receptionist, centre_id=centre.pk, reference=appointment.reference
        )

    assert validation.outcome == Outcome.ALREADY_CHECKED_IN
    assert validation.checked_in_by == winner
    appointment.refresh_from_db()
    assert appointment.checked_in_by == winner


def test_an_appointment_moved_between_validation_and_check_in_is_not_checked_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slot = SlotFactory()
    person = CitizenFactory()
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    later = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(days=3))
    receptionist = staff_at(slot.centre, StaffRole.RECEPTIONIST)
    real_check_in = services.check_in

    def move_first(**kwargs: object) -> object:
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=later.pk
        )
        return real_check_in(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "check_in", move_first)
    with time_machine.travel(slot.starts_at - dt.timedelta(minutes=30)):
        result = check_in_with(
            staff=receptionist, centre_id=slot.centre_id, reference=appointment.reference
        )

    assert result.outcome == Outcome.TOO_EARLY
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED
