"""Scale-out: the opening mix through nginx against the local cluster (`make cluster`).

What is measured
----------------
wrk (-t2, `--connections` 64) over TLS to nginx, the mix people make on opening morning:
for each booking, `--reads` availability reads before it (15 by default: an
estimate of one person's path to a booking: a search, two or three centres' days, each
day page and its slot list, again after a slot was gone). The reads go round the search
page (`/centres/?q=town`), the day pages (`/centres/<id>/?date=`) and the API's slot
lists of every demo centre over the next week; the bookings are `POST /api/v1/appointments`
with a bearer token and an Idempotency-Key, each a different citizen, into the free demo
slots of those same days, so every booking changes a day people are reading (and, with the
availability cache, makes it be computed again).

Each configuration restarts the app instances (`deploy/cluster/cluster apps`), warms
them up for 2 s, then runs for `--seconds`:

- 1, 2 and 3 app instances (one granian worker each), with and without the replica
  (DATABASE_REPLICA_URL), with and without the availability cache;
- the best of those again with nginx's one-second micro-cache of anonymous reads;
- the day page alone (the page that melts first), without cache, with the Redis cache and
  with nginx's micro-cache, against the target of 560 pages/s with p99 under 100 ms; the
  API's slot list alone, the same three ways;
- the mix's reads alone, for the capacity arithmetic.

It prints requests/s, bookings/s, p50/p99 (of all requests, from wrk), the CPU each part
used (read from /proc/<pid>/stat of its processes, bench/cluster.py), the database checks
(no slot over capacity, rows == counters, one stored appointment per 201, every booking
with its confirmation), and the capacity arithmetic: CPU per page view and per booking of
each tier, and the cores each tier needs for a national peak of 55,000 page views and
350 bookings a second (CoWIN's and Doctolib's peaks, issue "Beyond one machine").

Everything shares the machine with wrk itself: on one 2-core machine more instances cannot
add CPU, and the figures show where the CPU goes rather than what a server would do.
Booking rate limits are raised for the run (one wrk address). The cluster is left with
its default settings (2 instances, the replica, the micro-cache) afterwards.

    make cluster && .venv/bin/python bench/scale_out.py
    .venv/bin/python bench/scale_out.py --seconds 5 --instances 1,2 --reads 15
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm, cluster  # noqa: E402
from bench.machine import load_average, machine_description  # noqa: E402

# The national peak the capacity arithmetic sizes for: page views and bookings a second.
PEAK_PAGE_VIEWS = 55_000
PEAK_BOOKINGS = 350
DAY_PAGE_TARGET = 560  # pages/s with 64 clients: 10 times the uncached 56/s
DAY_PAGE_P99_MS = 100
DAYS_READ = 7
WARM_UP_S = 2
# One wrk address books for everyone: the per-address booking limit would stop it.
RATE_LIMITS = "RATE_LIMIT_BOOKING_ADDRESS=100000000/m RATE_LIMIT_BOOKING_ACCOUNT=1000/m"
# The availability cache's switch (vaxbook.centres.availability).
CACHE_OFF = "AVAILABILITY_CACHE=off"

WRK_SCRIPT = r"""
-- Every (reads + 1)-th request of a thread is a booking by its next citizen; the others
-- are reads, going round the paths file from a random start.
local paths, plan = {}, {}
for line in io.lines(os.getenv("MIX_PATHS")) do paths[#paths + 1] = line end
if os.getenv("MIX_PLAN") ~= "" then
  for line in io.lines(os.getenv("MIX_PLAN")) do
    local token, slot = line:match("([^ ]+) (%d+)")
    plan[#plan + 1] = {token, slot}
  end
end
local reads = tonumber(os.getenv("MIX_READS"))
local counter, threads = 0, {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(os.getenv("MIX_THREADS"))
  math.randomseed(id * 7919 + 1)
  n, next_row, next_path = 0, id + 1, math.random(#paths)
  statuses, exhausted = {}, 0
end

function request()
  n = n + 1
  local row = plan[next_row]
  if reads >= 0 and n % (reads + 1) == 0 and row ~= nil then
    next_row = next_row + nthreads
    return wrk.format("POST", "/api/v1/appointments", {
      ["Authorization"] = "Bearer " .. row[1],
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = "mix-" .. row[1]:sub(1, 20),
    }, '{"slot_id": ' .. row[2] .. ', "dose_number": 1}')
  end
  if reads >= 0 and n % (reads + 1) == 0 then exhausted = exhausted + 1 end
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

-- A read answers 200, a booking 201: the status tells them apart.
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, out = {}, 0
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do
      total[key] = (total[key] or 0) + count
    end
    out = out + thread:get("exhausted")
  end
  for key, count in pairs(total) do io.write(string.format("MIX status %d %d\n", key, count)) end
  io.write(string.format("MIX summary %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), out,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class Config:
    name: str
    instances: int = 2
    replica: bool = True
    cache: bool = True
    microcache: bool = False
    reads: int = 15  # reads per booking; -1: reads only
    paths: str = "mix"  # "mix", "day" (the day pages) or "api" (the API's slot lists)


@dataclass
class Run:
    config: Config
    seconds: float = 0.0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    socket_errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def booking_rate(self) -> float:
        return self.bookings / self.seconds if self.seconds else 0.0

    @property
    def bookings(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def page_views(self) -> int:
        return self.statuses.get(200, 0)


# --- the data ------------------------------------------------------------------------------


def read_paths(kind: str) -> list[str]:
    from vaxbook.centres.models import Centre

    centres = list(Centre.objects.filter(is_active=True).order_by("pk"))
    today = dt.datetime.now(dt.UTC).date()
    days = [(today + dt.timedelta(days=d)).isoformat() for d in range(1, DAYS_READ + 1)]
    day_pages = [f"/centres/{c.pk}/?date={day}" for c in centres for day in days]
    slot_lists = [f"/api/v1/centres/{c.pk}/slots?date={day}" for c in centres for day in days]
    if kind in ("day", "api"):
        return day_pages if kind == "day" else slot_lists
    searches = [f"/centres/?q={c.town.replace(' ', '+')}" for c in centres]
    paths = day_pages + slot_lists + searches
    random.Random(7).shuffle(paths)
    return paths


def booking_plan(count: int, tag: str) -> list[tuple[str, int]]:
    """`count` new citizens, each with a token and a free demo slot in the days read."""
    from django.db.models import F
    from django.utils import timezone

    from vaxbook.centres.models import Slot

    now = timezone.now()
    free = (
        Slot.objects.bookable(now)
        .filter(starts_at__lt=now + dt.timedelta(days=DAYS_READ + 1), booked__lt=F("capacity"))
        .values_list("pk", "capacity", "booked")
    )
    places = [pk for pk, capacity, booked in free for _ in range(capacity - booked)]
    random.Random(tag).shuffle(places)
    places = places[:count]
    tokens = cluster.citizens_with_tokens(len(places), tag)
    return list(zip(tokens, places, strict=True))


# --- one configuration -----------------------------------------------------------------------


def configure(config: Config) -> None:
    app_env = RATE_LIMITS if config.cache else f"{RATE_LIMITS} {CACHE_OFF}"
    cluster.control(
        "apps",
        env={
            "CLUSTER_INSTANCES": str(config.instances),
            "CLUSTER_REPLICA": "on" if config.replica else "off",
            "CLUSTER_MICROCACHE": "on" if config.microcache else "off",
            "CLUSTER_APP_ENV": app_env,
        },
    )


def wrk(url: str, args: argparse.Namespace, seconds: int, files: dict[str, str], reads: int) -> str:
    done = subprocess.run(  # noqa: S603 (our own command, no shell)
        [
            shutil.which("wrk") or "wrk",
            "-t2",
            f"-c{args.connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            files["script"],
            url,
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "MIX_PATHS": files["paths"],
            "MIX_PLAN": files.get("plan", ""),
            "MIX_READS": str(reads),
            "MIX_THREADS": "2",
        },
        timeout=seconds + 120,
        check=False,
    )
    if done.returncode != 0 or "MIX summary" not in done.stdout:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def measure(config: Config, args: argparse.Namespace, url: str, workdir: Path) -> Run:
    configure(config)
    files = {"script": str(workdir / "mix.lua"), "paths": str(workdir / f"{config.name}.paths")}
    Path(files["paths"]).write_text("\n".join(read_paths(config.paths)) + "\n")
    # Enough citizens for a fast run: bookings are at most a 1/(reads + 1) of the requests.
    tokens: list[str] = []
    if config.reads >= 0:
        plan = booking_plan(args.citizens, f"mix-{config.name}")
        tokens = [token for token, _ in plan]
        files["plan"] = str(workdir / f"{config.name}.plan")
        Path(files["plan"]).write_text("".join(f"{t} {s}\n" for t, s in plan))
    wrk(url, args, WARM_UP_S, {"script": files["script"], "paths": files["paths"]}, -1)
    before = cluster.cpu_by_tier()
    output = wrk(url, args, args.seconds, files, config.reads)
    run = Run(config, cpu=cluster.cpu_used(before, cluster.cpu_by_tier()))
    for line in output.splitlines():
        if line.startswith("MIX status"):
            _, _, status, n = line.split()
            run.statuses[int(status)] += int(n)
        elif line.startswith("MIX summary"):
            requests, duration_us, p50, p99, exhausted, errors = map(int, line.split()[2:])
            run.requests, run.seconds = requests, duration_us / 1e6
            run.p50_ms, run.p99_ms, run.socket_errors = p50 / 1000, p99 / 1000, errors
            if exhausted:
                run.failures.append(f"ran out of citizens or places ({exhausted} reads instead)")
    run.failures += check(run, tokens)
    return run


def check(run: Run, tokens: list[str]) -> list[str]:
    """The database after a run: bench/cluster.py's checks, and one stored row per 201."""
    from vaxbook.api import tokens as api_tokens
    from vaxbook.api.models import ApiToken
    from vaxbook.bookings.models import Appointment
    from vaxbook.notifications.events import Event

    time.sleep(1)  # the answers wrk stopped waiting for
    failures, _ = booking_storm.check_invariants()
    users = ApiToken.objects.filter(digest__in=[api_tokens.digest(t) for t in tokens]).values(
        "user_id"
    )
    stored = Appointment.objects.filter(person__user_id__in=users).count()
    # wrk stops at its deadline with requests in flight: those may still be committed.
    if not 0 <= stored - run.bookings <= 64:
        failures.append(f"{run.bookings} answered 201 but {stored} appointments stored")
    unconfirmed = (
        Appointment.objects.filter(status="booked").exclude(messages__event=Event.BOOKED).count()
    )
    if unconfirmed:
        failures.append(f"{unconfirmed} booked appointments without their confirmation")
    odd = {status: n for status, n in run.statuses.items() if status not in (200, 201)}
    if odd:
        failures.append(f"unexpected answers {odd}")
    if run.socket_errors:
        failures.append(f"{run.socket_errors} socket errors")
    return failures


# --- printing --------------------------------------------------------------------------------


def print_table(runs: list[Run]) -> None:
    tiers = " ".join(f"{t[:7]:>7}" for t in cluster.TIERS)
    header = (
        f"{'configuration':<30} {'req/s':>6} {'book/s':>6} {'p50 ms':>7} {'p99 ms':>7}"
        f"  CPU s/s: {tiers} {'checks':>6}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        per_s = " ".join(f"{run.cpu[t] / max(run.seconds, 1e-9):>7.2f}" for t in cluster.TIERS)
        print(
            f"{run.config.name:<30} {run.rate:>6.0f} "
            f"{run.booking_rate:>6.1f} {run.p50_ms:>7.1f} {run.p99_ms:>7.1f}"
            f"           {per_s} {'ok' if not run.failures else 'FAIL':>6}"
        )
    print("(CPU s/s: CPU seconds each part used per second of the run, i.e. cores busy)")


def capacity(mix: Run, reads_only: Run) -> None:
    """CPU per page view from the reads-only run, per booking from what the mix used beyond
    its reads; the cores each tier needs for the national peak."""
    print()
    print(
        f"capacity arithmetic (from '{mix.config.name}' and '{reads_only.config.name}'): "
        f"{PEAK_PAGE_VIEWS:,} page views/s and {PEAK_BOOKINGS} bookings/s"
    )
    print(f"{'tier':<10} {'ms CPU/page view':>16} {'ms CPU/booking':>15} {'cores at peak':>14}")
    total = 0.0
    for tier in cluster.TIERS:
        per_read = reads_only.cpu[tier] / max(reads_only.page_views, 1)
        left = mix.cpu[tier] - per_read * mix.page_views
        per_booking = max(left, 0.0) / max(mix.bookings, 1)
        cores = per_read * PEAK_PAGE_VIEWS + per_booking * PEAK_BOOKINGS
        total += cores
        print(f"{tier:<10} {per_read * 1000:>16.3f} {per_booking * 1000:>15.2f} {cores:>14.1f}")
    print(f"{'all':<10} {'':>16} {'':>15} {total:>14.1f}")
    print(
        "(cores of this machine's CPU; the load generator's own CPU is not counted. The "
        "booking's share is what the mix used beyond its reads, so it carries the noise.)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--reads", type=int, default=15, help="availability reads per booking")
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--citizens", type=int, default=3000, help="per run (bookings at most)")
    parser.add_argument(
        "--cache", default="off,on", help="the availability cache: off, on or off,on"
    )
    parser.add_argument(
        "--configs", default="", help="only the configurations whose name contains this"
    )
    parser.add_argument(
        "--only-matrix", action="store_true", help="skip the day-page and micro-cache runs"
    )
    args = parser.parse_args()
    caches = [word == "on" for word in args.cache.split(",")]
    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian or Ubuntu: sudo apt-get install wrk")
        return 2
    if not cluster.is_up():
        print("The cluster is not running: make cluster")
        return 2
    env = cluster.setup_django()
    url = env["CLUSTER_URL"]
    began = time.monotonic()
    print(f"machine: {machine_description()}")
    print(
        f"load:    wrk -t2 -c{args.connections} -d{args.seconds}s through nginx (TLS), "
        f"{args.reads} reads per booking, {WARM_UP_S} s warm-up per configuration"
    )
    configs = [
        Config(
            f"{n} inst, {'replica' if replica else 'primary only'}, "
            f"{'cache' if cache else 'no cache'}",
            instances=n,
            replica=replica,
            cache=cache,
            reads=args.reads,
        )
        for n in (int(i) for i in args.instances.split(","))
        for replica in (False, True)
        for cache in caches
    ]
    extra = [
        Config(f"2 inst, replica, {'cache' if c else 'no cache'}, reads", cache=c, reads=-1)
        for c in caches
    ]
    if not args.only_matrix:
        best = caches[-1]
        extra.append(
            Config(
                f"2 inst, {'cache' if best else 'no cache'} + nginx 1 s",
                cache=best,
                microcache=True,
                reads=args.reads,
            )
        )
        extra += [
            Config(
                f"day page, {'Redis cache' if c else 'no cache'}", cache=c, reads=-1, paths="day"
            )
            for c in caches
        ]
        extra.append(
            Config("day page, nginx 1 s", cache=False, microcache=True, reads=-1, paths="day")
        )
        extra += [
            Config(
                f"API slot list, {'Redis cache' if c else 'no cache'}",
                cache=c,
                reads=-1,
                paths="api",
            )
            for c in caches
        ]
        extra.append(
            Config(
                "API slot list, nginx 1 s", cache=caches[-1], microcache=True, reads=-1, paths="api"
            )
        )
    if args.configs:
        extra = [c for c in configs + extra if args.configs in c.name]
        configs = []
    runs = []
    with tempfile.TemporaryDirectory() as workdir:
        (Path(workdir) / "mix.lua").write_text(WRK_SCRIPT)
        try:
            for config in configs + extra:
                run = measure(config, args, url, Path(workdir))
                runs.append(run)
                print(
                    f"  {config.name}: {run.rate:.0f} req/s, "
                    f"{run.booking_rate:.1f} bookings/s, p99 {run.p99_ms:.0f} ms, "
                    f"checks {'ok' if not run.failures else 'FAIL'}; {load_average()}",
                    flush=True,
                )
        finally:
            cluster.control("apps", env={"CLUSTER_MICROCACHE": "on", "CLUSTER_APP_ENV": ""})
    print()
    print_table(runs)
    by_name = {run.config.name: run for run in runs}
    mix = by_name.get("2 inst, replica, cache")
    if mix:
        capacity(mix, by_name["2 inst, replica, cache, reads"])
    mix_plain = by_name.get("2 inst, replica, no cache")
    if mix_plain:
        capacity(mix_plain, by_name["2 inst, replica, no cache, reads"])
    day = by_name.get("day page, Redis cache")
    if day:
        rate = day.rate
        met = rate >= DAY_PAGE_TARGET and day.p99_ms < DAY_PAGE_P99_MS
        print(
            f"\nday page target ({DAY_PAGE_TARGET}/s, p99 under {DAY_PAGE_P99_MS} ms, "
            f"{args.connections} clients): {'met' if met else 'missed'} with the Redis cache "
            f"({rate:.0f}/s, p99 {day.p99_ms:.0f} ms)"
        )
    mixes = [r for r in runs if r.config.reads >= 0 and not r.config.microcache]
    single = [r for r in mixes if r.config.instances == 1]
    if single and max(r.rate for r in single) > 0:
        best = max(r.rate for r in single)
        print(
            "mix against the best single instance: "
            + ", ".join(f"{r.config.name} {r.rate / best:.0%}" for r in mixes)
        )
    failed = [(r.config.name, f) for r in runs for f in r.failures]
    for name, failure in failed:
        print(f"FAIL {name}: {failure}")
    if not failed:
        print(
            "checks: no slot over capacity; rows == counters; one stored appointment per 201; "
            "every booking has its confirmation"
        )
    print(f"total time {time.monotonic() - began:.0f} s; {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
