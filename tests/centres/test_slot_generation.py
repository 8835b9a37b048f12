"""Opening templates -> slots: preview, idempotent runs, bookings untouched, daylight saving."""

import datetime as dt

import pytest
import time_machine

from tests.helpers import CANARY, MADRID, at
from tests.management.helpers import book, make_site
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.centres.errors import CentreNotFound, InvalidRange, NotPermitted
from vaxbook.centres.models import OpeningTemplate, Slot, Weekday
from vaxbook.centres.slot_generation import MAX_DAYS, generate_slots

pytestmark = pytest.mark.django_db

# Monday 2027-03-22, before the centres open. Spain moves its clocks forward on Sunday
# 2027-03-28 (02:00 -> 03:00) and back on Sunday 2027-10-31 (03:00 -> 02:00).
MONDAY = dt.date(2027, 3, 22)


@pytest.fixture(autouse=True)
def monday_morning():
    with time_machine.travel(at(7, day=MONDAY), tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return make_site()


def template(site, weekday: int, opens: str, closes: str, **fields) -> OpeningTemplate:
    return OpeningTemplate.objects.create(
        centre=site.centre,
        vaccine=site.vaccine,
        weekday=weekday,
        opens_at=dt.time.fromisoformat(opens),
        closes_at=dt.time.fromisoformat(closes),
        slot_minutes=fields.pop("slot_minutes", 30),
        places_per_slot=fields.pop("places_per_slot", 3),
        **fields,
    )


def local_starts(site, day: dt.date) -> list[str]:
    return [
        f"{slot.starts_at.astimezone(MADRID):%H:%M}"
        for slot in Slot.objects.filter(centre=site.centre).order_by("starts_at")
        if slot.starts_at.astimezone(MADRID).date() == day
    ]


def run(site, first: dt.date, last: dt.date, *, dry_run: bool = False, user=None):
    return generate_slots(
        staff=user or site.manager,
        centre_id=site.centre.pk,
        first_day=first,
        last_day=last,
        dry_run=dry_run,
        client_address="192.0.2.7",
    )


def test_the_preview_says_what_would_be_made_and_makes_nothing(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "11:00")
    template(site, Weekday.TUESDAY, "16:00", "17:00", slot_minutes=15)

    preview = run(site, MONDAY, MONDAY + dt.timedelta(days=6), dry_run=True)

    assert [(day.day, day.vaccine, day.new, day.existing) for day in preview.days] == [
        (MONDAY, "Comirnaty", 4, 0),
        (MONDAY + dt.timedelta(days=1), "Comirnaty", 4, 0),
    ]
    assert (preview.new, preview.existing, preview.created) == (8, 0, 0)
    assert not Slot.objects.exists()
    assert not AuditEvent.objects.exists()


def test_slots_follow_the_template_in_local_time_with_its_places(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "10:45", slot_minutes=30, places_per_slot=7)

    generation = run(site, MONDAY, MONDAY)

    # The last slot must end by closing time: 10:30 would end at 11:00, so there is none.
    assert local_starts(site, MONDAY) == ["09:00", "09:30", "10:00"]
    assert generation.created == 3
    slots = Slot.objects.order_by("starts_at")
    assert all(slot.capacity == 7 and slot.booked == 0 and slot.is_open for slot in slots)
    assert all(slot.ends_at - slot.starts_at == dt.timedelta(minutes=30) for slot in slots)
    assert slots[0].starts_at == dt.datetime(2027, 3, 22, 8, 0, tzinfo=dt.UTC)


def test_running_twice_adds_nothing_the_second_time(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "12:00")
    template(site, Weekday.WEDNESDAY, "09:00", "12:00")
    first = run(site, MONDAY, MONDAY + dt.timedelta(days=13))
    before = list(Slot.objects.order_by("pk").values_list("pk", "starts_at", "capacity"))

    second = run(site, MONDAY, MONDAY + dt.timedelta(days=13))

    assert first.created == 24
    assert second.created == 0
    assert (second.new, second.existing) == (0, 24)
    assert list(Slot.objects.order_by("pk").values_list("pk", "starts_at", "capacity")) == before
    assert AuditEvent.objects.filter(action=AuditAction.SLOTS_GENERATED).count() == 2


def test_existing_slots_with_bookings_and_changes_stay_as_they_are(site) -> None:
    template(site, Weekday.TUESDAY, "09:00", "10:00", places_per_slot=3)
    run(site, MONDAY, MONDAY + dt.timedelta(days=1))
    booked_slot = Slot.objects.earliest("starts_at")
    appointment = book(booked_slot)
    Slot.objects.filter(pk=booked_slot.pk).update(capacity=9)
    OpeningTemplate.objects.update(places_per_slot=1)
    closed = Slot.objects.latest("starts_at")
    Slot.objects.filter(pk=closed.pk).update(is_open=False)

    again = run(site, MONDAY, MONDAY + dt.timedelta(days=8))

    booked_slot.refresh_from_db()
    closed.refresh_from_db()
    assert (booked_slot.capacity, booked_slot.booked) == (9, 1)
    assert not closed.is_open
    assert appointment.slot_id == booked_slot.pk
    # Only next Tuesday's slots are new, with the template's new places.
    assert again.created == 2
    assert sorted(Slot.objects.values_list("capacity", flat=True)) == [1, 1, 3, 9]


def test_slots_that_have_already_started_today_are_left_out(site, monday_morning) -> None:
    template(site, Weekday.MONDAY, "09:00", "11:00")
    monday_morning.move_to(at(9, 45, day=MONDAY))

    run(site, MONDAY, MONDAY)

    assert local_starts(site, MONDAY) == ["10:00", "10:30"]


def test_templates_apply_only_within_their_validity(site) -> None:
    template(
        site,
        Weekday.MONDAY,
        "09:00",
        "10:00",
        valid_from=MONDAY + dt.timedelta(days=7),
        valid_until=MONDAY + dt.timedelta(days=14),
    )

    run(site, MONDAY, MONDAY + dt.timedelta(days=27))

    days = sorted({slot.local_date for slot in Slot.objects.select_related("centre")})
    assert days == [MONDAY + dt.timedelta(days=7), MONDAY + dt.timedelta(days=14)]


def test_a_vaccine_the_centre_stopped_offering_gets_no_slots(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "10:00")
    site.centre.vaccines.clear()

    generation = run(site, MONDAY, MONDAY)

    assert generation.created == 0
    assert not Slot.objects.exists()


# --- daylight saving ---------------------------------------------------------------------------


def test_ten_oclock_stays_ten_oclock_across_the_march_change(site) -> None:
    for weekday in (Weekday.SATURDAY, Weekday.SUNDAY, Weekday.MONDAY):
        template(site, weekday, "10:00", "11:00", slot_minutes=60)
    saturday, monday = dt.date(2027, 3, 27), dt.date(2027, 3, 29)

    run(site, saturday, monday)

    starts = list(Slot.objects.order_by("starts_at").values_list("starts_at", flat=True))
    assert starts == [
        dt.datetime(2027, 3, 27, 9, 0, tzinfo=dt.UTC),  # UTC+1
        dt.datetime(2027, 3, 28, 8, 0, tzinfo=dt.UTC),  # UTC+2 from 02:00 that night
        dt.datetime(2027, 3, 29, 8, 0, tzinfo=dt.UTC),
    ]
    assert [start.astimezone(MADRID).time() for start in starts] == [dt.time(10)] * 3


def test_ten_oclock_stays_ten_oclock_across_the_october_change(site, monday_morning) -> None:
    monday_morning.move_to(at(7, day=dt.date(2027, 10, 25)))
    for weekday in (Weekday.SATURDAY, Weekday.SUNDAY, Weekday.MONDAY):
        template(site, weekday, "10:00", "11:00", slot_minutes=60)

    run(site, dt.date(2027, 10, 30), dt.date(2027, 11, 1))

    starts = list(Slot.objects.order_by("starts_at").values_list("starts_at", flat=True))
    assert starts == [
        dt.datetime(2027, 10, 30, 8, 0, tzinfo=dt.UTC),  # UTC+2
        dt.datetime(2027, 10, 31, 9, 0, tzinfo=dt.UTC),  # UTC+1 from 03:00 that night
        dt.datetime(2027, 11, 1, 9, 0, tzinfo=dt.UTC),
    ]
    assert [start.astimezone(MADRID).time() for start in starts] == [dt.time(10)] * 3


def test_times_the_clocks_skip_in_march_get_no_slot(site) -> None:
    template(site, Weekday.SUNDAY, "01:00", "04:00", slot_minutes=30)
    sunday = dt.date(2027, 3, 28)

    preview = run(site, sunday, sunday, dry_run=True)
    run(site, sunday, sunday)

    # 02:00 and 02:30 do not exist that night: the clock jumps from 02:00 to 03:00.
    assert local_starts(site, sunday) == ["01:00", "01:30", "03:00", "03:30"]
    assert [f"{skipped:%H:%M}" for skipped in preview.skipped] == ["02:00", "02:30"]
    _first, second, third, _last = Slot.objects.order_by("starts_at")
    assert third.starts_at - second.starts_at == dt.timedelta(minutes=30)


def test_times_that_happen_twice_in_october_get_one_slot_at_the_first(site, monday_morning) -> None:
    monday_morning.move_to(at(7, day=dt.date(2027, 10, 25)))
    template(site, Weekday.SUNDAY, "01:30", "03:30", slot_minutes=30)
    sunday = dt.date(2027, 10, 31)

    run(site, sunday, sunday)

    assert local_starts(site, sunday) == ["01:30", "02:00", "02:30", "03:00"]
    starts = list(Slot.objects.order_by("starts_at").values_list("starts_at", flat=True))
    # 02:00 and 02:30 happen in summer time (UTC+2) and again in winter time: the first.
    assert starts == [
        dt.datetime(2027, 10, 30, 23, 30, tzinfo=dt.UTC),
        dt.datetime(2027, 10, 31, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 10, 31, 0, 30, tzinfo=dt.UTC),
        dt.datetime(2027, 10, 31, 2, 0, tzinfo=dt.UTC),
    ]


def test_a_centre_in_the_canaries_opens_at_its_own_ten_oclock(site) -> None:
    site.centre.time_zone = "Atlantic/Canary"
    site.centre.save()
    template(site, Weekday.MONDAY, "10:00", "10:30")

    run(site, MONDAY, MONDAY)

    slot = Slot.objects.get()
    assert slot.starts_at == dt.datetime(2027, 3, 22, 10, 0, tzinfo=dt.UTC)
    assert slot.starts_at.astimezone(CANARY).time() == dt.time(10)


# --- bad ranges and who may ------------------------------------------------------------------


def test_ten_years_is_refused_with_a_clear_message(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "10:00")

    with pytest.raises(InvalidRange) as refused:
        run(site, MONDAY, MONDAY + dt.timedelta(days=3652))

    assert refused.value.message == (
        f"Generate at most {MAX_DAYS} days at a time: this range has 3653 days."
    )
    assert not Slot.objects.exists()


def test_the_longest_range_is_allowed(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "09:30")

    generation = run(site, MONDAY, MONDAY + dt.timedelta(days=MAX_DAYS - 1))

    assert generation.created == 14  # every Monday of the 92 days


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (MONDAY + dt.timedelta(days=3), MONDAY, "The last day must be the same as or after"),
        (MONDAY - dt.timedelta(days=1), MONDAY, "The first day cannot be in the past."),
    ],
)
def test_reversed_or_past_ranges_are_refused(site, first, last, message) -> None:
    with pytest.raises(InvalidRange, match=message):
        run(site, first, last)


@pytest.mark.parametrize("who", ["vaccinator", "receptionist", "other_manager", "citizen"])
def test_only_managers_and_administrators_generate(site, who) -> None:
    template(site, Weekday.MONDAY, "09:00", "10:00")

    with pytest.raises(NotPermitted):
        run(site, MONDAY, MONDAY, user=getattr(site, who))

    assert not Slot.objects.exists()


def test_an_administrator_generates_anywhere(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "10:00")

    assert run(site, MONDAY, MONDAY, user=site.admin).created == 2


def test_a_missing_centre_is_not_found(site) -> None:
    with pytest.raises(CentreNotFound):
        generate_slots(
            staff=site.admin,
            centre_id=999_999,
            first_day=MONDAY,
            last_day=MONDAY,
            dry_run=True,
        )


def test_a_real_run_is_audited_with_who_and_from_where(site) -> None:
    template(site, Weekday.MONDAY, "09:00", "10:00")

    run(site, MONDAY, MONDAY + dt.timedelta(days=6))

    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.centre_id) == (
        site.manager,
        AuditAction.SLOTS_GENERATED,
        site.centre.pk,
    )
    assert event.client_address == "192.0.2.7"
    assert event.detail["created"] == 2
    assert event.detail["first_day"] == "2027-03-22"
