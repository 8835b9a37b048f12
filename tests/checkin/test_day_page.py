"""The centre's day: its appointments on the centre's local day, their counts, and finding
one person by reference or by surname and date of birth, within that centre and day only.

The centre is in the Canaries (UTC+1 in summer) and the server in UTC, so "today" differs
between the two for an hour around local midnight."""

import datetime as dt

import pytest
import time_machine

from tests import helpers
from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.helpers import CANARY, DAY
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.bookings import references, services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, Slot
from vaxbook.checkin import queries

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0, *, day: dt.date = DAY, zone=CANARY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture(autouse=True)
def a_few_days_before():
    # Sessions and bookings are made in the days before; each test travels on from there.
    with time_machine.travel(at(9, day=DAY - dt.timedelta(days=4)), tick=False):
        yield


@pytest.fixture
def centre() -> Centre:
    return CentreFactory(name="Gran Canaria Expo", town="Las Palmas", time_zone="Atlantic/Canary")


def book(slot: Slot, *, full_name: str, born: dt.date = dt.date(1961, 2, 28)) -> Appointment:
    return helpers.book(slot, days_before=3, full_name=full_name, date_of_birth=born)


@pytest.fixture
def day_of(centre):
    """Slots at 00:10 local on DAY (23:10 UTC the day before) and 23:40 (22:40 UTC), one at
    23:50 local the day before and one at 00:10 local the day after (23:10 UTC on DAY)."""
    early = SlotFactory(centre=centre, starts_at=at(0, 10))
    late = SlotFactory(centre=centre, starts_at=at(23, 40))
    day_before = SlotFactory(centre=centre, starts_at=at(23, 50, day=DAY - dt.timedelta(days=1)))
    day_after = SlotFactory(centre=centre, starts_at=at(0, 10, day=DAY + dt.timedelta(days=1)))
    return {
        "ada": book(early, full_name="Ada Lovelace"),
        "grace": book(late, full_name="Grace Brewster Hopper", born=dt.date(1906, 12, 9)),
        "maria": book(late, full_name="María García-López", born=dt.date(1980, 6, 15)),
        "cancelled": book(late, full_name="Carla Cancelada"),
        "before": book(day_before, full_name="Bea Before"),
        "after": book(day_after, full_name="Alan After"),
    }


def day_url(centre: Centre, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/staff/centres/{centre.pk}/day/" + (f"?{query}" if query else "")


def listed(response) -> list[str]:
    """The references of the appointment rows the page shows, in order."""
    assert response.status_code == 200, response.status_code
    return [a.reference for a in response.context["appointments"]]


def test_the_day_is_the_centres_local_day(centre, day_of) -> None:
    appointments = list(queries.day_appointments(centre, DAY))

    assert [a.person.full_name for a in appointments] == [
        "Ada Lovelace",
        "Carla Cancelada",
        "Grace Brewster Hopper",
        "María García-López",
    ]


@pytest.mark.parametrize(
    ("now", "expected_day"),
    [
        # 23:59 on the 14th in the Canaries is 22:59 UTC: still the 14th on both clocks.
        (at(23, 59, day=DAY - dt.timedelta(days=1)), DAY - dt.timedelta(days=1)),
        # 00:01 on the 15th in the Canaries is 23:01 UTC on the 14th: the centre's day wins.
        (at(0, 1), DAY),
        # 23:59 on the 15th local is 22:59 UTC; 00:30 on the 16th local is 23:30 UTC (15th).
        (at(23, 59), DAY),
        (at(0, 30, day=DAY + dt.timedelta(days=1)), DAY + dt.timedelta(days=1)),
    ],
)
def test_without_a_date_the_page_shows_the_centres_today(
    centre, day_of, desk, now, expected_day
) -> None:
    with time_machine.travel(now, tick=False):
        response = desk.get(day_url(centre))

    assert response.status_code == 200
    assert response.context["day"] == expected_day
    expected = [a.reference for a in queries.day_appointments(centre, expected_day)]
    assert listed(response) == expected
    assert expected  # each of those days has someone


def test_just_after_local_midnight_today_is_the_new_day_although_utc_is_not(
    centre, day_of, desk
) -> None:
    with time_machine.travel(at(0, 1), tick=False):
        html = desk.get(day_url(centre)).content.decode()

    assert "Ada Lovelace" in html
    assert "Bea Before" not in html
    assert "Today\N{RIGHT SINGLE QUOTATION MARK}s appointments" in html


def test_counts_per_status(centre, day_of, desk) -> None:
    services.cancel_appointment(
        person=day_of["cancelled"].person, appointment_id=day_of["cancelled"].pk
    )
    vaccinator = staff_at(centre, StaffRole.VACCINATOR)
    with time_machine.travel(at(0, 12), tick=False):
        services.check_in(appointment_id=day_of["ada"].pk, staff=vaccinator)
        services.record_vaccination(
            appointment_id=day_of["ada"].pk, staff=vaccinator, lot_number="EW0150"
        )
    with time_machine.travel(at(23, 41), tick=False):
        services.check_in(appointment_id=day_of["grace"].pk, staff=vaccinator)
        services.mark_no_show(appointment_id=day_of["maria"].pk, staff=staff_at(centre, "manager"))
        response = desk.get(day_url(centre, date=DAY.isoformat()))

    counts = response.context["counts"]
    assert counts == queries.DayCounts(
        expected=3, booked=0, checked_in=1, vaccinated=1, no_show=1, cancelled=1
    )
    html = response.content.decode()
    assert 'data-count="expected">3<' in html
    assert 'data-count="cancelled">1<' in html


def test_another_day_by_date(centre, day_of, desk) -> None:
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, date=(DAY + dt.timedelta(days=1)).isoformat()))

    assert listed(response) == [day_of["after"].reference]


@pytest.mark.parametrize("junk", ["yesterday", "2027-02-30", "15/07/2027", "9" * 300])
def test_a_date_that_is_not_one_is_a_400_with_a_message(centre, desk, junk) -> None:
    response = desk.get(day_url(centre, date=junk))

    assert response.status_code == 400
    assert "Enter a real date" in response.content.decode()


# --- search ---------------------------------------------------------------------------------


def test_find_by_reference_as_printed_in_any_case(centre, day_of, desk) -> None:
    typed = day_of["grace"].display_reference.lower()
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, reference=typed))

    assert listed(response) == [day_of["grace"].reference]
    assert "1 appointment found on this day" in response.content.decode()


def test_a_reference_with_a_typo_is_caught_by_the_check_character(centre, day_of, desk) -> None:
    reference = day_of["grace"].reference
    wrong = references.ALPHABET[(references.ALPHABET.index(reference[4]) + 1) % 31]
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, reference=reference[:4] + wrong + reference[5:]))

    assert response.status_code == 400
    assert "check it for a typo" in response.content.decode()


def test_a_reference_of_another_day_is_not_found_on_this_day(centre, day_of, desk) -> None:
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, reference=day_of["after"].reference))

    assert listed(response) == []
    assert "0 appointments found on this day" in response.content.decode()


def test_a_reference_of_another_centre_is_not_found(centre, day_of, desk) -> None:
    elsewhere = book(SlotFactory(starts_at=at(10)), full_name="Other Person")
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, reference=elsewhere.reference))

    assert listed(response) == []
    assert "Other Person" not in response.content.decode()


@pytest.mark.parametrize("surname", ["Hopper", "hopper", "Brewster Hopper", " HOPPER "])
def test_find_by_surname_and_date_of_birth(centre, day_of, desk, surname) -> None:
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, surname=surname, date_of_birth="1906-12-09"))

    assert listed(response) == [day_of["grace"].reference]


@pytest.mark.parametrize("surname", ["garcia", "García López", "garcia-lopez", "LOPEZ"])
def test_surnames_match_without_accents_or_hyphens(centre, day_of, desk, surname) -> None:
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, surname=surname, date_of_birth="1980-06-15"))

    assert listed(response) == [day_of["maria"].reference]


@pytest.mark.parametrize(
    ("surname", "born"),
    [
        ("Hopp", "1906-12-09"),  # whole words only
        ("Hopper", "1906-12-10"),  # another birth date
        ("Lovelace", "1906-12-09"),  # Ada's name with Grace's birth date
    ],
)
def test_surname_search_finds_nobody_on_a_near_miss(centre, day_of, desk, surname, born) -> None:
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, surname=surname, date_of_birth=born))

    assert listed(response) == []


def test_surname_search_stays_within_the_centre_and_the_day(centre, day_of, desk) -> None:
    # The same name and birth date at another centre on the same day, and here the next day.
    elsewhere = book(
        SlotFactory(starts_at=at(10)), full_name="Ada Lovelace", born=dt.date(1961, 2, 28)
    )
    next_day = book(
        SlotFactory(centre=centre, starts_at=at(10, day=DAY + dt.timedelta(days=1))),
        full_name="Ada Lovelace",
        born=dt.date(1961, 2, 28),
    )
    with time_machine.travel(at(9), tick=False):
        response = desk.get(day_url(centre, surname="Lovelace", date_of_birth="1961-02-28"))

    assert listed(response) == [day_of["ada"].reference]
    assert elsewhere.reference not in listed(response)
    assert next_day.reference not in listed(response)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"surname": "", "date_of_birth": "1961-02-28"}, "Enter the surname."),
        ({"surname": "Lovelace", "date_of_birth": ""}, "Enter the date of birth."),
        ({"surname": "Lovelace", "date_of_birth": "1961-02-30"}, "Enter a real date of birth"),
        ({"surname": "x" * 101, "date_of_birth": "1961-02-28"}, "at most 100 characters"),
        ({"reference": ""}, "Enter a booking reference."),
        ({"reference": "x" * 65}, "far too long"),
    ],
)
def test_bad_search_input_is_a_400_with_a_message(centre, day_of, desk, params, message) -> None:
    response = desk.get(day_url(centre, **params))

    assert response.status_code == 400
    assert message in response.content.decode()


# --- what the list offers -------------------------------------------------------------------


def test_booked_people_today_can_be_checked_in_from_the_list(centre, day_of, desk) -> None:
    with time_machine.travel(at(0, 5), tick=False):
        html = desk.get(day_url(centre)).content.decode()
        assert f'name="presented" value="{day_of["ada"].reference}"' in html
        response = desk.post(
            f"/staff/centres/{centre.pk}/check-in/", {"presented": day_of["ada"].reference}
        )

    assert response.status_code == 200
    day_of["ada"].refresh_from_db()
    assert day_of["ada"].status == AppointmentStatus.CHECKED_IN


def test_another_days_list_offers_no_check_in(centre, day_of, desk) -> None:
    with time_machine.travel(at(9, day=DAY - dt.timedelta(days=1)), tick=False):
        html = desk.get(day_url(centre, date=DAY.isoformat())).content.decode()

    assert 'name="presented"' not in html


def checked_in_ada(centre, day_of) -> Appointment:
    with time_machine.travel(at(0, 12), tick=False):
        return services.check_in(
            appointment_id=day_of["ada"].pk, staff=staff_at(centre, StaffRole.RECEPTIONIST)
        )


@pytest.mark.parametrize(
    ("role", "offered"),
    [(StaffRole.RECEPTIONIST, False), (StaffRole.VACCINATOR, True), (StaffRole.MANAGER, True)],
)
def test_record_the_dose_is_offered_to_those_who_may(centre, day_of, role, offered) -> None:
    ada = checked_in_ada(centre, day_of)
    client = verified_client(staff_at(centre, role))
    with time_machine.travel(at(0, 15), tick=False):
        html = client.get(day_url(centre)).content.decode()

    assert (f"/appointments/{ada.pk}/vaccination/" in html) is offered


def test_managers_are_offered_the_no_shows_once_slots_are_over(centre, day_of) -> None:
    manager = verified_client(staff_at(centre, StaffRole.MANAGER))
    receptionist = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))
    no_shows_link = f"/staff/centres/{centre.pk}/day/no-shows/?date={DAY.isoformat()}"

    with time_machine.travel(at(0, 5), tick=False):  # nobody's time is over yet
        assert no_shows_link not in manager.get(day_url(centre)).content.decode()
    with time_machine.travel(at(0, 30), tick=False):  # Ada's slot (00:10-00:20) is over
        html = manager.get(day_url(centre)).content.decode()
        assert no_shows_link in html
        assert "1 person has not come" in html
        assert no_shows_link not in receptionist.get(day_url(centre)).content.decode()


def test_an_administrator_sees_any_centres_day(centre, day_of) -> None:
    admin = verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))
    with time_machine.travel(at(9), tick=False):
        assert len(listed(admin.get(day_url(centre)))) == 4
