from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limit_counters() -> Iterator[None]:
    # Rate-limit counters live in the cache, keyed by the minute: tests frozen at the same
    # instant would otherwise share one window and add up across the run.
    cache.clear()
    yield
    cache.clear()
