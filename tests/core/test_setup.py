"""`make test` installs what the tests need beyond the lock files (bin/test-deps): on a
machine without Chromium and ffmpeg, with apt-get as root, or else a message naming the
command. apt-get, sudo and id are stand-ins that record how they were called."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "test-deps"


@pytest.fixture
def bare_machine(tmp_path: Path) -> Path:
    """A PATH with bash and a recording apt-get, and neither chromium nor ffmpeg."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bash = shutil.which("bash")
    assert bash
    (bin_dir / "bash").symlink_to(bash)
    log = tmp_path / "calls"
    (bin_dir / "apt-get").write_text(f'#!{bash}\necho "apt-get $*" >> {log}\n')
    (bin_dir / "apt-get").chmod(0o755)
    return bin_dir


def fake(bin_dir: Path, name: str, body: str) -> None:
    (bin_dir / name).write_text(f"#!{shutil.which('bash')}\n{body}\n")
    (bin_dir / name).chmod(0o755)


def run(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own script)
        [str(SCRIPT)],
        env={**os.environ, "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )


def calls(bin_dir: Path) -> list[str]:
    log = bin_dir.parent / "calls"
    return log.read_text().splitlines() if log.exists() else []


def test_as_root_it_installs_chromium_and_ffmpeg_with_apt_get(bare_machine: Path) -> None:
    fake(bare_machine, "id", "echo 0")

    result = run(bare_machine)

    assert result.returncode == 0, result.stderr
    assert "Installing chromium ffmpeg" in result.stdout
    installs = [call for call in calls(bare_machine) if " install " in call]
    assert len(installs) == 1
    assert installs[0].split()[-3:-1] == ["chromium", "ffmpeg"]


def test_with_passwordless_sudo_it_installs_through_sudo(bare_machine: Path) -> None:
    fake(bare_machine, "id", "echo 1000")
    fake(bare_machine, "sudo", 'if [ "$1" = -n ]; then shift; fi; "$@"')

    result = run(bare_machine)

    assert result.returncode == 0, result.stderr
    assert any("chromium ffmpeg" in call for call in calls(bare_machine))


def test_without_root_or_sudo_it_names_the_command_and_fails(bare_machine: Path) -> None:
    fake(bare_machine, "id", "echo 1000")
    fake(bare_machine, "sudo", "exit 1")  # sudo asks for a password

    result = run(bare_machine)

    assert result.returncode == 1
    assert calls(bare_machine) == []
    assert result.stderr.strip().splitlines() == [
        "make test needs chromium ffmpeg: run  sudo apt-get update && "
        "sudo apt-get install -y --no-install-recommends chromium ffmpeg"
    ]


def test_with_everything_installed_it_does_nothing(bare_machine: Path) -> None:
    fake(bare_machine, "chromium", "exit 0")
    fake(bare_machine, "ffmpeg", "exit 0")
    fake(bare_machine, "id", "echo 0")

    result = run(bare_machine)

    assert result.returncode == 0
    assert calls(bare_machine) == []


def test_make_test_runs_the_set_up_first() -> None:
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],  # noqa: S607 (make from the PATH)
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert dry_run.stdout.splitlines()[0] == "bin/test-deps"


def test_the_make_run_banner_names_the_staff_address_and_the_totp_code() -> None:
    script = (ROOT / "bin" / "run-local").read_text()
    banner = script[script.index("<<BANNER") : script.index("\nBANNER\n")]
    assert "Staff sign in at $url/staff/" in banner
    assert "TOTP code" in banner
