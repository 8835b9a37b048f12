"""A PostgreSQL server that stops: the service answers 503 with Retry-After before a
client's 3 s timeout, /healthz included, request after request (the circuit breaker stops
waiting), and serves again once the server is back. Against a throwaway cluster this test
starts on a free port and stops, and a real web server (granian) in front of it."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import psycopg
import pytest

from vaxbook.api.problems import RETRY_AFTER_UNAVAILABLE_S

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLIENT_TIMEOUT_S = 3  # a load balancer's health check, or an impatient client
# PostgreSQL refuses to run as root: there, its tools run as the system's postgres user.
AS_OWNER = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    data: Path
    port: int

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 (PostgreSQL's own tools)
            [*AS_OWNER, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self.pg_ctl("-o", options, "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "immediate", "stop")  # as a crash: no goodbye to the clients


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    workdir = Path(tempfile.mkdtemp(prefix="vaxbook-pg-"))
    data = workdir / "data"
    if AS_OWNER:
        shutil.chown(workdir, user="postgres")
    subprocess.run(  # noqa: S603
        [*AS_OWNER, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    running = Cluster(data=data, port=free_port())
    running.start()
    try:
        with psycopg.connect(
            host="127.0.0.1", port=running.port, user="postgres", autocommit=True
        ) as admin:
            admin.execute("CREATE DATABASE vaxbook")
        yield running
    finally:
        subprocess.run(  # noqa: S603
            [*AS_OWNER, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{cluster.port}/vaxbook",
        "DJANGO_SETTINGS_MODULE": "tests.core.fault_settings",
        "SECRET_KEY": "insecure-key-for-checks-and-tests-only",
        "VAXBOOK_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "false",
        "DEBUG": "false",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    web = subprocess.Popen(  # noqa: S603
        [str(ROOT / "deploy" / "web")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if get(url + "/healthz")[0] == 200:
                break
            time.sleep(0.2)
        yield url
    finally:
        web.terminate()
        web.wait(timeout=30)


def get(url: str) -> tuple[int, Message]:
    """Status and headers of GET `url`; raises TimeoutError past the client's timeout."""
    try:
        with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT_S) as response:  # noqa: S310
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise error.reason from error
        return 0, Message()  # not listening yet


NEEDS_THE_DATABASE = ["/healthz", "/", "/centres/", "/api/v1/centres", "/api/v1/vaccines"]


def test_with_the_database_stopped_every_request_is_a_503_before_the_clients_timeout(
    cluster: Cluster, server: str
) -> None:
    assert get(server + "/")[0] == 200  # the pool holds a connection to the live server

    cluster.stop()
    # Twice round: the first requests find the server gone, the next ones the open circuit.
    for _ in range(2):
        for path in NEEDS_THE_DATABASE:
            status, headers = get(server + path)  # a TimeoutError fails the test
            assert (path, status) == (path, 503)
            assert headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE_S)

    cluster.start()
    for _ in range(50):  # the circuit lets a probe through every few seconds
        if get(server + "/healthz")[0] == 200:
            break
        time.sleep(0.2)
    assert get(server + "/")[0] == 200
