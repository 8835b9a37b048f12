"""The local cluster (deploy/cluster/cluster, `make cluster`) as the drills and
bench/scale_out.py see it: its control script, its settings, the CPU each part uses, a
client that books through nginx from its own loopback address and retries with its
Idempotency-Key, and the database checks."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm  # noqa: E402

STATE = Path(os.environ.get("CLUSTER_DIR", REPO_ROOT / "var" / "cluster"))
SCRIPT = REPO_ROOT / "deploy" / "cluster" / "cluster"
# The parts whose CPU the benchmark reports, in the order of a request's path.
TIERS = ("nginx", "app", "pgbouncer", "primary", "replica", "redis", "worker")
# Answers a client retries with the same Idempotency-Key: the instance or a part behind
# it was away (nginx's 502/504, the app's 503 or 500 while the database was unreachable).
RETRIED = {500, 502, 503, 504}
RETRY_PAUSE_S = 0.2
MAX_ATTEMPTS = 60


def control(*args: str, env: dict[str, str] | None = None) -> str:
    """Runs deploy/cluster/cluster with `args`; its output."""
    done = subprocess.run(  # noqa: S603 (our own script, no shell)
        [str(SCRIPT), *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cluster {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def is_up() -> bool:
    return (STATE / "app.env").exists() and _alive(STATE / "nginx" / "nginx.pid")


def settings_env() -> dict[str, str]:
    """The app instances' environment, as the cluster script wrote it."""
    pairs = (STATE / "app.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in pairs if "=" in line)


def setup_django() -> dict[str, str]:
    """Django set up against the cluster's primary itself (data and checks), as the app is."""
    env = settings_env()
    os.environ.update(env)
    os.environ["DATABASE_URL"] = env["CLUSTER_PRIMARY_URL"]
    os.environ.pop("DATABASE_REPLICA_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return env


# --- processes and their CPU ---------------------------------------------------------------


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return Path(f"/proc/{pid}").exists()


def _pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _processes() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, session id, CPU seconds) for every live process."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # fields[0] is field 3 of proc(5): ppid is field 4, session 6, utime 14, stime 15
        found[int(entry.name)] = (
            int(fields[1]),
            int(fields[3]),
            (int(fields[11]) + int(fields[12])) / ticks,
        )
    return found


def _tree_cpu(root: int | None, processes: dict[int, tuple[int, int, float]]) -> float:
    """CPU seconds of `root` and all its descendants (PostgreSQL's backends, nginx's workers)."""
    if root is None or root not in processes:
        return 0.0
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += processes[pid][2]
        todo.extend(children.get(pid, []))
    return total


def cpu_by_tier() -> dict[str, float]:
    """CPU seconds so far of each part's live processes. A difference of two readings is the
    CPU a part used between them (PgBouncer keeps its server connections, so the
    database backends that did the work are still there to be read)."""
    processes = _processes()
    run = STATE / "run"
    apps = [_pid(f) for f in run.glob("app-*.pid")]
    return {
        "nginx": _tree_cpu(_pid(STATE / "nginx" / "nginx.pid"), processes),
        "app": sum(cpu for pid, (_, session, cpu) in processes.items() if session in apps and pid),
        "pgbouncer": _tree_cpu(_pid(STATE / "pgbouncer" / "pgbouncer.pid"), processes),
        "primary": _tree_cpu(_pid(STATE / "pg" / "primary" / "postmaster.pid"), processes),
        "replica": _tree_cpu(_pid(STATE / "pg" / "replica" / "postmaster.pid"), processes),
        "redis": _tree_cpu(_pid(run / "redis.pid"), processes),
        "worker": _tree_cpu(_pid(run / "worker.pid"), processes),
    }


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {tier: max(0.0, after[tier] - before.get(tier, 0.0)) for tier in TIERS}


# --- data ------------------------------------------------------------------------------


def demo_centre_and_vaccine() -> tuple[int, int]:
    """The first demo centre and a vaccine a 40-year-old may have (make cluster seeds them)."""
    from vaxbook.centres.models import Centre, Vaccine

    centre = Centre.objects.filter(is_active=True).order_by("pk").first()
    vaccine = Vaccine.objects.filter(minimum_age__lte=40).order_by("pk").first()
    if centre is None or vaccine is None:
        raise RuntimeError("the cluster has no demo data: run make cluster")
    return centre.pk, vaccine.pk


def citizens_with_tokens(count: int, tag: str) -> list[str]:
    """`count` new citizens, each with an API bearer token."""
    from bench.http_storm import issue_tokens

    stamp = time.strftime("%H%M%S")
    return issue_tokens(booking_storm.create_citizens(count, f"{tag}-{stamp}"))


# --- the client ------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw: every answer, the retries, and each citizen's final answer."""

    answers: Counter[int | str] = field(default_factory=Counter)
    retries: int = 0
    booked: dict[str, str] = field(default_factory=dict)  # token -> appointment id
    refused: dict[str, int] = field(default_factory=dict)  # token -> final status
    reads: int = 0
    read_retries: int = 0  # reloads after a 5xx or a lost connection
    read_errors: int = 0  # pages never shown
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One person's browser or app: a keep-alive HTTPS connection to nginx from its own
    loopback address (127.0.0.x), so nginx and the rate limits see many clients."""

    def __init__(self, base_url: str, number: int) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 443
        self.source = f"127.0.{number // 250 % 250}.{number % 250 + 2}"
        self.context = ssl.create_default_context(cafile=str(STATE / "nginx" / "tls.crt"))
        self.connection: http.client.HTTPSConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body); status 0 when the connection failed."""
        if self.connection is None:
            self.connection = http.client.HTTPSConnection(
                self.host,
                self.port,
                timeout=15,
                context=self.context,
                source_address=(self.source, 0),
            )
        try:
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            return 0, b""

    def book(self, token: str, slot_id: int, key: str, tally: Tally) -> None:
        """POST /api/v1/appointments until a final answer, with the same Idempotency-Key."""
        body = json.dumps({"slot_id": slot_id, "dose_number": 1}).encode()
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        for attempt in range(MAX_ATTEMPTS):
            status, answer = self.request("POST", "/api/v1/appointments", body, headers)
            with tally.lock:
                tally.answers[status or "connection"] += 1
                if status == 201:
                    tally.booked[token] = json.loads(answer)["id"]
                    return
                if status not in RETRIED and status != 0:
                    tally.refused[token] = status
                    return
                tally.retries += 1
            time.sleep(RETRY_PAUSE_S * min(attempt + 1, 5))
        with tally.lock:
            tally.refused[token] = -1  # gave up

    def read(self, path: str, tally: Tally) -> None:
        """GET `path`; a 5xx or a lost connection is reloaded, as a person would."""
        for attempt in range(MAX_ATTEMPTS):
            status, _ = self.request("GET", path)
            with tally.lock:
                tally.reads += 1
                if status == 200:
                    return
                tally.answers[f"GET {status or 'connection'}"] += 1
                if status not in RETRIED and status != 0:
                    break
                tally.read_retries += 1
            time.sleep(RETRY_PAUSE_S * min(attempt + 1, 5))
        with tally.lock:
            tally.read_errors += 1


def storm(
    tokens: list[str],
    slot_ids: list[int],
    read_paths: list[str],
    *,
    clients: int,
    reads_per_booking: int,
) -> Tally:
    """Each client takes every `clients`-th citizen: a few availability reads, then the
    booking, retried until it gets a final answer."""
    base = settings_env()["CLUSTER_URL"]
    tally = Tally()

    def one(number: int) -> None:
        client = Client(base, number)
        for i in range(number, len(tokens), clients):
            for r in range(reads_per_booking):
                client.read(read_paths[(i + r) % len(read_paths)], tally)
            client.book(tokens[i], slot_ids[i % len(slot_ids)], f"drill-{tokens[i][:16]}", tally)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def read_paths(centre_id: int, days: int = 5) -> list[str]:
    """The availability reads people make before booking: the day page and the API's slots."""
    today = dt.datetime.now(dt.UTC).date()
    paths = []
    for d in range(1, days + 1):
        day = (today + dt.timedelta(days=d)).isoformat()
        paths.append(f"/centres/{centre_id}/?date={day}")
        paths.append(f"/api/v1/centres/{centre_id}/slots?date={day}")
    return paths


# --- the database afterwards ---------------------------------------------------------------


def check_database(tally: Tally, tokens: list[str]) -> list[str]:
    """No slot over capacity, rows == counters (bench/booking_storm.py), every citizen of the
    storm booked exactly once as their 201 said, and every booked appointment has its
    confirmation in the outbox (vaxbook.notifications: written in the booking's transaction)."""
    from vaxbook.api import tokens as api_tokens
    from vaxbook.api.models import ApiToken
    from vaxbook.bookings.models import Appointment
    from vaxbook.notifications.events import Event

    failures, _ = booking_storm.check_invariants()
    users = dict(
        ApiToken.objects.filter(digest__in=[api_tokens.digest(t) for t in tokens]).values_list(
            "digest", "user_id"
        )
    )
    by_user: dict[int, list[str]] = {}
    for user_id, pk in Appointment.objects.filter(person__user_id__in=users.values()).values_list(
        "person__user_id", "pk"
    ):
        by_user.setdefault(user_id, []).append(str(pk))
    twice = [u for u, rows in by_user.items() if len(rows) > 1]
    if twice:
        failures.append(f"{len(twice)} citizens booked more than once")
    for token, appointment in tally.booked.items():
        if by_user.get(users.get(api_tokens.digest(token), -1), []) != [appointment]:
            failures.append(f"a 201 named appointment {appointment}, not the citizen's row")
            break
    unanswered = len(tokens) - len(tally.booked) - len(tally.refused)
    if unanswered:
        failures.append(f"{unanswered} citizens never got a final answer")
    gave_up = sum(1 for status in tally.refused.values() if status == -1)
    if gave_up:
        failures.append(f"{gave_up} citizens gave up after {MAX_ATTEMPTS} attempts")
    stored = sum(len(rows) for rows in by_user.values())
    if stored != len(tally.booked):
        failures.append(f"{len(tally.booked)} bookings answered 201 but {stored} stored")
    unconfirmed = (
        Appointment.objects.filter(status="booked").exclude(messages__event=Event.BOOKED).count()
    )
    if unconfirmed:
        failures.append(f"{unconfirmed} booked appointments without their confirmation message")
    return failures


def health() -> dict[str, object]:
    """/healthz through nginx (the database, and the replica as the read router sees it)."""
    status, body = Client(settings_env()["CLUSTER_URL"], 0).request("GET", "/healthz")
    try:
        answer: dict[str, object] = json.loads(body) if body else {}
    except ValueError:
        answer = {}
    return {"http": status, **answer}


def wait_for_replica(state: str, seconds: float) -> dict[str, object]:
    """/healthz until its replica is (`state` == "ok") or is not ("not ok") usable."""
    deadline = time.monotonic() + seconds
    while True:
        seen = health()
        usable = seen.get("replica") == "ok"
        if usable == (state == "ok") or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def replica_lag_s(env: dict[str, str]) -> float | None:
    """Seconds since the replica last replayed a transaction (None when it is unreachable)."""
    import psycopg

    try:
        with psycopg.connect(env["CLUSTER_REPLICA_URL"], connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
            ).fetchone()
    except psycopg.Error:
        return None
    return float(row[0]) if row else None
