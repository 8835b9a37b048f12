"""Waiting list: how fast freed places become offers, and how many are booked again.

What is measured
----------------
100 centres, each with 10 full slots tomorrow (10 places each), and 10,000 people waiting,
100 per centre, in joining order. Two worker processes (`manage.py run_worker`, as in
production) run while 1,000 appointments, one per slot, are cancelled in a burst through
the booking service. Each cancellation writes the task that offers its place; the worker
holds the place for the first in line and sends the offer's email (to files).

- latency: from a cancellation's commit (`cancelled_at`) to the end of the task that sent
  the first offer of its place, p50 and p99;
- offers/s: offers made during the burst, per second from the first cancellation to the
  last of these offers;
- share rebooked: the people answer as they come, 70 % accept, 15 % decline and 15 % let
  the offer expire (the sweep is run with a clock 31 minutes ahead); declined and expired
  places go on to the next in line until none is left. The share is the freed places
  booked again by someone waiting, before the slots' time.

It runs against a throwaway database derived from DATABASE_URL, as bench/booking_storm.py
does (SQLite `var/bench.sqlite3`; PostgreSQL `<name>_bench`, dropped and recreated). After
the run every slot is checked: booked equal to its live appointments plus its held offers
(the 9 places of each slot not cancelled are counters without rows here, and are counted
as such), never above capacity.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook .venv/bin/python bench/waiting_list.py
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.booking_storm import (  # noqa: E402
    bench_database_url,
    database_description,
    recreate_database,
)
from bench.machine import machine_description  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["DEBUG"] = "false"

CENTRES, SLOTS_PER_CENTRE, PLACES, WAITING_PER_CENTRE = 100, 10, 10, 100
WORKERS = 2
ANSWER_TIMEOUT_S = 600.0


def main() -> int:
    engine, url = bench_database_url()
    recreate_database(engine, url)
    os.environ["DATABASE_URL"] = url
    mail_dir = tempfile.mkdtemp(prefix="vaxbook-bench-mail-")
    os.environ["VAXBOOK_VAR_DIR"] = mail_dir
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(machine_description())
    print(database_description())
    appointments = create_data()
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--queue-name", "*", "--interval", "0.05"],
            cwd=REPO_ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _worker in range(WORKERS)
    ]
    try:
        burst_started = time.time()
        cancel_all(appointments)
        print(f"{len(appointments)} cancellations in {time.time() - burst_started:.1f} s")
        wait_for_first_offers(len(appointments))
        report_latency()
        answer_until_settled()
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait()
    return check()


def create_data() -> list:
    from vaxbook.accounts.models import Citizen, User
    from vaxbook.bookings.models import Appointment
    from vaxbook.bookings.references import new_reference
    from vaxbook.centres.models import Centre, Slot, Vaccine
    from vaxbook.waiting_list.models import WaitingEntry

    vaccine = Vaccine.objects.create(
        name="Comirnaty",
        manufacturer="Pfizer-BioNTech",
        doses_in_primary_course=2,
        minimum_days_between_doses=21,
        minimum_age=12,
        cvx_code="208",
    )
    madrid = zoneinfo.ZoneInfo("Europe/Madrid")
    tomorrow = dt.datetime.now(madrid).date() + dt.timedelta(days=1)
    now = dt.datetime.now(dt.UTC)
    centres = Centre.objects.bulk_create(
        Centre(
            name=f"Centre {n}",
            address="Calle 1",
            postcode="28014",
            town="Madrid",
            latitude=40,
            longitude=-3,
        )
        for n in range(CENTRES)
    )
    for centre in centres:
        centre.vaccines.add(vaccine)
    slots = Slot.objects.bulk_create(
        Slot(
            centre=centre,
            vaccine=vaccine,
            starts_at=dt.datetime.combine(tomorrow, dt.time(9 + hour), tzinfo=madrid),
            ends_at=dt.datetime.combine(tomorrow, dt.time(9 + hour, 30), tzinfo=madrid),
            capacity=PLACES,
            booked=PLACES,
        )
        for centre in centres
        for hour in range(SLOTS_PER_CENTRE)
    )

    def people(prefix: str, count: int) -> list[Citizen]:
        users = User.objects.bulk_create(
            User(email=f"{prefix}{n}@example.org", password="!")  # noqa: S106 (unusable)
            for n in range(count)
        )
        return Citizen.objects.bulk_create(
            Citizen(user=user, full_name=f"Person {user.email}", date_of_birth=dt.date(1980, 1, 1))
            for user in users
        )

    holders = people("holder", len(slots))
    appointments = Appointment.objects.bulk_create(
        Appointment(
            person=holder,
            slot=slot,
            dose_number=1,
            status="booked",
            reference=new_reference(),
            created_at=now,
        )
        for holder, slot in zip(holders, slots, strict=True)
    )
    waiting = people("waiting", CENTRES * WAITING_PER_CENTRE)
    entries = WaitingEntry.objects.bulk_create(
        WaitingEntry(
            person=person,
            vaccine=vaccine,
            dose_number=1,
            first_day=tomorrow,
            last_day=tomorrow + dt.timedelta(days=7),
            language="en",
            joined_at=now + dt.timedelta(microseconds=n),
            changed_at=now,
        )
        for n, person in enumerate(waiting)
    )
    through = WaitingEntry.centres.through
    through.objects.bulk_create(
        through(waitingentry_id=entry.pk, centre_id=centres[n % CENTRES].pk)
        for n, entry in enumerate(entries)
    )
    print(f"{len(centres)} centres, {len(slots)} full slots, {len(entries)} people waiting")
    return appointments


def cancel_all(appointments: list) -> None:
    from vaxbook.bookings import services

    for appointment in appointments:
        services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)


def wait_for_first_offers(freed: int) -> None:
    from vaxbook.waiting_list.models import Offer

    deadline = time.time() + ANSWER_TIMEOUT_S
    while time.time() < deadline and _sent_offers() < freed:
        time.sleep(0.2)
    made = list(Offer.objects.order_by("made_at").values_list("made_at", flat=True)[:freed])
    first_cancel = _first_cancellation()
    if made:
        span = (made[-1] - first_cancel).total_seconds()
        print(f"offers made: {len(made)}, {len(made) / span:.0f} offers/s over {span:.1f} s")


def _sent_offers() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path="vaxbook.waiting_list.tasks.send_offer", status="SUCCESSFUL"
    ).count()


def _queued_offer_tasks() -> int:
    """Offers still to be made or sent (the expiry tasks wait for their time: not counted)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path__in=[
            "vaxbook.waiting_list.tasks.offer_places",
            "vaxbook.waiting_list.tasks.send_offer",
        ],
        status__in=["READY", "RUNNING"],
    ).count()


def _first_cancellation() -> dt.datetime:
    from vaxbook.bookings.models import Appointment

    first = Appointment.objects.filter(status="cancelled").order_by("cancelled_at")[0]
    assert first.cancelled_at is not None  # noqa: S101 (a cancelled appointment has it)
    return first.cancelled_at


def report_latency() -> None:
    from django_tasks_db.models import DBTaskResult

    from vaxbook.bookings.models import Appointment
    from vaxbook.waiting_list.models import Offer

    cancelled_at = dict(
        Appointment.objects.filter(status="cancelled").values_list("slot_id", "cancelled_at")
    )
    first_offer: dict[int, str] = {}
    for offer_id, slot_id in Offer.objects.order_by("made_at").values_list("pk", "slot_id"):
        first_offer.setdefault(slot_id, str(offer_id))
    sent_at = {
        row.args_kwargs["kwargs"]["offer_id"]: row.finished_at
        for row in DBTaskResult.objects.filter(
            task_path="vaxbook.waiting_list.tasks.send_offer", status="SUCCESSFUL"
        )
    }
    latencies = sorted(
        (sent - cancelled).total_seconds() * 1000
        for slot_id, offer_id in first_offer.items()
        if (sent := sent_at.get(offer_id)) and (cancelled := cancelled_at.get(slot_id))
    )
    if latencies:
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"freed -> offer sent: p50 {p50:.0f} ms, p99 {p99:.0f} ms ({len(latencies)} places)")


def answer_until_settled() -> None:
    from django.utils import timezone

    from vaxbook.waiting_list import services
    from vaxbook.waiting_list.models import Offer, OfferStatus

    deadline = time.time() + ANSWER_TIMEOUT_S
    quiet_rounds = 0
    while time.time() < deadline and quiet_rounds < 10:
        held = list(Offer.objects.filter(status=OfferStatus.HELD).select_related("person"))
        answered = 0
        for offer in held:
            # 14 of 20 accept, 3 decline, 3 let it expire: people of one centre are created
            # CENTRES apart, so their ids divided by CENTRES run through the choices.
            choice = (offer.person_id // CENTRES) % 20
            try:
                if choice < 14:
                    services.accept_offer(person=offer.person, offer_id=offer.pk)
                    answered += 1
                elif choice < 17:
                    services.decline_offer(person=offer.person, offer_id=offer.pk)
                    answered += 1
            except Exception as error:
                print(f"answer refused: {type(error).__name__}: {error}")
        expired = services.expire_offers(now=timezone.now() + dt.timedelta(minutes=31))
        busy = answered or expired or held or _queued_offer_tasks()
        quiet_rounds = 0 if busy else quiet_rounds + 1
        time.sleep(0.2)
    accepted = Offer.objects.filter(status=OfferStatus.ACCEPTED).count()
    print(
        f"share rebooked: {accepted / (CENTRES * SLOTS_PER_CENTRE):.1%} of the freed places "
        f"({Offer.objects.count()} offers in all)"
    )


def check() -> int:
    from django.db.models import Count, Q

    from vaxbook.centres.models import Slot
    from vaxbook.waiting_list.models import Offer, OfferStatus

    held = dict(
        Offer.objects.filter(status=OfferStatus.HELD)
        .values("slot_id")
        .annotate(n=Count("pk"))
        .values_list("slot_id", "n")
    )
    wrong = []
    for slot in Slot.objects.annotate(
        live=Count("appointments", filter=Q(appointments__status="booked"))
    ):
        # The places never cancelled are counters without rows (PLACES - 1 of them).
        expected = PLACES - 1 + slot.live + held.get(slot.pk, 0)
        if slot.booked != expected or slot.booked > slot.capacity:
            wrong.append((slot.pk, slot.booked, expected))
    print("check: OK" if not wrong else f"FAIL: (slot, booked, expected) {wrong[:10]}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
