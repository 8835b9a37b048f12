"""Flash crowd: an opening morning, N visitors arriving in a burst, with the waiting room on
and then off, side by side, and the API with 64 clients and no crowd as the yardstick.

What is measured
----------------
The server is started as production starts it (deploy/web: granian, one worker per core,
load shedding as configured in the environment) on a free port, on a throwaway PostgreSQL
database (`<name>_crowd`, dropped and recreated at each start) and the Redis of REDIS_URL
(its database is flushed). Each visitor is a pre-registered citizen with a bearer token.
The visitors arrive spread over `--arrival` seconds and, in one asyncio process, share a
pool of `--connections` HTTP connections (a real crowd has a socket each; one process may
not hold 20,000):

- join the line: POST /api/v1/waiting-room/tickets; while waiting, poll
  GET /api/v1/waiting-room/tickets/current after `poll_after` seconds, as the page does;
- once admitted (or at once while the room is off), book a random slot with
  POST /api/v1/appointments, with the pass in `Waiting-Room-Pass`; a 503 (load shedding) is
  retried after its Retry-After with the same Idempotency-Key, a full slot with another.

Latencies are per request, from the moment a connection of the pool is free to the last
byte of the answer: the server's queueing, not the client's. `visitor wait` is the whole
wait of a person, from arrival to the booking's 201. `out of order` counts visitors still
answered "waiting" after someone who joined behind them (a higher position, both joined
after the opening) had been answered "admitted". Errors are every answer or failure that
is not designed: a 503 with Retry-After is designed (counted as `shed 503`), anything else
over 400, a refused connection or a timeout (`--timeout` seconds per request) is not. After
each crowd: no slot over capacity, appointment rows == the slots' counters, rows == 201s.

The load generator, the server, PostgreSQL and Redis share the machine's cores: the
client's own CPU is part of the figures (it is printed).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/flash_crowd.py --visitors 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm, http_servers, http_storm  # noqa: E402
from bench.booking_storm import percentile  # noqa: E402
from bench.machine import load_average, machine_description  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["DEBUG"] = "false"

HOST = http_servers.HOST
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
# The crowd comes from one address: the per-address limits would refuse it (they still run).
RATE_LIMITS = {
    "RATE_LIMIT_BOOKING_ADDRESS": "off",
    "RATE_LIMIT_SIGN_IN_ADDRESS": "off",
    "RATE_LIMIT_WAITING_ROOM_JOIN_ADDRESS": "off",
}
TICKETS = "/api/v1/waiting-room/tickets"
WAITING = {"pre_queue", "waiting", "paused"}
# Places: room for every visitor, in slots of this size (a crowd spread over a day's slots).
SLOT_CAPACITY = 20
TARGET_POLL_P99_MS, TARGET_BOOKING_P99_MS, TARGET_SHARE = 100, 200, 0.9
# Seconds from switching the room on to the crowd's first arrival.
SWITCH_S = 1.5


@dataclass
class Visitor:
    position: int | None = None  # in the line, from the first answer after the opening
    last_waiting_sent: float = 0.0  # when the last poll answered "waiting" was sent
    admitted_at: float | None = None  # when the first "admitted" answer arrived


@dataclass
class Crowd:
    name: str
    visitors: list[Visitor]
    polls: list[float] = field(default_factory=list)
    bookings: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    booked_at: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    waiting_now: int = 0
    waiting_peak: int = 0
    began: float = 0.0
    ended: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0  # the app server's processes (not PostgreSQL's, not Redis's)
    database_failures: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.ended - self.began

    @property
    def failures(self) -> list[str]:
        failures = list(self.database_failures)
        if self.errors:
            failures.append(f"errors: {dict(self.errors)}")
        if late := self.out_of_order():
            failures.append(f"{late} admissions out of order")
        return failures

    def out_of_order(self) -> int:
        """Visitors answered "waiting" after someone behind them was answered "admitted"."""
        ranked = sorted(
            (v for v in self.visitors if v.position is not None), key=lambda v: -(v.position or 0)
        )
        earliest_behind, late = float("inf"), 0
        for visitor in ranked:
            if visitor.last_waiting_sent > earliest_behind:
                late += 1
            if visitor.admitted_at is not None:
                earliest_behind = min(earliest_behind, visitor.admitted_at)
        return late


class Client:
    """The crowd's connections: at most `size` requests on the wire at once."""

    def __init__(self, session: Any, size: int, timeout: float, crowd: Crowd) -> None:
        self.session, self.pool, self.crowd = session, asyncio.Semaphore(size), crowd
        self.timeout = timeout

    async def call(
        self, kind: str, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, dict[str, Any], dict[str, str], float] | None:
        import aiohttp

        async with self.pool:
            sent = time.monotonic()
            try:
                async with self.session.request(
                    method,
                    path,
                    headers=headers,
                    json=body,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as response:
                    raw = await response.read()
                    status, answer_headers = response.status, dict(response.headers)
            except TimeoutError:
                self.crowd.errors[f"{kind} timeout"] += 1
                return None
            except aiohttp.ClientError as error:
                self.crowd.errors[f"{kind} {type(error).__name__}"] += 1
                return None
        elapsed_ms = (time.monotonic() - sent) * 1000
        self.crowd.statuses[f"{kind} {status}"] += 1
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        return status, data, answer_headers, elapsed_ms


async def visit(
    client: Client,
    index: int,
    token: str,
    slots: list[int],
    arrive_at: float,
    room: bool,
) -> None:
    visitor = client.crowd.visitors[index]
    crowd = client.crowd
    await asyncio.sleep(max(0.0, arrive_at - time.monotonic()))
    arrived = time.monotonic()
    auth = {"Authorization": f"Bearer {token}"}
    headers = dict(auth)
    if room and not await wait_in_line(client, visitor, auth, headers):
        return
    key = str(uuid.uuid4())
    slot = slots[index % len(slots)]  # a place for everyone: a full slot only by a bug
    while True:
        answer = await client.call(
            "booking",
            "POST",
            "/api/v1/appointments",
            {**headers, "Idempotency-Key": key},
            {"slot_id": slot, "dose_number": 1},
        )
        if answer is None:
            return
        status, data, answer_headers, elapsed_ms = answer
        if status == 201:
            crowd.bookings.append(elapsed_ms)
            now = time.monotonic()
            crowd.waits.append(now - arrived)
            crowd.booked_at.append(now)
            return
        if status == 503 and "Retry-After" in answer_headers:  # shed: come back as asked
            await asyncio.sleep(float(answer_headers["Retry-After"]) * random.uniform(0.5, 1.5))
        else:
            crowd.errors[f"booking {status} {data.get('code', '')}".strip()] += 1
            return


async def wait_in_line(
    client: Client, visitor: Visitor, auth: dict[str, str], headers: dict[str, str]
) -> bool:
    """Join and poll until admitted (True, with the pass added to `headers`) or not."""
    crowd = client.crowd
    method, path, ticket_headers = "POST", TICKETS, dict(auth)
    waiting = False
    try:
        while True:
            sent = time.monotonic()
            answer = await client.call("poll", method, path, ticket_headers)
            if answer is None:
                return False
            status, data, answer_headers, elapsed_ms = answer
            if status == 503 and "Retry-After" in answer_headers:
                await asyncio.sleep(float(answer_headers["Retry-After"]) * random.uniform(0.5, 1.5))
                continue
            if status not in (200, 201):
                crowd.errors[f"poll {status} {data.get('code', '')}".strip()] += 1
                return False
            crowd.polls.append(elapsed_ms)
            state = data.get("state")
            if method == "POST":
                method, path = "GET", f"{TICKETS}/current"
                ticket_headers = {**auth, "Waiting-Room-Ticket": data["ticket"]}
            if state == "waiting" and visitor.position is None:
                visitor.position = data.get("position")
            if state in WAITING:
                if not waiting:
                    waiting = True
                    crowd.waiting_now += 1
                    crowd.waiting_peak = max(crowd.waiting_peak, crowd.waiting_now)
                if state == "waiting":
                    visitor.last_waiting_sent = sent
                await asyncio.sleep(float(data.get("poll_after") or 1.0))
                continue
            if state == "admitted":
                visitor.admitted_at = time.monotonic()
                headers["Waiting-Room-Pass"] = data["pass"]
                return True
            if state == "off":
                return True
            crowd.errors[f"poll state {state}"] += 1
            return False
    finally:
        if waiting:
            crowd.waiting_now -= 1


async def run_crowd(
    name: str, args: argparse.Namespace, tokens: list[str], slots: list[int], room: bool
) -> Crowd:
    import aiohttp

    crowd = Crowd(name, [Visitor() for _ in tokens])
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    async with aiohttp.ClientSession(f"http://{HOST}:{args.port}", connector=connector) as session:
        client = Client(session, args.connections, args.timeout, crowd)
        cpu = time.process_time()
        crowd.began = time.monotonic()
        arrivals = sorted(random.uniform(0, args.arrival) for _ in tokens)
        await asyncio.gather(
            *(
                visit(client, index, token, slots, crowd.began + offset, room)
                for index, (token, offset) in enumerate(zip(tokens, arrivals, strict=True))
            )
        )
        crowd.ended = max(crowd.booked_at, default=time.monotonic())
        crowd.client_cpu_s = time.process_time() - cpu
    return crowd


def prepare(count: int, tag: str, centre_id: int, vaccine_id: int) -> tuple[list[str], list[int]]:
    """`count` citizens with bearer tokens, and slots with a place for each of them."""
    citizens = booking_storm.create_citizens(count, tag)
    slots = booking_storm.create_slots(
        centre_id, vaccine_id, -(-count // SLOT_CAPACITY), SLOT_CAPACITY
    )
    return http_storm.issue_tokens(citizens), slots


def has_room() -> bool:
    import importlib.util

    return importlib.util.find_spec("vaxbook.waiting_room") is not None


def switch_room(*, on: bool, rate_per_minute: int, opens_in: float, mode: str) -> None:
    """The health authority's switch (docs/waiting-room.md): one active room, opening
    `opens_in` seconds from now, admitting `rate_per_minute`; or none."""
    import datetime as dt

    from django.utils import timezone

    from vaxbook.waiting_room.models import WaitingRoom

    WaitingRoom.objects.filter(active=True).update(active=False)
    if on:
        WaitingRoom.objects.create(
            name="Flash crowd",
            active=True,
            opens_at=timezone.now() + dt.timedelta(seconds=opens_in),
            rate_per_minute=rate_per_minute,
            mode=mode,
        )


def check_database(crowd: Crowd, slots: list[int], rows_before: int) -> None:
    """No slot over capacity, rows == counters, one row per 201 (bench/booking_storm.py)."""
    crowd.database_failures = booking_storm.check_database(
        slots, len(crowd.bookings), set(), rows_before
    )


def figures(crowd: Crowd) -> dict[str, str]:
    polls, bookings, waits = sorted(crowd.polls), sorted(crowd.bookings), sorted(crowd.waits)
    admitted = [v.admitted_at for v in crowd.visitors if v.admitted_at is not None]
    admission = (
        f"{len(admitted) / (max(admitted) - min(admitted)) * 60:.0f}/min"
        if len(admitted) > 1 and max(admitted) > min(admitted)
        else "-"
    )
    return {
        "visitors": f"{len(crowd.visitors)}",
        "peak waiting": f"{crowd.waiting_peak}",
        "poll answers/s": f"{len(polls) / crowd.seconds:.0f}" if polls else "-",
        "poll p50 / p99 ms": (
            f"{percentile(polls, 0.5):.0f} / {percentile(polls, 0.99):.0f}" if polls else "-"
        ),
        "admission rate": admission,
        "booking p50 / p99 ms": (
            f"{percentile(bookings, 0.5):.0f} / {percentile(bookings, 0.99):.0f}"
            if bookings
            else "-"
        ),
        "bookings": f"{len(bookings)}",
        "bookings/s": f"{len(bookings) / crowd.seconds:.0f}",
        "visitor wait p50 / p99 s": (
            f"{percentile(waits, 0.5):.1f} / {percentile(waits, 0.99):.1f}" if waits else "-"
        ),
        "shed 503: polls": f"{crowd.statuses['poll 503']}",
        "shed 503: bookings": f"{crowd.statuses['booking 503']}",
        "out of order": f"{crowd.out_of_order()}",
        "errors + timeouts": f"{sum(crowd.errors.values())}",
        "database checks": "ok" if not crowd.database_failures else "FAIL",
        "client CPU s": f"{crowd.client_cpu_s:.1f}",
        # CPU, unlike rates, hardly depends on what else the machine is doing: the cost of
        # a booking with the room (joins, polls, shed requests included) against without.
        "server CPU ms / booking": (
            f"{crowd.server_cpu_s * 1000 / len(bookings):.1f}" if bookings else "-"
        ),
    }


def yardstick(
    args: argparse.Namespace, centre_id: int, vaccine_id: int, env: dict[str, str]
) -> http_storm.HttpRun:
    """The API alone: bench/http_storm.py's uniform storm, wrk with 64 clients, on the
    same server command."""
    storm_args = argparse.Namespace(
        server="production",
        workers=args.workers,
        threads=4,
        connections=64,
        seconds=args.yardstick_seconds,
        citizens=15_000,
        hot_capacity=2_000,
        warm_up=2,
        port=args.port,
    )
    # Room for all 64 in the workers' lines, for as long as they wait: the yardstick
    # measures the API, not the shedding.
    env = {**env, "WEB_QUEUE": "64", "WEB_QUEUE_SECONDS": "60"}
    return http_storm.run_http_scenario(
        "uniform", storm_args, centre_id, vaccine_id, args.port, env
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--arrival", type=float, default=5.0, help="seconds the burst lasts")
    parser.add_argument("--connections", type=int, default=256, help="the crowd's pool")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--rate", type=int, default=0, help="admissions/min (0: the yardstick's bookings/min)"
    )
    parser.add_argument(
        "--mode",
        choices=["manual", "auto"],
        default="manual",
        help="the room's admission: the rate given, or steered by the booking latency from it",
    )
    parser.add_argument("--yardstick-seconds", type=int, default=10, help="0: no yardstick")
    args = parser.parse_args()
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        print("The flash crowd runs on PostgreSQL: set DATABASE_URL=postgres://...")
        return 2

    began = time.monotonic()
    parts = urllib.parse.urlsplit(configured)
    name = urllib.parse.unquote(parts.path.lstrip("/")) or "postgres"
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}_crowd"))
    booking_storm.recreate_database("postgresql", url)
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "ALLOWED_HOSTS": HOST})
    os.environ.update(RATE_LIMITS)
    import django
    import redis

    django.setup()
    from django.core.management import call_command

    from vaxbook.bookings.models import Appointment

    redis.Redis.from_url(REDIS_URL).flushdb()
    call_command("migrate", verbosity=0, interactive=False)
    centre_id, vaccine_id = booking_storm.create_fixed_data()
    args.port = http_servers.free_port()
    server, server_env = http_servers.production(args.port, args.workers)
    env = {**http_servers.app_env(), **server_env, "DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    env.update(RATE_LIMITS)

    print(f"machine:  {machine_description()}")
    print(f"database: {booking_storm.database_description()}")
    print(
        f"server:   {server.name}; crowd: {args.visitors} visitors arriving over"
        f" {args.arrival:g} s, {args.connections} connections, one asyncio process"
    )
    # The yardstick first: the room admits at the rate the API sustains (unless --rate).
    storm = None
    if args.yardstick_seconds:
        storm = yardstick(args, centre_id, vaccine_id, env)
        print(f"  yardstick: {storm.created / storm.seconds:.0f} bookings/s", flush=True)
    rate = args.rate or (round(storm.created / storm.seconds * 60) if storm else 6_000)
    runs = [("on", True), ("off", False)] if has_room() else [("off", False)]
    if not has_room():
        print("(this tree has no waiting room: the crowd runs with it off only)")
    if has_room():
        print(f"room:     {args.mode} admission, from {rate} a minute")
    crowds = []
    health = f"http://{HOST}:{args.port}/healthz"
    for label, room in runs:
        tokens, slots = prepare(args.visitors, f"crowd-{label}", centre_id, vaccine_id)
        rows_before = Appointment.objects.count()
        with http_servers.running(server, env, health) as server_pid:
            if has_room():
                # Half the crowd arrives before the opening (the pre-queue's draw), half
                # after; the workers see the switch within a second (ROOM_TTL).
                opens_in = SWITCH_S + args.arrival / 2
                switch_room(on=room, rate_per_minute=rate, opens_in=opens_in, mode=args.mode)
                time.sleep(SWITCH_S)
            cpu_before = http_servers.session_cpu_s(server_pid)
            crowd = asyncio.run(run_crowd(f"room {label}", args, tokens, slots, room))
            crowd.server_cpu_s = http_servers.session_cpu_s(server_pid) - cpu_before
        check_database(crowd, slots, rows_before)
        crowds.append(crowd)
        print(f"  room {label}: {len(crowd.bookings)} booked in {crowd.seconds:.1f} s", flush=True)

    print()
    table = [figures(crowd) for crowd in crowds]
    print(f"{'':<26}" + "".join(f"{crowd.name:>16}" for crowd in crowds))
    for row in table[0]:
        print(f"{row:<26}" + "".join(f"{column[row]:>16}" for column in table))
    failures = [(crowd.name, f) for crowd in crowds for f in crowd.failures]
    if storm is not None:
        rate = storm.created / storm.seconds
        print(
            f"yardstick: the API with 64 clients and no crowd (wrk, bench/http_storm.py): "
            f"{rate:.0f} bookings/s, p50 {storm.p50_ms:.0f} ms, p99 {storm.p99_ms:.0f} ms, "
            f"server CPU {storm.cpu_ms:.1f} ms / booking"
        )
        failures += [("yardstick", f) for f in storm.failures]
        for crowd in crowds:
            share = len(crowd.bookings) / crowd.seconds / rate if rate else 0
            polls, bookings = sorted(crowd.polls), sorted(crowd.bookings)
            met = (
                share >= TARGET_SHARE
                and not crowd.failures
                and (not polls or percentile(polls, 0.99) < TARGET_POLL_P99_MS)
                and bool(bookings)
                and percentile(bookings, 0.99) < TARGET_BOOKING_P99_MS
            )
            print(
                f"{crowd.name}: {share:.0%} of the yardstick's bookings/s; targets (polls p99 <"
                f" {TARGET_POLL_P99_MS} ms, bookings p99 < {TARGET_BOOKING_P99_MS} ms, >="
                f" {TARGET_SHARE:.0%} of the yardstick, 0 errors): {'met' if met else 'missed'}"
            )
    for run, failure in failures:
        print(f"FAIL {run}: {failure}")
    if not failures:
        print("checks: no slot over capacity; appointment rows == Slot.booked; rows == 201s")
    print(f"total time {time.monotonic() - began:.1f} s; {load_average()}")
    with contextlib.suppress(Exception):
        redis.Redis.from_url(REDIS_URL).flushdb()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
