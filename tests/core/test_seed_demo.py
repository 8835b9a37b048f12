import base64
import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import F
from django_otp.plugins.otp_totp.models import TOTPDevice
from time_machine import TimeMachineFixture

from tests.factories import CitizenFactory, UserFactory
from tests.helpers import CANARY, MADRID
from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen, StaffMembership, StaffRole, User
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, OpeningTemplate, Slot, Vaccine
from vaxbook.centres.slot_generation import generate_slots

# A Monday in winter, before any centre opens; 35 days on is a Monday.
MONDAY_MORNING = dt.datetime(2026, 1, 12, 7, 0, tzinfo=MADRID)

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def local_starts(centre: Centre, day: dt.date) -> list[dt.time]:
    return sorted(
        local.time()
        for local in (slot.starts_at.astimezone(centre.zone) for slot in centre.slots.all())
        if local.date() == day
    )


def test_seeding_creates_twelve_centres_in_four_towns_and_the_five_vaccines(
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)

    seed()

    centres = Centre.objects.all()
    assert centres.count() == 12
    assert {centre.town for centre in centres} == {
        "Madrid",
        "Barcelona",
        "Sevilla",
        "Las Palmas de Gran Canaria",
    }
    assert {centre.time_zone for centre in centres} == {"Europe/Madrid", "Atlantic/Canary"}
    assert all(len(centre.postcode) == 5 and centre.postcode.isdigit() for centre in centres)
    for centre in centres:
        assert centre.slots.values("vaccine").distinct().count() in {1, 2}
    assert {
        (v.name, v.doses_in_primary_course, v.minimum_days_between_doses, v.minimum_age, v.cvx_code)
        for v in Vaccine.objects.all()
    } == {
        ("Comirnaty", 2, 21, 12, "208"),
        ("Spikevax", 2, 28, 12, "207"),
        ("Vaxzevria", 2, 28, 18, "210"),
        ("Jcovden", 1, 0, 18, "212"),
        ("Nuvaxovid", 2, 21, 12, "211"),
    }


def test_demo_accounts_can_sign_in_with_their_roles(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)

    seed()

    ada = authenticate(email="ada@example.org", password="vaccinate-me-2021")
    nurse = authenticate(email="nurse@example.org", password="check-in-2021")
    admin = authenticate(email="admin@example.org", password="admin-2021")
    assert isinstance(ada, User)
    assert isinstance(nurse, User)
    assert isinstance(admin, User)
    assert ada.citizen.full_name == "Ada Lovelace"
    assert ada.citizen.date_of_birth == dt.date(1990, 5, 17)
    assert not Appointment.objects.filter(person=ada.citizen).exists()
    assert not ada.is_staff
    membership = nurse.memberships.get()
    assert membership.role == StaffRole.VACCINATOR
    assert membership.centre == Centre.objects.filter(town="Madrid").first()
    assert not nurse.is_staff
    assert admin.is_staff
    assert admin.is_superuser
    agent = authenticate(email="phone@example.org", password="phone-line-2021")
    assert isinstance(agent, User)
    assert agent.is_call_agent
    assert not agent.is_staff
    assert [person.full_name for person in people.people_of(ada)] == ["Carmen López García"]


def test_slots_cover_five_weeks_in_opening_hours_with_2_to_6_places(
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)

    seed()

    today = MONDAY_MORNING.date()
    open_days = {
        today + dt.timedelta(days=offset)
        for offset in range(35)
        if (today + dt.timedelta(days=offset)).weekday() != 6
    }
    slots = list(Slot.objects.filter(starts_at__gt=MONDAY_MORNING).select_related("centre"))
    assert {slot.local_date for slot in slots} == open_days
    for centre in Centre.objects.all():
        assert {slot.local_date for slot in slots if slot.centre == centre} == open_days
    assert all(slot.ends_at - slot.starts_at == dt.timedelta(minutes=10) for slot in slots)
    assert all(2 <= slot.capacity <= 6 and slot.is_open for slot in slots)
    assert {slot.capacity for slot in slots} == {2, 3, 4, 5, 6}
    assert sum(slot.remaining for slot in slots) > 0.9 * sum(slot.capacity for slot in slots)


def test_both_doses_can_be_booked_together_on_the_demo(time_machine: TimeMachineFixture) -> None:
    from vaxbook.bookings.services import book_both_doses

    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()
    for vaccine in Vaccine.objects.filter(doses_in_primary_course=2):
        person = CitizenFactory(date_of_birth=dt.date(1990, 5, 17))
        centre = Centre.objects.filter(vaccines=vaccine).first()
        assert centre is not None
        first = Slot.objects.filter(
            centre=centre, vaccine=vaccine, starts_at__gt=MONDAY_MORNING, booked=0
        ).earliest("starts_at")
        due = first.local_date + dt.timedelta(days=vaccine.minimum_days_between_doses)
        offered = centre.slots.filter(vaccine=vaccine, booked__lt=F("capacity"))
        second = [slot for slot in offered if slot.local_date == due]
        assert second, vaccine.name
        book_both_doses(person=person, first_slot_id=first.pk, second_slot_id=second[0].pk)


def test_the_demo_has_a_campaign_under_way(time_machine: TimeMachineFixture) -> None:
    from vaxbook.bookings.models import AppointmentStatus, VaccinationRecord

    time_machine.move_to(MONDAY_MORNING, tick=False)

    seed()

    past = Appointment.objects.filter(slot__starts_at__lt=MONDAY_MORNING)
    statuses = set(past.values_list("status", flat=True))
    assert statuses == {
        AppointmentStatus.VACCINATED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.CANCELLED,
    }
    days = {appointment.slot.local_date for appointment in past.select_related("slot__centre")}
    assert min(days) == MONDAY_MORNING.date() - dt.timedelta(days=7)
    assert VaccinationRecord.objects.count() == past.filter(status="vaccinated").count()
    assert Appointment.objects.filter(dose_number=2, status="booked").exists()
    # Every counter equals its slot's live appointments.
    for slot in Slot.objects.filter(booked__gt=0)[:500]:
        live = slot.appointments.exclude(status=AppointmentStatus.CANCELLED).count()
        assert slot.booked == live <= slot.capacity


@pytest.mark.parametrize("hour", [6, 22])
def test_the_nurses_centre_has_appointments_today_at_any_hour(
    time_machine: TimeMachineFixture, hour: int
) -> None:
    now = dt.datetime(2026, 1, 18, hour, 0, tzinfo=MADRID)  # a Sunday, when centres close
    time_machine.move_to(now, tick=False)

    seed()

    zendal = Centre.objects.get(name="Hospital Enfermera Isabel Zendal")
    today = Appointment.objects.filter(slot__centre=zendal, status="booked")
    assert [a for a in today.select_related("slot__centre") if a.slot.local_date == now.date()]


def model_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "citizens": Citizen.objects.count(),
        "memberships": StaffMembership.objects.count(),
        "centres": Centre.objects.count(),
        "vaccines": Vaccine.objects.count(),
        "slots": Slot.objects.count(),
        "templates": OpeningTemplate.objects.count(),
        "offers": Centre.vaccines.through.objects.count(),
        "devices": TOTPDevice.objects.count(),
        "appointments": Appointment.objects.count(),
    }


def test_a_second_run_creates_nothing(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)
    first_summary = seed()
    first = model_counts()

    time_machine.move_to(MONDAY_MORNING + dt.timedelta(hours=3), tick=False)
    second_summary = seed()

    assert model_counts() == first
    assert first_summary == (
        f"Created 12 centres, 5 vaccines, {first['templates']} opening templates, 4 accounts, "
        f"{first['slots']} slots and {first['appointments']} appointments.\n"
    )
    assert second_summary == (
        "Created 0 centres, 0 vaccines, 0 opening templates, 0 accounts, 0 slots and "
        "0 appointments.\n"
    )


def test_a_run_the_next_day_adds_that_days_slots_and_keeps_the_others(
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()
    before = {
        slot.pk: (slot.centre_id, slot.vaccine_id, slot.starts_at, slot.capacity)
        for slot in Slot.objects.all()
    }
    booked_slot = Slot.objects.filter(capacity__gte=2).first()
    assert booked_slot is not None
    Slot.objects.filter(pk=booked_slot.pk).update(booked=1)
    new_day = MONDAY_MORNING.date() + dt.timedelta(days=35)

    time_machine.move_to(MONDAY_MORNING + dt.timedelta(days=1), tick=False)
    seed()

    after = {
        slot.pk: (slot.centre_id, slot.vaccine_id, slot.starts_at, slot.capacity)
        for slot in Slot.objects.all()
    }
    assert {pk: after[pk] for pk in before} == before
    booked_slot.refresh_from_db()
    assert booked_slot.booked == 1
    added = Slot.objects.exclude(pk__in=before).select_related("centre")
    assert added.exists()
    assert {slot.local_date for slot in added} == {new_day}
    for centre in Centre.objects.all():
        assert local_starts(centre, new_day)


def test_a_10_oclock_slot_stays_at_10_local_across_the_daylight_saving_change(
    time_machine: TimeMachineFixture,
) -> None:
    # Spain moves its clocks forward on Sunday 2026-03-29.
    time_machine.move_to(dt.datetime(2026, 3, 20, 7, 0, tzinfo=MADRID), tick=False)

    seed()

    centre = Centre.objects.get(name="Hospital Universitario La Paz")
    friday, monday = dt.date(2026, 3, 27), dt.date(2026, 3, 30)
    assert local_starts(centre, friday) == local_starts(centre, monday)
    assert dt.time(10) in local_starts(centre, friday)
    before = centre.slots.filter(starts_at=dt.datetime(2026, 3, 27, 9, 0, tzinfo=dt.UTC))
    after = centre.slots.filter(starts_at=dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC))
    assert before.exists()
    assert after.exists()
    for slot in [*before, *after]:
        assert slot.starts_at.astimezone(MADRID).time() == dt.time(10)


def test_canary_centres_open_an_hour_after_the_mainland_in_utc(
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)

    seed()

    # In winter the Canaries are on UTC+0 and the mainland on UTC+1; both open at 09:00 local.
    canary = Centre.objects.get(name="Centro de Salud Guanarteme")
    madrid = Centre.objects.get(name="WiZink Center")
    today = MONDAY_MORNING.date()
    canary_first = canary.slots.filter(starts_at__date=today).earliest("starts_at")
    madrid_first = madrid.slots.filter(starts_at__date=today).earliest("starts_at")
    assert canary_first.starts_at.astimezone(CANARY).time() == dt.time(9)
    assert canary_first.starts_at == dt.datetime(2026, 1, 12, 9, 0, tzinfo=dt.UTC)
    assert madrid_first.starts_at.astimezone(MADRID).time() == dt.time(9)
    assert madrid_first.starts_at == dt.datetime(2026, 1, 12, 8, 0, tzinfo=dt.UTC)


def test_canary_centres_open_at_08_utc_in_summer(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(dt.datetime(2026, 6, 15, 7, 0, tzinfo=CANARY), tick=False)

    seed()

    canary = Centre.objects.get(name="Centro de Salud Guanarteme")
    first = canary.slots.filter(starts_at__date=dt.date(2026, 6, 15)).earliest("starts_at")
    assert first.starts_at == dt.datetime(2026, 6, 15, 8, 0, tzinfo=dt.UTC)
    assert first.starts_at.astimezone(CANARY).time() == dt.time(9)


def test_no_free_slot_is_created_earlier_today(time_machine: TimeMachineFixture) -> None:
    noon = dt.datetime(2026, 1, 12, 12, 0, tzinfo=MADRID)
    time_machine.move_to(noon, tick=False)

    seed()

    # Earlier today only the nurse's centre has slots: its appointments of the day.
    earlier = Slot.objects.filter(starts_at__lte=noon, starts_at__date=noon.date())
    assert set(earlier.values_list("centre__name", flat=True)) == {
        "Hospital Enfermera Isabel Zendal"
    }
    madrid = Centre.objects.get(name="Hospital Universitario La Paz")
    assert local_starts(madrid, noon.date())[0] == dt.time(12, 10)
    # Noon in Madrid is 11:00 in the Canaries.
    canary = Centre.objects.get(name="Centro de Salud Guanarteme")
    assert local_starts(canary, noon.date())[0] == dt.time(11, 10)


def test_places_per_slot_are_the_same_on_every_run(time_machine: TimeMachineFixture) -> None:
    from vaxbook.bookings.models import VaccinationRecord

    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()
    future = Slot.objects.filter(starts_at__gt=MONDAY_MORNING)
    first = set(future.values_list("centre__name", "vaccine__name", "starts_at", "capacity"))

    VaccinationRecord.objects.all().delete()
    Appointment.objects.all().delete()
    Slot.objects.all().delete()
    seed()

    assert (
        set(future.values_list("centre__name", "vaccine__name", "starts_at", "capacity")) == first
    )


def test_an_existing_account_keeps_its_password(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)
    UserFactory(email="admin@example.org", password="changed-after-the-demo")

    seed()

    assert authenticate(email="admin@example.org", password="admin-2021") is None
    assert authenticate(email="admin@example.org", password="changed-after-the-demo")


@pytest.mark.parametrize("email", ["nurse@example.org", "admin@example.org", "phone@example.org"])
def test_staff_get_the_documented_authenticator_once(
    time_machine: TimeMachineFixture, email: str
) -> None:
    from django_otp.oath import TOTP

    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()
    seed()

    device = TOTPDevice.objects.get(user__email=email)
    assert device.confirmed
    code = TOTP(base64.b32decode("JBSWY3DPEHPK3PXP")).token()
    assert device.verify_token(f"{code:06d}")


def test_each_centre_offers_its_demo_vaccines(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)

    seed()

    for centre in Centre.objects.all():
        offered = set(centre.vaccines.values_list("pk", flat=True))
        assert offered == set(centre.slots.values_list("vaccine_id", flat=True))
    zendal = Centre.objects.get(name="Hospital Enfermera Isabel Zendal")
    assert sorted(zendal.vaccines.values_list("name", flat=True)) == ["Comirnaty", "Spikevax"]


def test_the_opening_templates_give_the_demo_slots_times(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()
    admin = User.objects.get(email="admin@example.org")
    three_weeks = Slot.objects.filter(
        starts_at__gt=MONDAY_MORNING, starts_at__lt=MONDAY_MORNING + dt.timedelta(days=21)
    )
    seeded = set(three_weeks.values_list("centre_id", "vaccine_id", "starts_at"))
    last_day = MONDAY_MORNING.date() + dt.timedelta(days=20)

    made = [
        generate_slots(
            staff=admin,
            centre_id=centre.pk,
            first_day=MONDAY_MORNING.date(),
            last_day=last_day,
            dry_run=False,
        )
        for centre in Centre.objects.all()
    ]

    # Every time the templates give is a demo slot already: nothing new, nothing missing.
    assert sum(generation.created for generation in made) == 0
    assert sum(generation.existing for generation in made) == len(seeded)
    assert set(three_weeks.values_list("centre_id", "vaccine_id", "starts_at")) == seeded
    assert set(OpeningTemplate.objects.values_list("slot_minutes", "places_per_slot")) == {(10, 4)}


def test_the_demo_administrator_manages_every_centre(time_machine: TimeMachineFixture) -> None:
    from vaxbook.centres.permissions import may_manage

    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()

    admin = User.objects.get(email="admin@example.org")
    assert all(may_manage(admin, centre.pk) for centre in Centre.objects.all())


def test_hours_someone_changed_in_the_demo_are_kept(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)
    seed()
    centre = Centre.objects.get(name="WiZink Center")
    centre.opening_templates.exclude(weekday=0).delete()

    seed()

    assert set(centre.opening_templates.values_list("weekday", flat=True)) == {0}
