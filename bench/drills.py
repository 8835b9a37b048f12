"""Failure drills against the running local cluster (`make cluster`, docs/deployment.md).

Each drill runs a booking storm through nginx: `--clients` people at once (16), each from
its own loopback address, each opening a few availability pages (reloading one that
failed) and then booking dose 1 through the API with an Idempotency-Key, retrying with the
same key after a 5xx or a lost connection (as the API guide asks of clients). While it
runs, one part of the cluster fails and comes back:

- app:       an app instance is killed (SIGKILL) and started again: nginx routes around it;
- replica:   the streaming replica is stopped and started: reads go to the primary, and
             back to the replica once /healthz sees it streaming again;
- redis:     Redis is stopped and started: bookings go on, the cache and the rate limits
             degrade (docs/deployment.md);
- pgbouncer: PgBouncer is stopped and started: requests in that moment fail and are
             retried with their key.

Afterwards each drill checks the database: no slot over capacity, appointment rows ==
slot counters, every citizen of the storm booked exactly once (the appointment their 201
named), and every booked appointment has its confirmation in the outbox. It prints what
the clients saw (answers, retries, failed reads) and exits non-zero on any failure.

    make cluster && .venv/bin/python bench/drills.py            # all four
    .venv/bin/python bench/drills.py app redis --citizens 400
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import booking_storm, cluster  # noqa: E402
from bench.machine import load_average, machine_description  # noqa: E402

# Seconds into the storm when the part fails, and how long it stays away.
FAULT_AT_S = 1.5
AWAY_S = 3.0


def _fault_and_recovery(name: str) -> tuple[str, Callable[[], str], Callable[[], str]]:
    """What the drill does to the cluster, and how it brings it back."""
    if name == "app":
        return (
            "app instance 1 killed (SIGKILL), started again",
            lambda: cluster.control("kill", "app-1"),
            lambda: cluster.control("start", "app-1"),
        )
    if name in ("replica", "redis", "pgbouncer"):
        return (
            f"{name} stopped, started again",
            lambda: cluster.control("stop", name),
            lambda: cluster.control("start", name),
        )
    raise SystemExit(f"unknown drill {name!r}: app, replica, redis or pgbouncer")


def run_drill(name: str, args: argparse.Namespace, centre_id: int, vaccine_id: int) -> list[str]:
    what, fault, recover = _fault_and_recovery(name)
    tokens = cluster.citizens_with_tokens(args.citizens, f"drill-{name}")
    # Room for every citizen: any refusal is a failure of the drill, not a full slot.
    slot_ids = booking_storm.create_slots(centre_id, vaccine_id, args.citizens // 4 + 1, 4)
    paths = cluster.read_paths(centre_id)
    result: dict[str, cluster.Tally] = {}

    def load() -> None:
        result["tally"] = cluster.storm(
            tokens, slot_ids, paths, clients=args.clients, reads_per_booking=args.reads
        )

    print(f"drill {name}: {what}; {args.citizens} citizens, {args.clients} clients", flush=True)
    began = time.monotonic()
    storm = threading.Thread(target=load)
    storm.start()
    time.sleep(FAULT_AT_S)
    fault()
    print(f"  {time.monotonic() - began:5.1f} s  {name} down", flush=True)
    routed = name == "replica" and "DATABASE_REPLICA_URL" in cluster.settings_env()
    failures = []
    if routed:
        seen = cluster.wait_for_replica("not ok", AWAY_S)
        print(f"  {time.monotonic() - began:5.1f} s  /healthz: {seen}", flush=True)
    time.sleep(max(0.0, FAULT_AT_S + AWAY_S - (time.monotonic() - began)))
    recover()
    print(f"  {time.monotonic() - began:5.1f} s  {name} back", flush=True)
    if routed:
        # The router checks the replica again after a short pause: reads return to it.
        seen = cluster.wait_for_replica("ok", 30)
        print(f"  {time.monotonic() - began:5.1f} s  /healthz: {seen}", flush=True)
        if seen.get("replica") != "ok":
            failures.append(f"the replica is back but /healthz still says {seen}")
    storm.join()
    tally = result["tally"]
    elapsed = time.monotonic() - began
    failures += cluster.check_database(tally, tokens)
    if tally.read_errors:
        failures.append(f"{tally.read_errors} availability pages never shown")
    refused = Counter(tally.refused.values())
    print(
        f"  {elapsed:5.1f} s  storm over: {len(tally.booked)} booked, "
        f"refused {dict(refused) or 'none'}, "
        f"{tally.retries} retries; answers {dict(tally.answers)}; "
        f"{tally.reads} reads, {tally.read_retries} reloaded, {tally.read_errors} never shown"
    )
    for failure in failures:
        print(f"  FAIL {failure}")
    if not failures:
        print(
            "  checks ok: no slot over capacity, rows == counters, each citizen booked once, "
            "every booking has its confirmation message"
        )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("drills", nargs="*", default=["app", "replica", "redis", "pgbouncer"])
    parser.add_argument("--citizens", type=int, default=300, help="bookings per drill")
    parser.add_argument("--clients", type=int, default=16, help="people at once")
    parser.add_argument("--reads", type=int, default=2, help="availability reads per booking")
    args = parser.parse_args()
    if not cluster.is_up():
        print("The cluster is not running: make cluster")
        return 2
    cluster.setup_django()
    centre_id, vaccine_id = cluster.demo_centre_and_vaccine()
    print(f"machine: {machine_description()}")
    failed = {}
    for name in args.drills:
        failures = run_drill(name, args, centre_id, vaccine_id)
        if failures:
            failed[name] = failures
        print()
    passed = len(args.drills) - len(failed)
    print(f"drills: {passed} of {len(args.drills)} passed; {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
