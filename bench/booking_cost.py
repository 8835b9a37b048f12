"""Where one API booking's CPU goes: `POST /api/v1/appointments` run in one process, with
the CPU time of each stage of the request.

What is measured
----------------
`--bookings` citizens (each with a bearer token) book dose 1 one after another through
Django's WSGI application, called directly: the same request as in bench/http_storm.py
(token, Idempotency-Key, every feature on) without a server or a network client, on a
throwaway PostgreSQL database (`<name>_bookingcost`, recreated at each start). The first
`--warm-up` bookings are not counted.

Around each stage, the process's CPU time (not the wall clock: waiting for PostgreSQL or
Redis is not counted) is added up. The stages are named functions of the request path,
and each line includes the stages indented under it. "the rest" of the request is
Django's request cycle, the middleware, django-ninja's routing and validation, and
writing the answer. The database server's CPU per booking is read from /proc for the
connection's backend process.

Figures measured in a loop are lower than in a server under load (caches stay warm,
nothing else runs), but the stages' shares are what a change should be weighed by.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook .venv/bin/python bench/booking_cost.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm, http_servers, http_storm  # noqa: E402
from bench.machine import load_average, machine_description  # noqa: E402

# (depth, label, module, function): the stages, in the order a booking runs them.
STAGES = [
    (1, "token lookup (1 statement)", "vaxbook.api.tokens", "token_of"),
    (1, "rate limits (1 Redis script)", "vaxbook.core.ratelimit", "hit"),
    (1, "idempotency and the booking", "vaxbook.api.idempotency", "respond"),
    (2, "book_appointment", "vaxbook.bookings.services", "book_appointment"),
    (3, "lock the person, the slot, doses (2)", "vaxbook.bookings.services", "_lock_person"),
    (3, "take the place (1)", "vaxbook.bookings.services", "_take_place"),
    (3, "insert the appointment (1)", "vaxbook.bookings.services", "_insert_appointment"),
    (3, "messages and their task (2)", "vaxbook.bookings.services", "announce"),
    (3, "availability version bump (1 Redis script)", "vaxbook.centres.availability", "_bump"),
    (3, "the answer", "vaxbook.bookings.api", "_as_is"),
    (4, "ES256 signature", "vaxbook.credentials.keys", "sign"),
    (3, "idempotency record (1)", "vaxbook.api.idempotency", "_claim"),
]


def timed(spent: dict[str, float], label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - began

    return wrapper


def instrument(spent: dict[str, float]) -> None:
    import importlib

    for _depth, label, module_name, name in STAGES:
        module = importlib.import_module(module_name)
        spent[label] = 0.0
        setattr(module, name, timed(spent, label, getattr(module, name)))


def booking_request(token: str, slot_id: int, key: str) -> dict[str, Any]:
    body = json.dumps({"slot_id": slot_id, "dose_number": 1}).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/appointments",
        "QUERY_STRING": "",
        "SERVER_NAME": http_storm.HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": http_storm.HOST,
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_IDEMPOTENCY_KEY": key,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def backend_cpu_s(pid: int) -> float:
    """User plus system CPU of a PostgreSQL backend on this machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--bookings", type=int, default=3000)
    parser.add_argument("--warm-up", type=int, default=300)
    args = parser.parse_args()
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        print("This benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
        return 2

    parts = urllib.parse.urlsplit(configured)
    name = urllib.parse.unquote(parts.path.lstrip("/")) or "postgres"
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}_bookingcost"))
    booking_storm.recreate_database("postgresql", url)
    os.environ.update(
        {
            **http_servers.app_env(),
            "DATABASE_URL": url,
            "REDIS_URL": http_storm.REDIS_URL,
            **http_storm.RATE_LIMITS,
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from config.wsgi import application

    call_command("migrate", verbosity=0, interactive=False)
    centre_id, vaccine_id = booking_storm.create_fixed_data()
    total = args.warm_up + args.bookings
    slot_ids = booking_storm.create_slots(centre_id, vaccine_id, 200, total // 200 + 1)
    tokens = http_storm.issue_tokens(booking_storm.create_citizens(total, "cost"))

    def book(i: int) -> None:
        statuses: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)

        answer = application(
            booking_request(tokens[i], slot_ids[i % len(slot_ids)], f"cost-{i}"), start_response
        )
        b"".join(answer)
        answer.close()
        if not statuses[0].startswith("201"):
            raise RuntimeError(f"booking {i} answered {statuses[0]}")

    for i in range(args.warm_up):
        book(i)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    spent: dict[str, float] = {}
    instrument(spent)
    database_before = backend_cpu_s(backend)
    began = time.process_time()
    for i in range(args.warm_up, total):
        book(i)
    whole = time.process_time() - began
    database = backend_cpu_s(backend) - database_before

    def per_booking(seconds: float) -> str:
        return f"{seconds * 1000 / args.bookings:6.3f}"

    print(f"machine:  {machine_description()}")
    print(f"database: {booking_storm.database_description()}")
    print(f"{args.bookings} bookings through the WSGI application, one process\n")
    print(f"{'stage':<42} {'ms':>6} {'share':>6}")
    print("-" * 56)
    print(f"{'the whole request':<42} {per_booking(whole)} {'100%':>6}")
    for depth, label, _module, _name in STAGES:
        print(f"{'  ' * depth + label:<42} {per_booking(spent[label])} {spent[label] / whole:6.0%}")
    rest = whole - sum(spent[label] for depth, label, *_ in STAGES if depth == 1)
    print(f"{'  the rest: Django, middleware, ninja':<42} {per_booking(rest)} {rest / whole:6.0%}")
    print(f"\nPostgreSQL backend CPU: {per_booking(database)} ms per booking")
    print("(ms: CPU time per booking; each line includes the lines indented under it)")
    print(load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
