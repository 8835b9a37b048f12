"""Demo data: centres in four Spanish towns, the COVID-19 vaccines, their weekly opening
hours, five weeks of slots, one account per role, and a campaign under way: the past week's
appointments (given, missed, cancelled), second doses booked from them, and today's
appointments at the demo nurse's centre. Safe to run again at any time: it only adds what
is missing."""

import base64
import datetime as dt
import hashlib
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts import people
from vaxbook.accounts.models import (
    AuthorityRole,
    Citizen,
    PersonBookedFor,
    StaffMembership,
    StaffRole,
    User,
)
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.bookings.references import new_reference
from vaxbook.centres.models import Centre, OpeningTemplate, Slot, Vaccine

# Five weeks: a first dose booked in the first week has its second dose's day (21 or 28
# days later, the demo vaccines' intervals) among them.
DAYS_AHEAD = 35
# The campaign's past: days with bookings, check-ins, doses, no-shows and cancellations.
DAYS_PAST = 7
SLOT_LENGTH = dt.timedelta(minutes=10)
MIN_PLACES, MAX_PLACES = 2, 6
# The places of the demo's opening templates, for the slots a manager makes from them (the
# demo's own slots vary between MIN_PLACES and MAX_PLACES, as real ones do).
TEMPLATE_PLACES = 4
BATCH_SIZE = 2000

# Local opening hours by weekday (Monday is 0); Sunday is closed.
WEEKDAY_HOURS = ((dt.time(9), dt.time(14)), (dt.time(16), dt.time(20)))
OPENING_HOURS: dict[int, tuple[tuple[dt.time, dt.time], ...]] = {
    **dict.fromkeys(range(5), WEEKDAY_HOURS),
    5: ((dt.time(9), dt.time(14)),),
}


@dataclass(frozen=True, kw_only=True)
class DemoVaccine:
    name: str
    manufacturer: str
    doses: int
    days_between_doses: int
    minimum_age: int
    cvx_code: str


@dataclass(frozen=True, kw_only=True)
class DemoCentre:
    name: str
    address: str
    postcode: str
    town: str
    latitude: str
    longitude: str
    time_zone: str
    vaccines: tuple[str, ...]


VACCINES = (
    DemoVaccine(
        name="Comirnaty",
        manufacturer="Pfizer-BioNTech",
        doses=2,
        days_between_doses=21,
        minimum_age=12,
        cvx_code="208",
    ),
    DemoVaccine(
        name="Spikevax",
        manufacturer="Moderna",
        doses=2,
        days_between_doses=28,
        minimum_age=12,
        cvx_code="207",
    ),
    DemoVaccine(
        name="Vaxzevria",
        manufacturer="AstraZeneca",
        doses=2,
        days_between_doses=28,
        minimum_age=18,
        cvx_code="210",
    ),
    DemoVaccine(
        name="Jcovden",
        manufacturer="Janssen",
        doses=1,
        days_between_doses=0,
        minimum_age=18,
        cvx_code="212",
    ),
    DemoVaccine(
        name="Nuvaxovid",
        manufacturer="Novavax",
        doses=2,
        days_between_doses=21,
        minimum_age=12,
        cvx_code="211",
    ),
)

MADRID, CANARY = "Europe/Madrid", "Atlantic/Canary"

# The first centre is the demo nurse's; it also sorts first among Madrid's centres.
CENTRES = (
    DemoCentre(
        name="Hospital Enfermera Isabel Zendal",
        address="Avenida de Manuel Fraga Iribarne 2",
        postcode="28055",
        town="Madrid",
        latitude="40.48630",
        longitude="-3.61780",
        time_zone=MADRID,
        vaccines=("Comirnaty", "Spikevax"),
    ),
    DemoCentre(
        name="Hospital Universitario La Paz",
        address="Paseo de la Castellana 261",
        postcode="28046",
        town="Madrid",
        latitude="40.48150",
        longitude="-3.68700",
        time_zone=MADRID,
        vaccines=("Comirnaty", "Vaxzevria"),
    ),
    DemoCentre(
        name="WiZink Center",
        address="Avenida de Felipe II s/n",
        postcode="28009",
        town="Madrid",
        latitude="40.42390",
        longitude="-3.67170",
        time_zone=MADRID,
        vaccines=("Jcovden",),
    ),
    DemoCentre(
        name="CAP Manso",
        address="Carrer de Manso 19",
        postcode="08015",
        town="Barcelona",
        latitude="41.37700",
        longitude="2.16000",
        time_zone=MADRID,
        vaccines=("Comirnaty",),
    ),
    DemoCentre(
        name="Fira de Barcelona Montjuïc",
        address="Avinguda de la Reina Maria Cristina s/n",
        postcode="08004",
        town="Barcelona",
        latitude="41.37330",
        longitude="2.15220",
        time_zone=MADRID,
        vaccines=("Spikevax", "Nuvaxovid"),
    ),
    DemoCentre(
        name="Hospital Clínic de Barcelona",
        address="Carrer de Villarroel 170",
        postcode="08036",
        town="Barcelona",
        latitude="41.38935",
        longitude="2.15280",
        time_zone=MADRID,
        vaccines=("Comirnaty", "Jcovden"),
    ),
    DemoCentre(
        name="Centro de Salud El Greco",
        address="Avenida El Greco s/n",
        postcode="41007",
        town="Sevilla",
        latitude="37.39310",
        longitude="-5.95420",
        time_zone=MADRID,
        vaccines=("Comirnaty",),
    ),
    DemoCentre(
        name="Estadio de La Cartuja",
        address="Isla de la Cartuja s/n",
        postcode="41092",
        town="Sevilla",
        latitude="37.41660",
        longitude="-6.00450",
        time_zone=MADRID,
        vaccines=("Vaxzevria", "Spikevax"),
    ),
    DemoCentre(
        name="Hospital Universitario Virgen del Rocío",
        address="Avenida Manuel Siurot s/n",
        postcode="41013",
        town="Sevilla",
        latitude="37.36140",
        longitude="-5.98070",
        time_zone=MADRID,
        vaccines=("Comirnaty", "Nuvaxovid"),
    ),
    DemoCentre(
        name="Centro de Salud Guanarteme",
        address="Calle Fernando Guanarteme 89",
        postcode="35010",
        town="Las Palmas de Gran Canaria",
        latitude="28.13560",
        longitude="-15.43710",
        time_zone=CANARY,
        vaccines=("Comirnaty",),
    ),
    DemoCentre(
        name="Hospital Universitario de Gran Canaria Doctor Negrín",
        address="Calle Plaza Barranco de la Ballena s/n",
        postcode="35010",
        town="Las Palmas de Gran Canaria",
        latitude="28.11930",
        longitude="-15.45620",
        time_zone=CANARY,
        vaccines=("Spikevax", "Jcovden"),
    ),
    DemoCentre(
        name="Recinto Ferial de Canarias (Infecar)",
        address="Avenida de la Feria 1",
        postcode="35012",
        town="Las Palmas de Gran Canaria",
        latitude="28.09950",
        longitude="-15.44100",
        time_zone=CANARY,
        vaccines=("Comirnaty", "Vaxzevria"),
    ),
)

# Well-known demo credentials, meant to be shared: a database seeded with them, the
# administrator above all, must never face the public.
CITIZEN_EMAIL, CITIZEN_PASSWORD = "ada@example.org", "vaccinate-me-2021"
NURSE_EMAIL, NURSE_PASSWORD = "nurse@example.org", "check-in-2021"
NURSE_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105 (base32, a documented demo secret)
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.org", "admin-2021"
PHONE_AGENT_EMAIL, PHONE_AGENT_PASSWORD = "phone@example.org", "phone-line-2021"
# The demo citizen books for her mother, whom the phone line can find too.
RELATIVE: dict[str, Any] = {
    "full_name": "Carmen López García",
    "date_of_birth": dt.date(1948, 3, 2),
    "phone": "+34 600 000 123",
}


class Command(BaseCommand):
    help = (
        "Add demo centres, vaccines, opening hours, slots for the next five weeks, demo "
        "accounts and a campaign under way (past appointments, today's at the nurse's centre)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        with transaction.atomic():
            vaccines, vaccines_created = seed_vaccines()
            centres, centres_created = seed_centres(vaccines=vaccines)
            templates_created = seed_opening_templates(centres=centres, vaccines=vaccines)
            accounts_created = seed_accounts(nurse_centre=centres[CENTRES[0].name])
            slots_created = seed_slots(centres=centres, vaccines=vaccines, now=now)
            campaign = Campaign(centres=centres, vaccines=vaccines, now=now)
            appointments_created = campaign.seed_past() + campaign.seed_today(CENTRES[0].name)
        self.stdout.write(
            f"Created {centres_created} centres, {vaccines_created} vaccines, "
            f"{templates_created} opening templates, {accounts_created} accounts, "
            f"{slots_created + campaign.slots_created} slots and "
            f"{appointments_created} appointments."
        )


def seed_vaccines() -> tuple[dict[str, Vaccine], int]:
    vaccines: dict[str, Vaccine] = {}
    created_count = 0
    for demo in VACCINES:
        vaccine, created = Vaccine.objects.get_or_create(
            name=demo.name,
            defaults={
                "manufacturer": demo.manufacturer,
                "doses_in_primary_course": demo.doses,
                "minimum_days_between_doses": demo.days_between_doses,
                "minimum_age": demo.minimum_age,
                "cvx_code": demo.cvx_code,
            },
        )
        vaccines[demo.name] = vaccine
        created_count += created
    return vaccines, created_count


def seed_centres(*, vaccines: dict[str, Vaccine]) -> tuple[dict[str, Centre], int]:
    """Each demo centre that is missing, offering its vaccines. An existing centre keeps its
    details; a vaccine it stopped offering is not offered again."""
    centres: dict[str, Centre] = {}
    created_count = 0
    for number, demo in enumerate(CENTRES, start=1):
        centre, created = Centre.objects.get_or_create(
            name=demo.name,
            defaults={
                "address": demo.address,
                "postcode": demo.postcode,
                "town": demo.town,
                # Fictitious numbers in the range reserved for free-phone services.
                "phone": f"+34 900 000 {number:03d}",
                "latitude": Decimal(demo.latitude),
                "longitude": Decimal(demo.longitude),
                "time_zone": demo.time_zone,
            },
        )
        if created:
            centre.vaccines.set([vaccines[name] for name in demo.vaccines])
        centres[demo.name] = centre
        created_count += created
    return centres, created_count


def seed_opening_templates(*, centres: dict[str, Centre], vaccines: dict[str, Vaccine]) -> int:
    """The weekly hours of the demo slots (OPENING_HOURS, SLOT_LENGTH) as opening templates
    of each centre's vaccines, for a centre that has none: hours someone has set up while
    trying the demo are theirs to keep."""
    templates: list[OpeningTemplate] = []
    for demo in CENTRES:
        centre = centres[demo.name]
        if centre.opening_templates.exists():
            continue
        for vaccine_name in demo.vaccines:
            for weekday, hours in OPENING_HOURS.items():
                for opens, closes in hours:
                    templates.append(
                        OpeningTemplate(
                            centre=centre,
                            vaccine=vaccines[vaccine_name],
                            weekday=weekday,
                            opens_at=opens,
                            closes_at=closes,
                            slot_minutes=SLOT_LENGTH // dt.timedelta(minutes=1),
                            places_per_slot=TEMPLATE_PLACES,
                        )
                    )
    OpeningTemplate.objects.bulk_create(templates)
    return len(templates)


def seed_accounts(*, nurse_centre: Centre) -> int:
    """Create each demo account that is missing; an existing one is left as it is, password
    included, so a re-run never undoes a change someone made while trying the demo."""
    created_count = 0

    citizen_user, created = _user_if_missing(CITIZEN_EMAIL, CITIZEN_PASSWORD)
    created_count += created
    Citizen.objects.get_or_create(
        user=citizen_user,
        defaults={"full_name": "Ada Lovelace", "date_of_birth": dt.date(1990, 5, 17)},
    )

    nurse_user, created = _user_if_missing(NURSE_EMAIL, NURSE_PASSWORD)
    created_count += created
    # Staff sign in with a second factor: the nurse's authenticator uses the fixed TOTP
    # secret JBSWY3DPEHPK3PXP, so the demo can document one authenticator set-up.
    TOTPDevice.objects.get_or_create(
        user=nurse_user,
        name="Demo authenticator",
        defaults={"key": base64.b32decode(NURSE_TOTP_SECRET).hex(), "confirmed": True},
    )
    StaffMembership.objects.get_or_create(
        user=nurse_user, centre=nurse_centre, defaults={"role": StaffRole.VACCINATOR}
    )

    admin_user, created = _user_if_missing(
        ADMIN_EMAIL, ADMIN_PASSWORD, is_staff=True, is_superuser=True
    )
    created_count += created
    # The administrator manages every centre on the staff pages, which need the second
    # factor too: the same documented demo secret as the nurse's.
    TOTPDevice.objects.get_or_create(
        user=admin_user,
        name="Demo authenticator",
        defaults={"key": base64.b32decode(NURSE_TOTP_SECRET).hex(), "confirmed": True},
    )

    # The health authority's phone line (vaxbook.accounts.phone_line): the same secret.
    agent_user, created = _user_if_missing(
        PHONE_AGENT_EMAIL, PHONE_AGENT_PASSWORD, authority_role=AuthorityRole.CALL_AGENT
    )
    created_count += created
    TOTPDevice.objects.get_or_create(
        user=agent_user,
        name="Demo authenticator",
        defaults={"key": base64.b32decode(NURSE_TOTP_SECRET).hex(), "confirmed": True},
    )

    relative = people.find_without_account(**RELATIVE) or Citizen.objects.create(**RELATIVE)
    PersonBookedFor.objects.get_or_create(booker=citizen_user, person=relative)
    return created_count


def _user_if_missing(email: str, password: str, **fields: Any) -> tuple[User, bool]:
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email, password, **fields), True


def seed_slots(
    *, centres: dict[str, Centre], vaccines: dict[str, Vaccine], now: dt.datetime
) -> int:
    """Add the slots of the next DAYS_AHEAD days that do not exist yet.

    Existing slots are never touched, since they may hold bookings. Skipping the ones read
    here only keeps a re-run fast; the unique constraint on (centre, vaccine, starts_at) is
    what guarantees no duplicate, should another run insert the same slots meanwhile.
    """
    existing = set(
        Slot.objects.filter(
            centre__in=centres.values(), vaccine__in=vaccines.values(), starts_at__gt=now
        ).values_list("centre_id", "vaccine_id", "starts_at")
    )
    new_slots: list[Slot] = []
    for demo in CENTRES:
        centre_id = centres[demo.name].pk
        for starts_at in _slot_starts(zoneinfo.ZoneInfo(demo.time_zone), now):
            for vaccine_name in demo.vaccines:
                vaccine_id = vaccines[vaccine_name].pk
                if (centre_id, vaccine_id, starts_at) in existing:
                    continue
                new_slots.append(
                    Slot(
                        centre_id=centre_id,
                        vaccine_id=vaccine_id,
                        starts_at=starts_at,
                        ends_at=starts_at + SLOT_LENGTH,
                        capacity=_places(demo.name, vaccine_name, starts_at),
                    )
                )
    before = Slot.objects.count()
    Slot.objects.bulk_create(new_slots, batch_size=BATCH_SIZE, ignore_conflicts=True)
    return Slot.objects.count() - before


def _slot_starts(zone: zoneinfo.ZoneInfo, now: dt.datetime) -> list[dt.datetime]:
    """Slot start times (UTC) from `now` over the next DAYS_AHEAD days in `zone`. A slot
    that has already started cannot be booked: it is left out."""
    today = now.astimezone(zone).date()
    return [
        starts_at
        for offset in range(DAYS_AHEAD)
        for starts_at in _day_starts(zone, today + dt.timedelta(days=offset))
        if starts_at > now
    ]


def _day_starts(
    zone: zoneinfo.ZoneInfo, day: dt.date, hours: tuple[tuple[dt.time, dt.time], ...] | None = None
) -> list[dt.datetime]:
    """The slot start times (UTC) of a local `day` in its opening hours (or `hours`).

    Each start is built from the local date and wall-clock time, so a 10:00 slot stays at
    10:00 local whichever side of a daylight-saving change it falls on.
    """
    starts: list[dt.datetime] = []
    for opens, closes in OPENING_HOURS.get(day.weekday(), ()) if hours is None else hours:
        local = dt.datetime.combine(day, opens, tzinfo=zone)
        last = dt.datetime.combine(day, closes, tzinfo=zone) - SLOT_LENGTH
        while local <= last:
            starts.append(local.astimezone(dt.UTC))
            local += SLOT_LENGTH
    return starts


def _places(centre_name: str, vaccine_name: str, starts_at: dt.datetime) -> int:
    return MIN_PLACES + _draw(centre_name, vaccine_name, starts_at.isoformat()) % (
        MAX_PLACES - MIN_PLACES + 1
    )


def _draw(*parts: object) -> int:
    """A number from 0 to 255 fixed by `parts`: a hash, not random(), so that every run on
    any machine makes the same demo."""
    key = "|".join(str(part) for part in parts).encode()
    return hashlib.blake2b(key, digest_size=1).digest()[0]


# The campaign's people: made-up names, and addresses of the reserved example.org domain.
PEOPLE_EMAIL = "person-{n}@people.example.org"
GIVEN_NAMES = (
    "Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Leo", "Julia", "Daniel", "Paula", "Pablo",
    "Carmen", "Javier", "Elena", "Álvaro", "Irene", "Manuel", "Noa", "Adrián", "Vega", "Marcos",
)  # fmt: skip
SURNAMES = (
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Serrano",
)  # fmt: skip
# Of the past appointments, per 256 draws: cancelled beforehand, then not attended; the
# rest came and had their dose.
CANCELLED_BELOW, NO_SHOW_BELOW = 20, 45
LOTS = {"Comirnaty": "FA4597", "Spikevax": "3003317", "Vaxzevria": "ABV5811",
        "Jcovden": "XD955", "Nuvaxovid": "4302MF"}  # fmt: skip


class Campaign:
    """Appointments that make the demo look like a campaign under way: the past DAYS_PAST
    days' (given, missed or cancelled, so the reports and charts have something to show),
    the second doses booked from those given, and today's at the nurse's centre, whatever
    the hour, so that validating and checking in can be tried at any time.

    Rows are written in bulk, with each slot's `booked` equal to its live appointments: a
    demo of tens of thousands of bookings through the booking service would take minutes.
    """

    def __init__(
        self, *, centres: dict[str, Centre], vaccines: dict[str, Vaccine], now: dt.datetime
    ) -> None:
        self.centres, self.vaccines, self.now = centres, vaccines, now
        self.nurse = User.objects.get(email__iexact=NURSE_EMAIL)
        self.slots_created = 0
        self.people = Citizen.objects.filter(user__email__endswith="@people.example.org").count()

    def seed_past(self) -> int:
        """The past days, once: on a later run they are the past already."""
        if self.people:
            return 0
        appointments: list[Appointment] = []
        records: list[VaccinationRecord] = []
        for demo in CENTRES:
            centre, zone = self.centres[demo.name], zoneinfo.ZoneInfo(demo.time_zone)
            today = self.now.astimezone(zone).date()
            days = [today - dt.timedelta(days=back) for back in range(DAYS_PAST, 0, -1)]
            slots = self._new_slots(centre, demo, days)
            for slot in slots:
                # Half the slots with one person, a few with two.
                for number in range(_draw(slot.starts_at, demo.name) % 4 // 2):
                    appointments.append(self._past_appointment(slot, number, records))
            # Created with their counters: `booked` counts the appointments just made.
            self._create(slots)
        people = self._people(len(appointments))
        for appointment, person in zip(appointments, people, strict=True):
            appointment.person = person
        second_doses = self._second_doses(appointments)
        self._save(appointments + second_doses, records)
        return len(appointments) + len(second_doses)

    def seed_today(self, centre_name: str) -> int:
        """Today's appointments at `centre_name` over the whole day (on a day it is closed,
        over a weekday's hours), unless it has some already."""
        centre = self.centres[centre_name]
        demo = next(demo for demo in CENTRES if demo.name == centre_name)
        zone = zoneinfo.ZoneInfo(demo.time_zone)
        today = self.now.astimezone(zone).date()
        start = dt.datetime.combine(today, dt.time(0), tzinfo=zone)
        day = Slot.objects.filter(
            centre=centre, starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1)
        )
        if Appointment.objects.filter(
            slot__in=day, person__user__email__endswith="@people.example.org"
        ).exists():
            return 0
        self._create(self._new_slots(centre, demo, [today], hours=WEEKDAY_HOURS))
        appointments = []
        for slot in day.select_related("vaccine").order_by("starts_at"):
            # Every other slot, one person, within the places left.
            if _draw(slot.starts_at, "today") % 2 or slot.booked >= slot.capacity:
                continue
            appointments.append(
                Appointment(
                    slot=slot,
                    dose_number=1,
                    status=AppointmentStatus.BOOKED,
                    reference=new_reference(),
                    created_at=self.now - dt.timedelta(days=3),
                )
            )
        for appointment, person in zip(appointments, self._people(len(appointments)), strict=True):
            appointment.person = person
        self._save(appointments, [])
        return len(appointments)

    def _new_slots(
        self,
        centre: Centre,
        demo: DemoCentre,
        days: list[dt.date],
        hours: tuple[tuple[dt.time, dt.time], ...] | None = None,
    ) -> list[Slot]:
        """The slots of `days` at the centre that do not exist yet, not saved: only those
        are booked in the past, so no slot's counter can go past its places."""
        zone = zoneinfo.ZoneInfo(demo.time_zone)
        wanted = [
            (vaccine_name, starts_at)
            for day in days
            for starts_at in _day_starts(
                zone, day, hours if hours and day.weekday() not in OPENING_HOURS else None
            )
            for vaccine_name in demo.vaccines
        ]
        if not wanted:
            return []
        existing = set(
            Slot.objects.filter(
                centre=centre,
                starts_at__gte=min(starts for _, starts in wanted),
                starts_at__lte=max(starts for _, starts in wanted),
            ).values_list("vaccine__name", "starts_at")
        )
        slots = [
            Slot(
                centre=centre,
                vaccine=self.vaccines[vaccine_name],
                starts_at=starts_at,
                ends_at=starts_at + SLOT_LENGTH,
                capacity=_places(demo.name, vaccine_name, starts_at),
            )
            for vaccine_name, starts_at in wanted
            if (vaccine_name, starts_at) not in existing
        ]
        return slots

    def _create(self, slots: list[Slot]) -> None:
        Slot.objects.bulk_create(slots, batch_size=BATCH_SIZE)
        self.slots_created += len(slots)

    def _past_appointment(
        self, slot: Slot, number: int, records: list[VaccinationRecord]
    ) -> Appointment:
        draw = _draw(slot.starts_at, slot.centre_id, slot.vaccine_id, number)
        appointment = Appointment(
            slot=slot,
            dose_number=1,
            reference=new_reference(),
            created_at=slot.starts_at - dt.timedelta(days=2 + draw % 12),
        )
        if draw < CANCELLED_BELOW:
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = slot.starts_at - dt.timedelta(days=1)
            appointment.cancellation_reason = "Cancelled by the person."
            return appointment
        slot.booked += 1
        if draw < NO_SHOW_BELOW:
            appointment.status = AppointmentStatus.NO_SHOW
            return appointment
        given_at = slot.starts_at + dt.timedelta(minutes=draw % 9)
        appointment.status = AppointmentStatus.VACCINATED
        appointment.checked_in_at = given_at - dt.timedelta(minutes=3)
        appointment.checked_in_by = self.nurse
        appointment.vaccinated_at = given_at
        records.append(
            VaccinationRecord(
                appointment=appointment,
                vaccine=slot.vaccine,
                lot_number=LOTS.get(slot.vaccine.name, "DEMO1"),
                injection_site="left_arm" if draw % 5 else "right_arm",
                administered_at=given_at,
                administered_by=self.nurse,
            )
        )
        return appointment

    def _second_doses(self, given: list[Appointment]) -> list[Appointment]:
        """Dose 2 for each person given dose 1 of a two-dose vaccine, at the same centre on
        the first day the interval allows, in the first slot there with a place left."""
        wanted: dict[tuple[int, int, dt.date], list[Appointment]] = {}
        for first in given:
            vaccine = first.slot.vaccine
            if first.status != AppointmentStatus.VACCINATED or vaccine.doses_in_primary_course < 2:
                continue
            day = first.slot.starts_at.astimezone(first.slot.centre.zone).date() + dt.timedelta(
                days=vaccine.minimum_days_between_doses
            )
            wanted.setdefault((first.slot.centre_id, vaccine.pk, day), []).append(first)
        if not wanted:
            return []
        free = Slot.objects.filter(
            centre_id__in={key[0] for key in wanted},
            starts_at__gt=self.now,
            booked__lt=models.F("capacity"),
            is_open=True,
        ).select_related("centre")
        by_day: dict[tuple[int, int, dt.date], list[Slot]] = {}
        for slot in free.order_by("starts_at"):
            by_day.setdefault((slot.centre_id, slot.vaccine_id, slot.local_date), []).append(slot)
        seconds: list[Appointment] = []
        for key, firsts in wanted.items():
            slots = by_day.get(key, [])
            for first in firsts:
                place = next((slot for slot in slots if slot.booked < slot.capacity), None)
                if place is None:
                    break
                slot = place
                slot.booked += 1
                seconds.append(
                    Appointment(
                        person=first.person,
                        slot=slot,
                        dose_number=2,
                        reference=new_reference(),
                        created_at=first.vaccinated_at or self.now,
                    )
                )
        return seconds

    def _people(self, count: int) -> list[Citizen]:
        """`count` new people of the campaign, who never sign in (no usable password)."""
        first = self.people
        self.people += count
        users = []
        for n in range(first, first + count):
            user = User(email=PEOPLE_EMAIL.format(n=n))
            user.set_unusable_password()
            users.append(user)
        users = User.objects.bulk_create(users, batch_size=BATCH_SIZE)
        citizens = [
            Citizen(
                user=user,
                full_name=f"{GIVEN_NAMES[n % len(GIVEN_NAMES)]} "
                f"{SURNAMES[n * 7 % len(SURNAMES)]} {SURNAMES[n * 3 % len(SURNAMES)]}",
                date_of_birth=dt.date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
            )
            for n, user in zip(range(first, first + count), users, strict=True)
        ]
        return Citizen.objects.bulk_create(citizens, batch_size=BATCH_SIZE)

    def _save(self, appointments: list[Appointment], records: list[VaccinationRecord]) -> None:
        """Write the appointments and records, and take the places of those in slots that
        existed before this run (the future ones: second doses, today's) with one
        `booked = booked + n` per n, in the database, which checks them against capacity."""
        Appointment.objects.bulk_create(appointments, batch_size=BATCH_SIZE)
        VaccinationRecord.objects.bulk_create(records, batch_size=BATCH_SIZE)
        taken: dict[int, int] = {}
        for appointment in appointments:
            if appointment.status == AppointmentStatus.BOOKED:
                taken[appointment.slot_id] = taken.get(appointment.slot_id, 0) + 1
        by_count: dict[int, list[int]] = {}
        for slot_id, count in taken.items():
            by_count.setdefault(count, []).append(slot_id)
        for count, slot_ids in by_count.items():
            for start in range(0, len(slot_ids), BATCH_SIZE):
                Slot.objects.filter(pk__in=slot_ids[start : start + BATCH_SIZE]).update(
                    booked=models.F("booked") + count
                )
