"""Booking storm: how many bookings per second the booking engine takes, and whether it
stays correct while several processes book at once.

What is measured
----------------
N worker processes (each its own interpreter, Django setup and database connection) call
`vaxbook.bookings.services.book_appointment` as fast as they can, each attempt a different
citizen booking dose 1. The clock runs per attempt, around the service call only (loading
the slot, the transaction, the commit); the citizens are loaded before the start.

- uniform: the attempts are spread evenly over many slots with room for all of them;
  every attempt should succeed.
- hotspot: all workers aim at 10 slots holding fewer places than there are attempts;
  most attempts are refused with `slot_full` after waiting for the slot's row lock.

It runs against a throwaway database derived from DATABASE_URL (default SQLite), never the
configured one: SQLite `var/bench.sqlite3`; PostgreSQL `<name>_bench` (dropped and
recreated at each start). The same settings apply (WAL, BEGIN IMMEDIATE, psycopg pool).

How to read it
--------------
`attempts/s` counts every answer (success or refusal) per second of wall time, from the
moment all workers start to the moment the last one ends; `ok/s` counts the successes
alone. Latencies are per attempt in milliseconds, successes and refusals together;
`max` shows the unluckiest attempt (SQLite's lock waits are unfair). `cpu ms` is the CPU
time a worker process spends per attempt: Django, the ORM and the driver, plus SQLite
itself, which runs inside the process (PostgreSQL's server processes are not counted).
Compared with the wall time per attempt it shows whether the workers wait for the
database or for a core. With 2 cores, the workers, the database server and anything
else running share the CPU (the load average is printed): the numbers are a floor.

After every scenario the database is checked: no slot over capacity, appointment rows
(status other than cancelled) equal to the `booked` counter of every slot, one row per
reported success, and every slot that refused someone as full really is full. Any
mismatch or unexpected exception prints FAIL and the script exits with status 1.

    .venv/bin/python bench/booking_storm.py                    # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook .venv/bin/python bench/booking_storm.py
    .venv/bin/python bench/booking_storm.py --workers 1,8 --bookings 4000
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing as mp
import os
import queue
import random
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.machine import load_average, machine_description  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A benchmark measures the production configuration; it never serves a request, so a
# throwaway key is enough when none is given.
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not what production does

HOT_SLOTS = 10
BARRIER_TIMEOUT_S = 120.0
RESULT_TIMEOUT_S = 600.0


@dataclass
class WorkerResult:
    worker: int
    started: float = 0.0
    finished: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time over the attempts
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    refused_slots: list[int] = field(default_factory=list)  # slots that answered slot_full
    errors: list[str] = field(default_factory=list)  # unexpected exceptions, as text


@dataclass
class RunResult:
    scenario: str
    workers: int
    attempts: int
    successes: int
    slot_full: int
    other: int
    wall_s: float
    attempts_per_s: float
    ok_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms: float
    failures: list[str]
    other_kinds: Counter[str]


# --- the database to benchmark -----------------------------------------------------------


def var_dir() -> Path:
    return Path(os.environ.get("VAXBOOK_VAR_DIR", REPO_ROOT / "var"))


def bench_database_url() -> tuple[str, str]:
    """(engine, URL of the benchmark's own database) for the configured DATABASE_URL."""
    from config import env  # plain module: reading it does not set Django up

    configured = os.environ.get("DATABASE_URL")
    engine = env.database(configured, var_dir=var_dir())["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        path = (var_dir() / "bench.sqlite3").resolve()
        if configured and Path(env.database(configured, var_dir=var_dir())["NAME"]) == path:
            raise SystemExit("DATABASE_URL points at the benchmark's own file; refusing.")
        return "sqlite", f"sqlite:///{path}"
    parts = urllib.parse.urlsplit(configured or "")  # only SQLite has a default
    name = urllib.parse.unquote(parts.path.lstrip("/")) or "postgres"
    bench_name = f"{name}_bench"
    return "postgresql", urllib.parse.urlunsplit(
        parts._replace(path="/" + urllib.parse.quote(bench_name))
    )


def recreate_database(engine: str, url: str) -> None:
    """Start from nothing: delete the SQLite file, or drop and create the PostgreSQL one."""
    if engine == "sqlite":
        path = Path(urllib.parse.urlsplit(url).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return

    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    connect_args: dict[str, Any] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **connect_args) as conn:
        name = sql.Identifier(config["NAME"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def database_description() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = cursor.fetchone()[0]
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                cursor.fetchone()[0], "?"
            )
            return (
                f"SQLite {version} ({connection.settings_dict['NAME']}; journal_mode={journal}, "
                f"synchronous={synchronous}, BEGIN IMMEDIATE)"
            )
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync_commit = cursor.fetchone()[0]
        cursor.execute("SHOW max_connections")
        max_conn = cursor.fetchone()[0]
        return (
            f"PostgreSQL {version} (database {connection.settings_dict['NAME']}; "
            f"synchronous_commit={sync_commit}, max_connections={max_conn})"
        )


# --- data -------------------------------------------------------------------------------


def create_fixed_data() -> tuple[int, int]:
    """One centre and one vaccine; returns their ids."""
    from vaxbook.centres.models import Centre, Vaccine

    centre = Centre.objects.create(
        name="Benchmark Centre",
        address="Calle de Alcalá 1",
        postcode="28014",
        town="Madrid",
        latitude=Decimal("40.41831"),
        longitude=Decimal("-3.70275"),
        time_zone="Europe/Madrid",
    )
    vaccine = Vaccine.objects.create(
        name="Comirnaty",
        manufacturer="Pfizer-BioNTech",
        doses_in_primary_course=2,
        minimum_days_between_doses=21,
        minimum_age=12,
        cvx_code="208",
    )
    return centre.pk, vaccine.pk


def create_slots(centre_id: int, vaccine_id: int, count: int, capacity: int) -> list[int]:
    """`count` consecutive 5-minute slots, after every slot made so far, from tomorrow."""
    from django.db.models import Max
    from django.utils import timezone

    from vaxbook.centres.models import Slot

    latest = Slot.objects.aggregate(latest=Max("ends_at"))["latest"]
    start = latest or (timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    step = dt.timedelta(minutes=5)
    slots = Slot.objects.bulk_create(
        Slot(
            centre_id=centre_id,
            vaccine_id=vaccine_id,
            starts_at=start + i * step,
            ends_at=start + (i + 1) * step,
            capacity=capacity,
        )
        for i in range(count)
    )
    return [slot.pk for slot in slots]


def create_citizens(count: int, tag: str) -> list[int]:
    """`count` citizens aged 40-something, each with a user that cannot sign in."""
    from django.contrib.auth.hashers import make_password

    from vaxbook.accounts.models import Citizen, User

    no_sign_in = make_password(None)  # an unusable password, without hashing anything
    users = User.objects.bulk_create(
        User(email=f"bench-{tag}-{i}@example.org", password=no_sign_in) for i in range(count)
    )
    citizens = Citizen.objects.bulk_create(
        Citizen(user=user, full_name=f"Bench {tag} {i}", date_of_birth=dt.date(1980, 6, 15))
        for i, user in enumerate(users)
    )
    return [citizen.pk for citizen in citizens]


# --- the workers ------------------------------------------------------------------------


def worker_main(
    worker: int,
    plan: list[tuple[int, int]],
    barrier: Any,
    results: Any,
) -> None:
    """Book every (citizen id, slot id) of `plan`, once all workers are ready."""
    result = WorkerResult(worker=worker)
    try:
        import django

        django.setup()
        from django.db import connections

        from vaxbook.accounts.models import Citizen
        from vaxbook.bookings.services import book_appointment
        from vaxbook.core.errors import DomainError

        # Opens this process's own connection and loads the people before the clock runs,
        # as a view would have request.user.citizen in hand.
        people = Citizen.objects.in_bulk([citizen_id for citizen_id, _ in plan])
        barrier.wait(timeout=BARRIER_TIMEOUT_S)

        clock = time.perf_counter
        cpu_began = time.process_time()
        result.started = clock()
        for citizen_id, slot_id in plan:
            person = people[citizen_id]
            began = clock()
            try:
                book_appointment(person=person, slot_id=slot_id, dose_number=1)
                outcome = "ok"
            except DomainError as error:
                outcome = str(getattr(error, "code", type(error).__name__))
                if outcome == "slot_full":
                    result.refused_slots.append(slot_id)
            except Exception as error:
                outcome = "error"
                result.errors.append(f"{type(error).__name__}: {error}")
            result.latencies_ms.append((clock() - began) * 1000)
            result.outcomes.append(outcome)
        result.finished = clock()
        result.cpu_s = time.process_time() - cpu_began
        connections.close_all()
    except BaseException as error:  # report it to the parent rather than dying silently
        if isinstance(error, KeyboardInterrupt):
            raise
        result.errors.append(f"worker {worker} crashed: {type(error).__name__}: {error}")
        barrier.abort()
    results.put(result)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run_workers(plan: list[tuple[int, int]], workers: int) -> list[WorkerResult]:
    """Split `plan` round robin over `workers` spawned processes and collect their results."""
    from django.db import connections

    connections.close_all()  # the children open their own; nothing to share
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results: Any = ctx.Queue()
    processes = [
        ctx.Process(
            target=worker_main,
            args=(w, plan[w::workers], barrier, results),
            name=f"booking-worker-{w}",
        )
        for w in range(workers)
    ]
    collected: list[WorkerResult] = []
    try:
        for process in processes:
            process.start()
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while len(collected) < workers:
            try:
                collected.append(results.get(timeout=1.0))
            except queue.Empty:
                dead = [p for p in processes if p.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"workers died or hung: {[(p.name, p.exitcode) for p in dead]}"
                    ) from None
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    return sorted(collected, key=lambda r: r.worker)


# --- checks -----------------------------------------------------------------------------


def check_invariants() -> tuple[list[str], dict[int, int]]:
    """No slot outside 0..capacity and each slot's counter equal to its appointment rows, on
    the whole database: the failures found, and each slot's `booked` counter."""
    from django.db.models import Count, F, Q

    from vaxbook.bookings.models import Appointment, AppointmentStatus
    from vaxbook.centres.models import Slot

    failures: list[str] = []
    over = list(
        Slot.objects.filter(Q(booked__gt=F("capacity")) | Q(booked__lt=0)).values_list(
            "pk", "booked", "capacity"
        )
    )
    if over:
        failures.append(f"slots outside 0..capacity (id, booked, capacity): {over[:10]}")

    rows = dict(
        Appointment.objects.exclude(status=AppointmentStatus.CANCELLED)
        .values("slot")
        .annotate(n=Count("pk"))
        .values_list("slot", "n")
    )
    counters = dict(Slot.objects.values_list("pk", "booked"))
    mismatched = [
        (pk, booked, rows.get(pk, 0))
        for pk, booked in counters.items()
        if booked != rows.get(pk, 0)
    ]
    if mismatched:
        failures.append(f"slots whose counter != rows (id, booked, rows): {mismatched[:10]}")
    total_rows, total_booked = sum(rows.values()), sum(counters.values())
    if total_rows != total_booked:
        failures.append(f"appointment rows {total_rows} != sum of Slot.booked {total_booked}")
    return failures, counters


def check_database(
    slot_ids: list[int], successes: int, refused_slots: set[int], rows_before: int
) -> list[str]:
    """Every invariant the engine promises, on the whole benchmark database."""
    from django.db.models import F

    from vaxbook.bookings.models import Appointment
    from vaxbook.centres.models import Slot

    failures, counters = check_invariants()
    created = Appointment.objects.count() - rows_before
    if created != successes:
        failures.append(f"{successes} successes reported but {created} appointments created")

    not_full = list(
        Slot.objects.filter(pk__in=refused_slots, booked__lt=F("capacity")).values_list(
            "pk", "booked", "capacity"
        )
    )
    if not_full:
        failures.append(f"refused as full but places left (id, booked, capacity): {not_full[:10]}")
    booked_here = sum(counters.get(pk, 0) for pk in slot_ids)
    if booked_here != successes:
        failures.append(f"{successes} successes but {booked_here} places taken in this run")
    return failures


# --- scenarios --------------------------------------------------------------------------


def run_scenario(
    scenario: str,
    *,
    workers: int,
    attempts: int,
    centre_id: int,
    vaccine_id: int,
    hot_capacity: int,
    seed: int,
) -> RunResult:
    from vaxbook.bookings.models import Appointment

    rng = random.Random(seed)
    if scenario == "uniform":
        slot_count = max(100, attempts // 10)
        capacity = 2 * math.ceil(attempts / slot_count)  # twice the room needed
        slot_ids = create_slots(centre_id, vaccine_id, slot_count, capacity)
        targets = [slot_ids[i % slot_count] for i in range(attempts)]  # even, then shuffled
        rng.shuffle(targets)
    else:
        per_slot = max(1, hot_capacity // HOT_SLOTS)
        slot_ids = create_slots(centre_id, vaccine_id, HOT_SLOTS, per_slot)
        targets = [rng.choice(slot_ids) for _ in range(attempts)]
    citizen_ids = create_citizens(attempts, f"{scenario}-{workers}-{seed}")
    plan = list(zip(citizen_ids, targets, strict=True))
    rows_before = Appointment.objects.count()

    results = run_workers(plan, workers)

    outcomes = Counter(o for r in results for o in r.outcomes)
    latencies = sorted(ms for r in results for ms in r.latencies_ms)
    errors = [e for r in results for e in r.errors]
    wall = max(r.finished for r in results) - min(r.started for r in results)
    successes = outcomes["ok"]
    slot_full = outcomes["slot_full"]
    done = sum(outcomes.values())
    failures = check_database(
        slot_ids, successes, {s for r in results for s in r.refused_slots}, rows_before
    )
    if done != attempts:
        failures.append(f"{attempts} attempts planned, {done} answered")
    if errors:
        failures.append(f"{len(errors)} unexpected exception(s), e.g. {errors[0]}")
    other_kinds = Counter(o for o in outcomes.elements() if o not in ("ok", "slot_full"))
    other_kinds.update(e.split(":", 1)[0] for e in errors if e.startswith("worker "))
    return RunResult(
        scenario=scenario,
        workers=workers,
        attempts=attempts,
        successes=successes,
        slot_full=slot_full,
        other=done - successes - slot_full,
        wall_s=wall,
        attempts_per_s=done / wall if wall > 0 else math.nan,
        ok_per_s=successes / wall if wall > 0 else math.nan,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else math.nan,
        cpu_ms=sum(r.cpu_s for r in results) * 1000 / done if done else math.nan,
        failures=failures,
        other_kinds=other_kinds,
    )


def print_table(runs: list[RunResult]) -> None:
    header = (
        f"{'scenario':<9} {'workers':>7} {'attempts':>8} {'ok':>6} {'slot_full':>9} "
        f"{'other':>5} {'wall s':>6} {'attempts/s':>10} {'ok/s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'cpu ms':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        print(
            f"{r.scenario:<9} {r.workers:>7} {r.attempts:>8} {r.successes:>6} "
            f"{r.slot_full:>9} {r.other:>5} {r.wall_s:>6.2f} {r.attempts_per_s:>10.0f} "
            f"{r.ok_per_s:>7.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.max_ms:>7.1f} "
            f"{r.cpu_ms:>6.2f}"
        )


def positive_ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("expected positive integers, e.g. 8 or 1,4,8")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--workers", type=positive_ints, default=[8], help="processes; a list runs each (1,8)"
    )
    parser.add_argument("--bookings", type=int, default=2000, help="attempts per scenario run")
    parser.add_argument(
        "--hot-capacity",
        type=int,
        default=None,
        help="total places in the 10 hot slots (default: a quarter of --bookings)",
    )
    parser.add_argument(
        "--scenarios", default="uniform,hotspot", help="comma-separated: uniform, hotspot"
    )
    parser.add_argument("--seed", type=int, default=20211, help="random seed of the plans")
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not scenarios or any(s not in ("uniform", "hotspot") for s in scenarios):
        parser.error("--scenarios takes uniform and/or hotspot")
    if args.bookings < 1:
        parser.error("--bookings must be positive")
    hot_capacity = args.hot_capacity or max(HOT_SLOTS, args.bookings // 4)

    began = time.monotonic()
    engine, url = bench_database_url()
    recreate_database(engine, url)
    os.environ["DATABASE_URL"] = url  # this process and the spawned workers use it

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    centre_id, vaccine_id = create_fixed_data()

    print(f"machine:  {machine_description()}")
    print(f"database: {database_description()}")
    print(
        f"plan:     {args.bookings} attempts per run; uniform over "
        f"{max(100, args.bookings // 10)} slots with twice the room needed; hotspot on "
        f"{HOT_SLOTS} slots with {hot_capacity} places in all "
        f"(setup {time.monotonic() - began:.1f} s)"
    )
    print()

    runs: list[RunResult] = []
    for workers in args.workers:
        for scenario in scenarios:
            run = run_scenario(
                scenario,
                workers=workers,
                attempts=args.bookings,
                centre_id=centre_id,
                vaccine_id=vaccine_id,
                hot_capacity=hot_capacity,
                seed=args.seed + workers,
            )
            runs.append(run)
            status = "ok" if not run.failures else "FAIL"
            print(
                f"  {scenario} x{workers}: {run.wall_s:.2f} s, checks {status}"
                + (f", other outcomes {dict(run.other_kinds)}" if run.other_kinds else ""),
                flush=True,
            )

    print()
    print_table(runs)
    print()
    failed = [r for r in runs if r.failures]
    for r in failed:
        for failure in r.failures:
            print(f"FAIL {r.scenario} x{r.workers}: {failure}")
    if not failed:
        print(
            "checks: no slot over capacity; appointment rows == Slot.booked on every slot; "
            "rows == successes; every slot that refused as full is full"
        )
    print(f"total time {time.monotonic() - began:.1f} s; {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
