"""HTTP booking storm: citizens booking through `POST /api/v1/appointments` all at once.

What is measured
----------------
A real server (gunicorn, sync workers, one per core, by default; `--server granian` for the
server of `make run`) on a throwaway PostgreSQL database (`<name>_httpstorm`, dropped and
recreated at each start), loaded by wrk with `--connections` clients (64 by default). Every
request is a different pre-registered citizen with their own bearer token, booking dose 1
with an Idempotency-Key: every feature is on (token authentication, rate limits, the
eligibility rules, idempotency, the signed credential in the answer, the confirmation
enqueued in the booking's transaction).

- uniform: the requests spread over many slots with room for all of them (expect 201).
- hotspot: all requests aim at 10 slots with fewer places than requests (mostly 409).

Before each measured run, the server gets `--warm-up` seconds (2 by default) of bookings
through the same endpoint, by citizens into slots of their own (with room for all: the
hot spot's refusals are not warmed), which are not counted, and the measured run starts
once the server has answered them all: a storm in production meets workers that have long
been serving, not ones answering their first requests (`--warm-up 0` measures those too).

Each scenario prints bookings/s (201 answers per second of wall time), answers/s, p50/p99
as wrk saw them, the status mix, then checks the database: no slot over capacity, the
appointment rows equal the slots' `booked` counters, and one row per 201.

Then the same number of bookings runs through the service layer alone
(`book_appointment` in `--workers` processes, as bench/booking_storm.py does), and the
ratio of the two rates is the cost of HTTP, authentication, idempotency, rate limiting and
the credential.

Last, the yardsticks: the uniform storm again, against a bare Django view doing nothing but
the booking transaction (bench/reference_app.py), served by the same server on the same
machine, once through the ORM and once with hand-written SQL. The API's target was set
against the ORM view, and a machine's speed moves every figure here by a factor of two or
more, so the script prints the API's rate as a share of each view's: those shares, unlike
bookings/s, can be compared between machines.

The rate limits are raised for the run (RATE_LIMIT_* below): the storm is one client
address, and the point is the booking path, not the limiter refusing it (which still runs
its check on every request). The load generator, the server, PostgreSQL and Redis share
the machine: the figures are a floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook .venv/bin/python bench/http_storm.py
    .venv/bin/python bench/http_storm.py --seconds 10 --connections 64 --server granian
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm, http_servers  # noqa: E402
from bench.machine import load_average, machine_description  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["DEBUG"] = "false"

HOST = http_servers.HOST
HOT_SLOTS = 10
# Far above what one client address sends in a run: the limiter still runs on every request.
RATE_LIMITS = {"RATE_LIMIT_BOOKING_ADDRESS": "1000000/m"}
# The rate limits count in Redis, shared by the server's workers, as in production.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
# The yardsticks: a bare Django view doing nothing but the booking transaction, through the
# ORM (as the view the target was set against) and with hand-written SQL.
REFERENCE_APP = "bench.reference_app:application"
BARE_VIEWS = ("orm", "sql")
REFERENCE_CITIZENS_FACTOR = 4
# The API's target (issue "JSON API v1"), and what the bare ORM view did on the machine it
# was set on.
TARGET_BOOKINGS_PER_S = 500
TARGET_P99_MS = 200
REFERENCE_AT_TARGET_LOW, REFERENCE_AT_TARGET_HIGH = 480, 720
REFERENCE_AT_TARGET = f"{REFERENCE_AT_TARGET_LOW}-{REFERENCE_AT_TARGET_HIGH}/s"
# Citizens per second of warm-up: the API uses a part of them; the bare view gets
# REFERENCE_CITIZENS_FACTOR times as many, as in its measured run.
WARM_UP_CITIZENS_PER_SECOND = 2_000

WRK_SCRIPT = r"""
-- Each request is the next citizen of this thread: thread t of T takes plan rows t, t+T, ...
local rows = {}
for line in io.lines(os.getenv("STORM_PLAN")) do
  local token, slot = line:match("([^ ]+) (%d+)")
  rows[#rows + 1] = {token, slot}
end
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(os.getenv("STORM_THREADS"))
  next_row = id + 1
  statuses = {}
  exhausted = 0
end

function request()
  local row = rows[next_row]
  if row == nil then
    exhausted = exhausted + 1
    row = rows[1]  -- out of citizens: a repeat, answered 409 already_booked or replayed
  end
  local key = "storm-" .. next_row
  next_row = next_row + nthreads
  return wrk.format("POST", "/api/v1/appointments", {
    ["Authorization"] = "Bearer " .. row[1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, '{"slot_id": ' .. row[2] .. ', "dose_number": 1}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, repeats = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
    repeats = repeats + thread:get("exhausted")
  end
  for status, n in pairs(total) do
    io.write(string.format("STORM status %d %d\n", status, n))
  end
  io.write(string.format("STORM summary %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), repeats))
end
"""


@dataclass
class HttpRun:
    scenario: str
    seconds: float
    requests: int
    statuses: Counter[int]
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    failures: list[str]

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)


def issue_tokens(citizen_ids: list[int]) -> list[str]:
    """A bearer token for each citizen, stored as POST /auth/token stores it (hashing a
    password per citizen to sign in would take minutes)."""
    import secrets

    from django.conf import settings
    from django.utils import timezone

    from vaxbook.accounts.models import Citizen
    from vaxbook.api import tokens
    from vaxbook.api.models import ApiToken

    users = {
        c.pk: c.user for c in Citizen.objects.select_related("user").filter(pk__in=citizen_ids)
    }
    now = timezone.now()
    expires = now + dt.timedelta(seconds=settings.API_TOKEN_LIFETIME_SECONDS)
    raw = [secrets.token_urlsafe(tokens.TOKEN_BYTES) for _ in citizen_ids]
    ApiToken.objects.bulk_create(
        ApiToken(
            user=users[pk],
            digest=tokens.digest(token),
            auth_hash=users[pk].get_session_auth_hash(),
            created_at=now,
            expires_at=expires,
        )
        for pk, token in zip(citizen_ids, raw, strict=True)
    )
    return raw


def run_http_scenario(
    scenario: str,
    args: argparse.Namespace,
    centre_id: int,
    vaccine_id: int,
    port: int,
    env: dict[str, str],
    *,
    bare_view: str | None = None,
) -> HttpRun:
    """Load the API with `scenario`, or with `bare_view` ("orm" or "sql") the bare booking
    view of bench/reference_app.py (whose "token" is the citizen's id)."""
    reference = bare_view is not None
    from vaxbook.bookings.models import Appointment

    # The bare view books several times as fast as the API: it needs as many more citizens.
    attempts = args.citizens * (REFERENCE_CITIZENS_FACTOR if reference else 1)
    if scenario == "uniform":
        slot_count = max(100, attempts // 20)
        slot_ids = booking_storm.create_slots(
            centre_id, vaccine_id, slot_count, 2 * attempts // slot_count + 1
        )
        targets = [slot_ids[i % slot_count] for i in range(attempts)]
    else:
        slot_ids = booking_storm.create_slots(
            centre_id, vaccine_id, HOT_SLOTS, args.hot_capacity // HOT_SLOTS
        )
        targets = [slot_ids[i % HOT_SLOTS] for i in range(attempts)]
    tag = f"http-{f'bare-{bare_view}' if reference else scenario}"
    citizens = booking_storm.create_citizens(attempts, tag)
    bearer = [str(pk) for pk in citizens] if reference else issue_tokens(citizens)
    # The warm-up books other citizens into slots of its own, so that it takes no place
    # from the scenario (the hot spot's capacity) and none of its rows is counted.
    warm_count = (
        WARM_UP_CITIZENS_PER_SECOND * args.warm_up * (REFERENCE_CITIZENS_FACTOR if reference else 1)
    )
    warm_slots = booking_storm.create_slots(centre_id, vaccine_id, 10, warm_count // 10 + 1)
    warm_citizens = booking_storm.create_citizens(warm_count, f"{tag}-warm-up")
    warm_bearer = [str(pk) for pk in warm_citizens] if reference else issue_tokens(warm_citizens)

    with (
        tempfile.NamedTemporaryFile("w", suffix=".plan") as plan,
        tempfile.NamedTemporaryFile("w", suffix=".plan") as warm_plan,
        tempfile.NamedTemporaryFile("w", suffix=".lua") as script,
    ):
        plan.write(
            "".join(f"{token} {slot}\n" for token, slot in zip(bearer, targets, strict=True))
        )
        plan.flush()
        warm_plan.write(
            "".join(f"{token} {warm_slots[i % 10]}\n" for i, token in enumerate(warm_bearer))
        )
        warm_plan.flush()
        script.write(WRK_SCRIPT)
        script.flush()
        app = REFERENCE_APP if reference else http_servers.APP
        health = f"http://{HOST}:{port}/healthz"
        if reference:
            env = {**env, "BARE_VIEW": str(bare_view)}
        with http_servers.running(server(args, app), env, health) as session:
            if args.warm_up:
                warm = _wrk(args, port, script.name, warm_plan.name, args.warm_up)
                _check_warm_up(warm.stdout)
                _wait_until_idle(warm_slots)
            cpu_before = http_servers.session_cpu_s(session)
            done = _wrk(args, port, script.name, plan.name, args.seconds)
            server_cpu = http_servers.session_cpu_s(session) - cpu_before
    if os.environ.get("STORM_DEBUG"):
        print(done.stdout, done.stderr)
    statuses = _statuses(done.stdout)
    summary = _summary(done.stdout)
    if summary is None:
        raise RuntimeError(f"no summary in wrk output:\n{done.stdout}\n{done.stderr}")
    requests, duration_us, p50_us, p99_us, repeats = summary
    created = statuses.get(201, 0)
    # wrk stops at its deadline with requests in flight: the server may still commit those,
    # so the database, not the answers counted, says how many bookings there are. The
    # scenario's slots are its own: the warm-up's last answers cannot be counted.
    stored = Appointment.objects.filter(slot_id__in=slot_ids).count()
    failures = booking_storm.check_database(
        slot_ids, stored, set(), Appointment.objects.count() - stored
    )
    if not 0 <= stored - created <= args.connections:
        failures.append(f"{created} answered 201 but {stored} appointments stored")
    if repeats:
        failures.append(f"ran out of citizens: {repeats} repeated requests (raise --citizens)")
    unexpected = {s: n for s, n in statuses.items() if s not in (201, 409)}
    if unexpected:
        failures.append(f"unexpected statuses {unexpected}")
    return HttpRun(
        scenario=f"bare {bare_view}" if reference else scenario,
        seconds=duration_us / 1e6,
        requests=requests,
        statuses=statuses,
        p50_ms=p50_us / 1000,
        p99_ms=p99_us / 1000,
        cpu_ms=server_cpu * 1000 / requests if requests else float("nan"),
        failures=failures,
    )


def _statuses(wrk_output: str) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for line in wrk_output.splitlines():
        if line.startswith("STORM status"):
            _, _, status, n = line.split()
            statuses[int(status)] += int(n)
    return statuses


def _summary(wrk_output: str) -> list[int] | None:
    """requests, duration µs, p50 µs, p99 µs and repeats, as WRK_SCRIPT's done() wrote them."""
    for line in wrk_output.splitlines():
        if line.startswith("STORM summary"):
            return [int(value) for value in line.split()[2:]]
    return None


def _check_warm_up(wrk_output: str) -> None:
    statuses = _statuses(wrk_output)
    odd = {status: n for status, n in statuses.items() if status not in (201, 409)}
    summary = _summary(wrk_output)
    if not statuses or odd or summary is None or summary[-1]:  # the last figure: repeats
        raise RuntimeError(f"the warm-up failed: answers {dict(statuses)}, wrk said:\n{wrk_output}")


def _wait_until_idle(slot_ids: list[int]) -> None:
    """Until the server has answered what wrk left queued when it stopped (dozens of
    requests, all of them bookings in `slot_ids`): the measured run starts on idle workers."""
    from vaxbook.bookings.models import Appointment

    counts: list[int] = []
    for _ in range(100):
        counts.append(Appointment.objects.filter(slot_id__in=slot_ids).count())
        if len(counts) >= 4 and len(set(counts[-4:])) == 1:  # no booking for 0.9 s
            return
        time.sleep(0.3)
    raise RuntimeError("the server kept booking warm-up requests for 30 s after the warm-up")


def _wrk(
    args: argparse.Namespace, port: int, script: str, plan: str, seconds: int
) -> subprocess.CompletedProcess[str]:
    """wrk with `args.connections` clients for `seconds`, each request the next row of
    `plan` (the WRK_SCRIPT in `script`)."""
    done = subprocess.run(  # noqa: S603 (our own command, no shell)
        [
            shutil.which("wrk") or "wrk",
            "-t2",
            f"-c{args.connections}",
            f"-d{seconds}s",
            "-s",
            script,
            f"http://{HOST}:{port}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "STORM_PLAN": plan, "STORM_THREADS": "2"},
        timeout=seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


def server(args: argparse.Namespace, app: str = http_servers.APP) -> http_servers.Server:
    if args.server == "production" and app == http_servers.APP:
        return http_servers.production(args.port, args.workers)[0]
    name = "gunicorn-sync" if args.server == "gunicorn" else "granian-threads"
    return http_servers.server(name, args.port, args.workers, args.threads, app)


def queries_per_booking(centre_id: int, vaccine_id: int) -> int:
    """The SQL statements one POST /api/v1/appointments runs, through the test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    slot_id = booking_storm.create_slots(centre_id, vaccine_id, 1, 5)[0]
    citizen = booking_storm.create_citizens(1, "count")
    token = issue_tokens(citizen)[0]
    from vaxbook.centres import policy

    client = Client(HTTP_HOST=HOST)  # what the server's ALLOWED_HOSTS accepts
    policy.current_rules()  # a server reads the policy once every few seconds, not per booking
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/appointments",
            data={"slot_id": slot_id, "dose_number": 1},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "count-1"},
        )
    if response.status_code != 201:
        raise RuntimeError(
            f"counting booking failed: {response.status_code} {response.content[:300]!r}"
        )
    return len(captured.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--server",
        choices=["gunicorn", "granian", "production"],
        default="gunicorn",
        help="production: deploy/web, granian as `make run` starts it (the bare views: granian)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4, help="granian's threads per worker")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--citizens",
        type=int,
        default=15_000,
        help=f"per scenario (the yardstick gets {REFERENCE_CITIZENS_FACTOR} times as many)",
    )
    parser.add_argument("--hot-capacity", type=int, default=2_000)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=2,
        help="seconds of load before each measured run, not counted (0: none)",
    )
    parser.add_argument("--scenarios", default="uniform,hotspot")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian or Ubuntu: sudo apt-get install wrk")
        return 2
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        print("The HTTP storm runs on PostgreSQL: set DATABASE_URL=postgres://...")
        return 2

    began = time.monotonic()
    parts = urllib.parse.urlsplit(configured)
    name = urllib.parse.unquote(parts.path.lstrip("/")) or "postgres"
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}_httpstorm"))
    booking_storm.recreate_database("postgresql", url)
    os.environ["DATABASE_URL"] = url
    os.environ.update(RATE_LIMITS)
    os.environ["REDIS_URL"] = REDIS_URL

    os.environ["ALLOWED_HOSTS"] = HOST
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    centre_id, vaccine_id = booking_storm.create_fixed_data()
    args.port = http_servers.free_port()
    env = {**http_servers.app_env(), "DATABASE_URL": url, "REDIS_URL": REDIS_URL, **RATE_LIMITS}
    env.update(http_servers.production(args.port, args.workers)[1])

    print(f"machine:  {machine_description()}")
    print(f"database: {booking_storm.database_description()}")
    print(
        f"server:   {server(args).name}, {args.workers} workers; "
        f"load: wrk -t2 -c{args.connections} -d{args.seconds}s, after {args.warm_up} s of warm-up"
    )
    statements = queries_per_booking(centre_id, vaccine_id)
    print(f"queries:  {statements} SQL statements per POST /api/v1/appointments")
    print()

    runs = []
    for scenario in scenarios:
        run = run_http_scenario(scenario, args, centre_id, vaccine_id, args.port, env)
        runs.append(run)
        verdict = "ok" if not run.failures else "FAIL"
        print(f"  http {scenario}: {run.requests} requests, checks {verdict}", flush=True)
    # The yardsticks on this machine, on uniform slots: see bench/reference_app.py.
    bare = {}
    for kind in BARE_VIEWS:
        bare[kind] = run_http_scenario(
            "uniform", args, centre_id, vaccine_id, args.port, env, bare_view=kind
        )
        verdict = "ok" if not bare[kind].failures else "FAIL"
        print(f"  http bare {kind}: {bare[kind].requests} requests, checks {verdict}", flush=True)

    # The same work through the service layer alone, in as many processes as server workers.
    service = booking_storm.run_scenario(
        "uniform",
        workers=args.workers,
        attempts=max((r.requests for r in runs), default=2000),
        centre_id=centre_id,
        vaccine_id=vaccine_id,
        hot_capacity=args.hot_capacity,
        seed=7,
    )

    print()
    header = (
        f"{'path':<16} {'bookings/s':>10} {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'201':>6} {'409':>6} {'other':>5} {'cpu ms':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in [*runs, *bare.values()]:
        conflicts = r.statuses.get(409, 0)
        other = r.requests - r.created - conflicts
        print(
            f"{'http ' + r.scenario:<16} {r.created / r.seconds:>10.0f} "
            f"{r.requests / r.seconds:>9.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} "
            f"{r.created:>6} {conflicts:>6} {other:>5} {r.cpu_ms:>6.2f}"
        )
    print(
        f"{'service uniform':<16} {service.ok_per_s:>10.0f} {service.attempts_per_s:>9.0f} "
        f"{service.p50_ms:>7.1f} {service.p99_ms:>7.1f} {service.successes:>6} "
        f"{service.slot_full:>6} {service.other:>5} {service.cpu_ms:>6.2f}"
    )
    print("(cpu ms: CPU time of the server processes, or of the service workers, per answer)")
    uniform = next((r for r in runs if r.scenario == "uniform"), None)
    if uniform and uniform.created and all(run.created for run in bare.values()):
        rate = uniform.created / uniform.seconds
        ratio = service.ok_per_s / rate
        print(f"HTTP overhead: the service layer alone books {ratio:.2f}x as fast as the API")
        orm, sql = (bare[kind].created / bare[kind].seconds for kind in BARE_VIEWS)
        print(
            f"Yardstick: the API books at {rate / orm:.0%} of the rate of a bare Django view"
            f" doing only the booking transaction through the ORM ({orm:.0f}/s here, the view"
            f" the target was set against, {REFERENCE_AT_TARGET} there), and at {rate / sql:.0%}"
            f" of the same view with hand-written SQL ({sql:.0f}/s; bench/reference_app.py)"
        )
        met = rate >= TARGET_BOOKINGS_PER_S and uniform.p99_ms < TARGET_P99_MS
        print(
            f"Target ({TARGET_BOOKINGS_PER_S} bookings/s with p99 under {TARGET_P99_MS} ms, "
            f"uniform): {'met' if met else 'missed'} on this machine; where it was set, it asked"
            f" for {TARGET_BOOKINGS_PER_S / REFERENCE_AT_TARGET_HIGH:.0%}-"
            f"{TARGET_BOOKINGS_PER_S / REFERENCE_AT_TARGET_LOW:.0%} of the bare ORM view's rate"
        )
    failed = [(r.scenario, f) for r in [*runs, *bare.values()] for f in r.failures]
    failed += [("service", f) for f in service.failures]
    for scenario, failure in failed:
        print(f"FAIL {scenario}: {failure}")
    if not failed:
        print("checks: no slot over capacity; appointment rows == Slot.booked; rows == 201s")
    print(f"total time {time.monotonic() - began:.1f} s; {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
