"""Demo data: centres in four Spanish towns, the COVID-19 vaccines, their weekly opening
hours, three weeks of slots and one account per role. Safe to run again at any time: it
only adds what is missing."""

import base64
import datetime as dt
import hashlib
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts.models import Citizen, StaffMembership, StaffRole, User
from vaxbook.centres.models import Centre, OpeningTemplate, Slot, Vaccine

DAYS_AHEAD = 21
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


class Command(BaseCommand):
    help = (
        "Add demo centres, vaccines, opening hours, slots for the next 21 days and demo accounts."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        with transaction.atomic():
            vaccines, vaccines_created = seed_vaccines()
            centres, centres_created = seed_centres(vaccines=vaccines)
            templates_created = seed_opening_templates(centres=centres, vaccines=vaccines)
            accounts_created = seed_accounts(nurse_centre=centres[CENTRES[0].name])
            slots_created = seed_slots(centres=centres, vaccines=vaccines, now=now)
        self.stdout.write(
            f"Created {centres_created} centres, {vaccines_created} vaccines, "
            f"{templates_created} opening templates, {accounts_created} accounts and "
            f"{slots_created} slots."
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
    """Slot start times (UTC) from `now` over the next DAYS_AHEAD days in `zone`.

    Each start is built from the local date and wall-clock time, so a 10:00 slot stays at
    10:00 local whichever side of a daylight-saving change it falls on.
    """
    today = now.astimezone(zone).date()
    starts: list[dt.datetime] = []
    for offset in range(DAYS_AHEAD):
        day = today + dt.timedelta(days=offset)
        for opens, closes in OPENING_HOURS.get(day.weekday(), ()):
            local = dt.datetime.combine(day, opens, tzinfo=zone)
            last = dt.datetime.combine(day, closes, tzinfo=zone) - SLOT_LENGTH
            while local <= last:
                starts_at = local.astimezone(dt.UTC)
                # A slot that has already started cannot be booked: leave it out.
                if starts_at > now:
                    starts.append(starts_at)
                local += SLOT_LENGTH
    return starts


def _places(centre_name: str, vaccine_name: str, starts_at: dt.datetime) -> int:
    # A hash, not random(): every run on any machine gives a slot the same number of places.
    key = f"{centre_name}|{vaccine_name}|{starts_at.isoformat()}".encode()
    digest = hashlib.blake2b(key, digest_size=1).digest()
    return MIN_PLACES + digest[0] % (MAX_PLACES - MIN_PLACES + 1)
