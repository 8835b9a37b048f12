"""WSGI servers compared: gunicorn (sync workers, gthread workers with 4 threads) and
granian (WSGI; its default of 256 Python threads per worker, and 4 threads like gthread)
serving vaxbook's `config.wsgi:application`, 2 worker processes each.

What is measured
----------------
Each server is started on 127.0.0.1 at a free port with the production settings
(DEBUG off, ALLOWED_HOSTS=127.0.0.1, the configured DATABASE_URL, default SQLite, migrated
first with manage.py migrate). Once GET /healthz answers, wrk loads it (a Django view that
runs `SELECT 1` on the database and returns JSON): a short warm-up, then 3 runs of
`wrk -t2 -c64 -d10s --latency`. The runs go round robin (run 1 of every server, then run
2 ...), each server started afresh, warmed up for 2 s and stopped (SIGTERM, then SIGKILL)
before the next one starts, also on errors and Ctrl-C: a change in other load on the
machine then hits every server alike.

How to read it
--------------
`req/s` is the median of the runs' requests per second, with every run shown; `p50` and
`p99` are the medians of the runs' latency percentiles, in milliseconds, as seen by wrk
(queueing in the server's backlog included). `CPU us/req` is the CPU time all of the
server's processes used per request during a run (median): unlike req/s it hardly
depends on what else the machine runs, so it is the fairest measure of a server's own
cost on a shared machine. `errors` adds up wrk's socket errors
(connect/read/write/timeout) and non-2xx answers over the runs; non-2xx answers (a 503
from /healthz means the database did not answer) fail the script. wrk runs on the same
2 cores as the server and the database, and the load average shows other work on the
machine: compare the servers with each other, not with a production host.

    .venv/bin/python bench/http_servers.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaxbook .venv/bin/python bench/http_servers.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.machine import load_average, machine_description  # noqa: E402

APP = "config.wsgi:application"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
WARMUP_S = 2
SERVER_NAMES = ("gunicorn-sync", "gunicorn-gthread", "granian", "granian-threads")


@dataclass(frozen=True)
class Server:
    name: str
    command: list[str]


@dataclass
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    socket_errors: int
    non_2xx: int
    server_cpu_s: float = 0.0  # CPU time of all the server's processes during the run

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s * 1e6 / self.requests if self.requests else float("nan")


@dataclass
class ServerResult:
    server: Server
    runs: list[WrkRun] = field(default_factory=list)

    @property
    def median_rps(self) -> float:
        return statistics.median(r.requests_per_s for r in self.runs)

    @property
    def median_p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def median_p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def median_cpu_us(self) -> float:
        return statistics.median(r.cpu_us_per_request for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.socket_errors + r.non_2xx for r in self.runs)

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.runs)


# --- the machine and the database -------------------------------------------------------


def database_description(url: str | None) -> str:
    if not url:
        return "SQLite (default: var/vaxbook.sqlite3)"
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"  # without user and password


def tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 (our own command, no shell)
            command, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError as error:
        return f"unknown ({error})"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


# --- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def venv_tool(name: str) -> str:
    """The tool next to this interpreter (the project's virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this environment (make bench-http).")
    return found


def server(name: str, port: int, workers: int, threads: int, app: str = APP) -> Server:
    """The command line of server `name` serving the WSGI application `app` on
    HOST:`port`."""
    gunicorn = [
        venv_tool("gunicorn"),
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--chdir",
        str(REPO_ROOT),
    ]
    granian = [
        venv_tool("granian"),
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-ws",
        "--log-level",
        "warning",
        "--working-dir",
        str(REPO_ROOT),
        app,
    ]
    known = {
        "gunicorn-sync": Server("gunicorn-sync", [*gunicorn, "--worker-class", "sync"]),
        "gunicorn-gthread": Server(
            f"gunicorn-gthread({threads})",
            [*gunicorn, "--worker-class", "gthread", "--threads", str(threads)],
        ),
        # granian's WSGI default is backpressure/2 = 256 blocking (Python) threads per
        # worker; "granian-threads" gives it as many threads as a gthread worker instead.
        "granian": Server("granian-wsgi", granian),
        "granian-threads": Server(
            f"granian-wsgi({threads})", [*granian[:-1], "--blocking-threads", str(threads), app]
        ),
    }
    return known[name]


def production(port: int, workers: int) -> tuple[Server, dict[str, str]]:
    """deploy/web, the command of `make run` and production, and the environment that
    puts it on HOST:`port` with `workers` processes (its other settings: the environment's)."""
    command = [str(REPO_ROOT / "deploy" / "web")]
    return Server(f"deploy/web ({workers} workers)", command), {
        "HOST": HOST,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
    }


def tail(log: IO[bytes], lines: int = 30) -> str:
    log.flush()
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                body = json.loads(response.read())
                if response.status == 200 and body.get("status") == "ok":
                    return
                last_error = f"{response.status} {body}"
        except (urllib.error.URLError, OSError, ValueError) as error:
            last_error = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT_S:.0f} s: {last_error}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server (its master stops the workers), SIGKILL to its process group
    if anything is left after STOP_TIMEOUT_S."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # its own group (start_new_session): leftovers
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def session_cpu_s(session_id: int) -> float:
    """User + system CPU seconds of the live processes of a session (the server's master
    and its workers: it was started with start_new_session)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # fields[0] is field 3 of proc(5): session is field 6, utime 14, stime 15
        if int(fields[3]) == session_id:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@contextlib.contextmanager
def running(server: Server, env: dict[str, str], url: str) -> Iterator[int]:
    """Runs `server` until the block ends; gives its process id (= its session id)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 (our own command, no shell)
            server.command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: stopped together, Ctrl-C aside
        )
        try:
            wait_until_healthy(url, process, log)
            yield process.pid
            if process.poll() is not None:
                raise RuntimeError(f"{server.name} died during the run:\n{tail(log)}")
        finally:
            stop(process)


# --- wrk --------------------------------------------------------------------------------

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkRun:
    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {percent}% latency in wrk output:\n{output}")
        return float(match.group(1)) * UNITS_MS[match.group(2)]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if rps is None:
        raise ValueError(f"no Requests/sec in wrk output:\n{output}")
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    return WrkRun(
        requests_per_s=float(rps.group(1)),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=int(requests.group(1)) if requests else 0,
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk(url: str, *, threads: int, connections: int, seconds: int) -> WrkRun:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        url,
    ]
    done = subprocess.run(  # noqa: S603 (our own command, no shell)
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# --- main -------------------------------------------------------------------------------


def app_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", "bench-only-not-a-secret")  # the server only answers wrk
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["ALLOWED_HOSTS"] = HOST
    env["DEBUG"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def create_database_if_missing(url: str | None) -> None:
    """PostgreSQL: CREATE DATABASE for the configured name when it does not exist yet (never
    drops anything), so that migrate can run. SQLite creates its file by itself."""
    if not url or not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    with psycopg.connect(
        dbname="postgres",
        autocommit=True,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
    ) as conn:
        name = config["NAME"]
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created the empty database {name!r} to migrate it")


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=300,
    )


def print_table(results: list[ServerResult]) -> None:
    header = (
        f"{'server':<20} {'req/s':>7} {'runs (req/s)':<18} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU us/req':>10} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        runs = " ".join(f"{r.requests_per_s:.0f}" for r in result.runs)
        print(
            f"{result.server.name:<20} {result.median_rps:>7.0f} {runs:<18} "
            f"{result.median_p50:>7.1f} {result.median_p99:>7.1f} "
            f"{result.median_cpu_us:>10.0f} {result.errors:>6}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="measured wrk runs per server")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per gthread (and granian-threads) worker"
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVER_NAMES),
        help="comma-separated, from: " + ", ".join(SERVER_NAMES),
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = set(names) - set(SERVER_NAMES)
    if unknown or not names:
        parser.error(f"unknown servers: {sorted(unknown)}")
    if min(args.runs, args.duration, args.connections, args.workers, args.threads) < 1:
        parser.error("--runs, --duration, --connections, --workers and --threads must be >= 1")

    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian or Ubuntu: sudo apt-get install wrk")
        return 2

    began = time.monotonic()
    env = app_env()
    create_database_if_missing(env.get("DATABASE_URL"))
    migrate(env)
    print(f"machine:  {machine_description()}")
    print(f"database: {database_description(env.get('DATABASE_URL'))}")
    print(
        f"load:     {tool_version(['wrk', '--version'])}; -t2 -c{args.connections} "
        f"-d{args.duration}s, {args.runs} rounds (each server started afresh and warmed up "
        f"{WARMUP_S} s per run) on GET /healthz; {args.workers} workers per server"
    )
    print()

    results = {name: ServerResult(server(name, 0, args.workers, args.threads)) for name in names}
    failed = False
    try:
        # Round robin: run 1 of every server, then run 2 of every server...: a change in
        # the machine's other load then hits every server alike.
        for round_number in range(1, args.runs + 1):
            for name in names:
                port = free_port()
                one = server(name, port, args.workers, args.threads)
                url = f"http://{HOST}:{port}/healthz"
                try:
                    with running(one, env, url) as pid:
                        wrk(url, threads=2, connections=args.connections, seconds=WARMUP_S)
                        cpu_before = session_cpu_s(pid)
                        run = wrk(
                            url, threads=2, connections=args.connections, seconds=args.duration
                        )
                        run.server_cpu_s = session_cpu_s(pid) - cpu_before
                except RuntimeError as error:
                    print(f"FAIL {one.name}: {error}")
                    failed = True
                    continue
                results[name].runs.append(run)
                print(
                    f"  round {round_number} {one.name}: {run.requests_per_s:.0f} req/s, "
                    f"p99 {run.p99_ms:.1f} ms, server CPU {run.cpu_us_per_request:.0f} us/req; "
                    f"{load_average()}",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted; servers stopped")
        return 130

    print()
    measured = [result for result in results.values() if result.runs]
    print_table(measured)
    print()
    for result in measured:
        if result.non_2xx:
            print(f"FAIL {result.server.name}: {result.non_2xx} non-2xx answers from /healthz")
            failed = True
    print(f"total time {time.monotonic() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
