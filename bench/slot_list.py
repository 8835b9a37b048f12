"""Slot list and centre search: server time of the pages a citizen reads before booking,
with 100,000 slots in the database.

What is measured
----------------
The database gets `--slots` slots (100,000 by default): `--centres` centres in ten towns,
two vaccines each, 10-minute slots over the opening hours of 40 days (5 past, 35 coming),
about a third of them partly booked and one in ten full. Then Django's test Client asks,
one request after another, for

- the slot list of a day at a centre (`GET /centres/<id>/?date=YYYY-MM-DD`, a random
  centre and coming day each time),
- the centre search by town (`GET /centres/?q=<town>`), and the search of all centres
  (`GET /centres/`), which computes every centre's next free time and vaccines.

The clock runs around each `client.get`: URL routing, middleware, the view, its queries and
the template, as a WSGI worker spends it, without the network and the web server. Each
page gets a warm-up of 20 requests first (connections opened, templates compiled).
`cpu ms` is this process's CPU time per request: Python, plus SQLite itself, which runs
in the process (PostgreSQL's server process is not counted). Wall time well above it
means the request waited, for the database server or for a core other work had taken.

It runs against a throwaway database, never the configured one: with no DATABASE_URL (or
an SQLite one) a new SQLite file in a temporary directory; with a PostgreSQL DATABASE_URL,
`<name>_slot_bench` on the same server (dropped and recreated at each start). The settings
are production's (DEBUG off, WAL, the psycopg pool), except that static files are named
without the collectstatic manifest.

`--explain` prints the database's plan for the queries each page runs.

    .venv/bin/python bench/slot_list.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook .venv/bin/python bench/slot_list.py
    .venv/bin/python bench/slot_list.py --requests 2000 --explain
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.booking_storm import database_description, percentile, recreate_database  # noqa: E402
from bench.machine import load_average, machine_description  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not what production does
os.environ["ALLOWED_HOSTS"] = "testserver"  # the test Client's host name
# Static files are not collected for a benchmark; WhiteNoise would say so at each start.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

TARGET_P95_MS = 50.0
WARM_UP = 20
DAYS_BEFORE, DAYS_AFTER = 5, 35
TOWNS = (
    "Madrid",
    "Barcelona",
    "Valencia",
    "Sevilla",
    "Zaragoza",
    "Málaga",
    "Murcia",
    "Bilbao",
    "Valladolid",
    "Las Palmas de Gran Canaria",
)
VACCINES = (
    ("Comirnaty", "Pfizer-BioNTech", 2, 21, 12, "208"),
    ("Spikevax", "Moderna", 2, 28, 12, "207"),
    ("Vaxzevria", "AstraZeneca", 2, 28, 18, "210"),
    ("Jcovden", "Janssen", 1, 0, 18, "212"),
    ("Nuvaxovid", "Novavax", 2, 21, 12, "211"),
)


@dataclass
class PageResult:
    name: str
    requests: int
    queries: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms: float


def bench_database_url() -> tuple[str, str]:
    """(engine, URL of this benchmark's own throwaway database)."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured or configured.startswith("sqlite"):
        directory = Path(tempfile.mkdtemp(prefix="vaxbook-slot-bench-"))
        os.environ["VAXBOOK_VAR_DIR"] = str(directory)
        return "sqlite", f"sqlite:///{directory / 'slot_list.sqlite3'}"
    parts = urllib.parse.urlsplit(configured)
    name = urllib.parse.unquote(parts.path.lstrip("/")) or "postgres"
    bench_name = urllib.parse.quote(f"{name}_slot_bench")
    return "postgresql", urllib.parse.urlunsplit(parts._replace(path="/" + bench_name))


# --- data -------------------------------------------------------------------------------


def create_data(*, slots: int, centres: int, seed: int) -> tuple[list[int], list[dt.date]]:
    """Centres, vaccines and `slots` slots; returns the centre ids and the coming days."""
    from django.utils import timezone

    from vaxbook.centres.models import Centre, Slot, Vaccine

    rng = random.Random(seed)
    vaccines = Vaccine.objects.bulk_create(
        Vaccine(
            name=name,
            manufacturer=maker,
            doses_in_primary_course=doses,
            minimum_days_between_doses=days,
            minimum_age=age,
            cvx_code=cvx,
        )
        for name, maker, doses, days, age, cvx in VACCINES
    )
    centre_rows = Centre.objects.bulk_create(
        Centre(
            name=f"Centro de Vacunación {i + 1}",
            address=f"Calle Mayor {i + 1}",
            postcode=f"{28001 + i:05d}",
            town=TOWNS[i % len(TOWNS)],
            latitude=Decimal("40.41831") + Decimal(i) / 100,
            longitude=Decimal("-3.70275") + Decimal(i) / 100,
            time_zone="Atlantic/Canary" if i % len(TOWNS) == len(TOWNS) - 1 else "Europe/Madrid",
        )
        for i in range(centres)
    )
    days = DAYS_BEFORE + DAYS_AFTER
    per_centre_day = max(1, slots // (centres * days))  # over two vaccines
    step = dt.timedelta(minutes=10)
    today = timezone.localdate()
    batch: list[Slot] = []
    made = 0
    for centre in centre_rows:
        offered = rng.sample(vaccines, 2)
        centre.vaccines.set(offered)
        for day_offset in range(-DAYS_BEFORE, DAYS_AFTER):
            day = today + dt.timedelta(days=day_offset)
            opens = dt.datetime.combine(day, dt.time(9), tzinfo=centre.zone)
            for i in range(per_centre_day):
                if made >= slots:
                    break
                starts = opens + (i // 2) * step
                capacity = rng.randint(2, 6)
                roll = rng.random()
                booked = capacity if roll < 0.1 else rng.randint(1, capacity) if roll < 0.4 else 0
                batch.append(
                    Slot(
                        centre=centre,
                        vaccine=offered[i % 2],
                        starts_at=starts,
                        ends_at=starts + step,
                        capacity=capacity,
                        booked=booked,
                    )
                )
                made += 1
            if len(batch) >= 5000:
                Slot.objects.bulk_create(batch)
                batch.clear()
    Slot.objects.bulk_create(batch)
    coming = [today + dt.timedelta(days=d) for d in range(1, DAYS_AFTER)]
    return [c.pk for c in centre_rows], coming


# --- measuring --------------------------------------------------------------------------


def queries_of(path: str) -> list[tuple[str, Any]]:
    """The statements (SQL, parameters) one GET of `path` runs. (CaptureQueriesContext
    would see none: each request begins by clearing the connection's query log.)"""
    from django.db import connection
    from django.test import Client

    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        Client().get(path)
    return statements


def measure(name: str, paths: Callable[[], str], requests: int) -> PageResult:
    """Server time of `requests` GETs of the paths `paths()` returns, in milliseconds."""
    from django.test import Client

    client = Client()
    for _ in range(WARM_UP):
        response = client.get(paths())
        if response.status_code != 200:
            raise SystemExit(f"{name}: {response.status_code} for {response.request['PATH_INFO']}")
    queries = len(queries_of(paths()))
    clock = time.perf_counter
    latencies: list[float] = []
    cpu_began = time.process_time()
    for _ in range(requests):
        path = paths()
        began = clock()
        response = client.get(path)
        latencies.append((clock() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {response.status_code} for {path}")
    cpu_ms = (time.process_time() - cpu_began) * 1000 / requests
    latencies.sort()
    return PageResult(
        name=name,
        requests=requests,
        queries=queries,
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1],
        cpu_ms=cpu_ms,
    )


def explain(centre_id: int, day: dt.date, town: str) -> None:
    """The database's plan for every query of one slot list and one search."""
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    for path in (f"/centres/{centre_id}/?date={day.isoformat()}", f"/centres/?q={town}"):
        statements = queries_of(path)
        print(f"--- {path}: {len(statements)} queries")
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            print(f"\n{sql}\n    params: {params}")
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql, params)
                for row in cursor.fetchall():
                    print("   ", " | ".join(str(col) for col in row))
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--slots", type=int, default=100_000, help="slots in the database")
    parser.add_argument("--centres", type=int, default=50, help="centres holding them")
    parser.add_argument("--requests", type=int, default=500, help="measured requests per page")
    parser.add_argument("--seed", type=int, default=20211, help="random seed of data and asks")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args()
    if args.slots < 1 or args.centres < 1 or args.requests < 1:
        parser.error("--slots, --centres and --requests must be positive")

    began = time.monotonic()
    engine, url = bench_database_url()
    recreate_database(engine, url)
    os.environ["DATABASE_URL"] = url

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from vaxbook.centres.models import Slot

    # The hashed names come from collectstatic's manifest, which a benchmark does not build.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()

    call_command("migrate", verbosity=0, interactive=False)
    centre_ids, days = create_data(slots=args.slots, centres=args.centres, seed=args.seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # fresh statistics, as autovacuum would give
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    total = Slot.objects.count()

    print(f"machine:  {machine_description()}")
    print(f"database: {database_description()}")
    print(
        f"data:     {total:,} slots at {len(centre_ids)} centres in {len(TOWNS)} towns over "
        f"{DAYS_BEFORE + DAYS_AFTER} days (setup {time.monotonic() - began:.1f} s); "
        f"{args.requests} measured requests per page, one at a time"
    )
    print()

    rng = random.Random(args.seed)
    pages = [
        (
            "slot list of a day",
            lambda: f"/centres/{rng.choice(centre_ids)}/?date={rng.choice(days).isoformat()}",
        ),
        (
            "search by town",
            lambda: f"/centres/?q={urllib.parse.quote(rng.choice(TOWNS))}",
        ),
        ("search, all centres", lambda: "/centres/"),
    ]
    results = [measure(name, paths, args.requests) for name, paths in pages]

    header = (
        f"{'page':<22} {'requests':>8} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'cpu ms':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<22} {r.requests:>8} {r.queries:>7} {r.p50_ms:>7.1f} {r.p95_ms:>7.1f} "
            f"{r.p99_ms:>7.1f} {r.max_ms:>7.1f} {r.cpu_ms:>6.1f}"
        )
    print()
    over = [r.name for r in results if r.p95_ms >= TARGET_P95_MS]
    verdict = f"over the target on: {', '.join(over)}" if over else "all within the target"
    print(f"target: p95 < {TARGET_P95_MS:.0f} ms; {verdict}")

    if args.explain:
        print()
        explain(centre_ids[0], days[0], TOWNS[0])
    print(f"total time {time.monotonic() - began:.1f} s; {load_average()}")
    if engine == "sqlite":
        from django.db import connections

        connections.close_all()
        shutil.rmtree(Path(urllib.parse.urlsplit(url).path).parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
