"""`make run` (bin/run-local): when the worker dies it is started again, and the web server
goes on serving meanwhile."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=3) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to collect it.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


@dataclass
class Started:
    url: str
    var: Path

    def worker_pid(self) -> int:
        return int((self.var / "worker.pid").read_text().strip())


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Started]:
    port = free_port()
    env = {
        **os.environ,
        "SECRET_KEY": "insecure-key-for-checks-and-tests-only",
        "VAXBOOK_VAR_DIR": str(tmp_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SEED_DEMO": "false",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    run = subprocess.Popen(  # noqa: S603 (our own script)
        [str(ROOT / "bin" / "run-local")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if healthy(url) and (tmp_path / "worker.pid").exists():
                break
            assert run.poll() is None, "bin/run-local stopped while starting"
            time.sleep(0.2)
        yield Started(url=url, var=tmp_path)
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)


def test_a_dead_worker_is_started_again_and_the_web_server_keeps_serving(
    started: Started,
) -> None:
    first = started.worker_pid()
    assert alive(first)

    os.kill(first, signal.SIGKILL)

    for _ in range(100):  # the first restart waits a second
        assert healthy(started.url)
        if started.worker_pid() != first and alive(started.worker_pid()):
            break
        time.sleep(0.2)
    second = started.worker_pid()
    assert second != first
    assert alive(second)
    assert healthy(started.url)
