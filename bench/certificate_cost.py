"""What a vaccination certificate and the FHIR export cost, in one process.

What is measured
----------------
On a throwaway database (`<name>_certcost` for PostgreSQL, var/bench.sqlite3 otherwise,
recreated at each start), `--people` citizens each get two recorded doses. Then:

- the certificate of each person as the account page makes it: `own_card` (one query and
  the ES256 signature) and `certificate_qr_svg` (the numeric QR code), median and p95 in
  milliseconds, and the JWS and `shc:/` sizes and the QR version;
- the FHIR export of every Immunization and every Appointment as NDJSON, as the endpoint
  streams it: resources per second and the peak of memory allocated by Python while
  streaming (tracemalloc), which stays flat because rows come from a server-side cursor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook python bench/certificate_cost.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import tracemalloc
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm  # noqa: E402
from bench.machine import machine_description  # noqa: E402


def setup(database_url: str) -> None:
    os.environ.setdefault("SECRET_KEY", "insecure-key-for-benchmarks-only")
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_people(count: int) -> list[int]:
    """`count` citizens with two doses each; returns their users' ids."""
    from django.utils import timezone

    from vaxbook.accounts.models import Citizen, User
    from vaxbook.bookings import references
    from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord

    centre_id, vaccine_id = booking_storm.create_fixed_data()
    slots = booking_storm.create_slots(centre_id, vaccine_id, 2 * count, capacity=1)
    citizens = booking_storm.create_citizens(count, "cert")
    nurse = User.objects.create(email="bench-nurse@example.org", is_staff=True)
    given = timezone.now() - dt.timedelta(days=30)

    def given_at(dose: int) -> dt.datetime:
        return given + dt.timedelta(days=21 * (dose - 1))

    appointments = Appointment.objects.bulk_create(
        Appointment(
            person_id=citizen,
            slot_id=slots[2 * i + dose - 1],
            dose_number=dose,
            status=AppointmentStatus.VACCINATED,
            reference=references.new_reference(),
            created_at=given - dt.timedelta(days=7),
            checked_in_at=given_at(dose),
            vaccinated_at=given_at(dose),
        )
        for i, citizen in enumerate(citizens)
        for dose in (1, 2)
    )
    VaccinationRecord.objects.bulk_create(
        VaccinationRecord(
            appointment=appointment,
            vaccine_id=vaccine_id,
            lot_number=f"EW{index:06d}",
            administered_at=given_at(appointment.dose_number),
            administered_by=nurse,
        )
        for index, appointment in enumerate(appointments)
    )
    return list(Citizen.objects.filter(pk__in=citizens).values_list("user_id", flat=True))


def milliseconds(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--certificates", type=int, default=500)
    args = parser.parse_args()

    engine, url = booking_storm.bench_database_url()
    if engine == "postgresql":
        parts = urllib.parse.urlsplit(url)
        url = urllib.parse.urlunsplit(
            parts._replace(path=parts.path.replace("_bench", "_certcost"))
        )
    booking_storm.recreate_database(engine, url)
    setup(url)
    from vaxbook.accounts.models import User
    from vaxbook.credentials import health_card
    from vaxbook.credentials.qr import certificate_qr_code, certificate_qr_svg
    from vaxbook.fhir import export

    users = make_people(args.people)
    print(machine_description())
    print(booking_storm.database_description())
    print(f"{args.people} people with 2 doses each")

    signing, drawing, sizes = [], [], []
    for user_id in users[: args.certificates]:
        user = User(pk=user_id)
        started = time.perf_counter()
        card = health_card.own_card(user=user)
        signed = time.perf_counter()
        certificate_qr_svg(card.qr_text)
        drawing.append(time.perf_counter() - signed)
        signing.append(signed - started)
        sizes.append((len(card.jws), len(card.qr_text), certificate_qr_code(card.qr_text).version))
    jws, shc, version = max(sizes)
    print(f"certificate (query + ES256 signature): {milliseconds(signing)}")
    print(f"QR code as SVG: {milliseconds(drawing)}")
    print(f"two doses: JWS {jws} characters, shc:/ text {shc} characters, QR version {version}")

    for resource_type in ("Immunization", "Appointment"):
        started = time.perf_counter()
        lines = sum(1 for _line in export.ndjson_lines(resource_type, since=None))
        elapsed = time.perf_counter() - started
        # Apart: tracemalloc slows every allocation down.
        tracemalloc.start()
        for _line in export.ndjson_lines(resource_type, since=None):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"FHIR {resource_type} NDJSON: {lines} resources in {elapsed:.2f} s "
            f"({lines / elapsed:,.0f}/s), peak Python allocation {peak / 1e6:.1f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
