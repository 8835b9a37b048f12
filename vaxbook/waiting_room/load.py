"""The booking load the gate measures: booking requests, their server errors and their
latency, counted per process and taken by whoever writes the next sample (vaxbook.
waiting_room.live). Counting costs no round trip on the booking path.

Each process takes only its own counts, so with several workers a sample holds the
counts of the processes that wrote to it (each adds its own, see live.record_sample).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponseBase


@dataclass(frozen=True)
class Measured:
    requests: int = 0
    errors: int = 0
    latency_ms_total: float = 0.0


_lock = threading.Lock()
_counts = {"requests": 0, "errors": 0, "latency": 0.0}


def count(*, latency_ms: float, error: bool) -> None:
    with _lock:
        _counts["requests"] += 1
        _counts["errors"] += int(error)
        _counts["latency"] += latency_ms


def take(*, now: float | None = None) -> Measured:
    with _lock:
        measured = Measured(
            requests=int(_counts["requests"]),
            errors=int(_counts["errors"]),
            latency_ms_total=float(_counts["latency"]),
        )
        _counts.update(requests=0, errors=0, latency=0.0)
    return measured


def measured(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Count a booking view's latency and server errors (5xx)."""

    def timed(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        started = time.perf_counter()
        response = view(request, *args, **kwargs)
        count(latency_ms=(time.perf_counter() - started) * 1000, error=response.status_code >= 500)
        return response

    return timed
