"""What the benchmarks print about the machine: figures mean little without it."""

import contextlib
import os
import platform
from pathlib import Path


def machine_description() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return (
        f"{platform.node()}: nproc={usable} ({model}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; {load_average()}"
    )


def load_average() -> str:
    """The load before a run: other work on the machine takes cores from the benchmark."""
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    except (OSError, ValueError):
        return "load average unknown"
    return f"load average {one} {five} {fifteen}"
