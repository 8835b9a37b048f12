"""Cached availability: a centre's day of slots and the centre search, in the shared cache.

The rule: an entry is keyed by the VERSION of what it shows, never kept on a time-out alone.

- Each centre's local day has a version (`day_key`), and each centre one (`centre_key`) for
  the search, whose results show every centre's next free time. The list of centres has
  one too (`CENTRES`): opening, closing or renaming a centre changes every search.
- Every write that changes what a day shows (booking, cancelling, rescheduling, a capacity
  change, closing slots or a day, generating slots, a centre's details) calls changed() in
  its transaction. On commit, and only then, the versions it names go up: ONE round trip
  to Redis (a script of INCRs) whatever the number of keys. A rolled-back write bumps
  nothing; a committed one makes every instance read a new key at once, the next request
  computes the new entry, and the old entries are left to expire.
- A version that is missing (evicted, Redis restarted) starts again from the clock in
  microseconds, never from a number an old entry may still carry.

Entries also carry `valid_until`, the instant the first slot they list starts (a started
slot drops out of the list), and live at most SHARED_TTL: a safety net for a change made
outside the services (the Django admin) or a bump lost while Redis was down. Without Redis
each process caches on its own and never hears of another process's writes: entries then
live LOCAL_TTL seconds. An entry filled from the read replica lives at most the replica's lag
bound (REPLICA_MAX_LAG_SECONDS): the replica may not yet show the write that bumped the
version it is kept under. When the shared cache does not answer, reads are computed from the
database and a warning is logged: the cache never takes the service down.
"""

import datetime as dt
import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from redis.exceptions import RedisError

from vaxbook.core import db_router

logger = logging.getLogger(__name__)

SHARED_TTL = 300
LOCAL_TTL = 2
# A search's next free times also change when a slot starts, which no write announces.
SEARCH_TTL = 60
CENTRES = "avail:v:centres"

type Compute[T] = Callable[[], tuple[T, float | None]]


def day_key(centre_id: int, day: dt.date) -> str:
    return f"avail:v:day:{centre_id}:{day.isoformat()}"


def centre_key(centre_id: int) -> str:
    return f"avail:v:centre:{centre_id}"


# --- writes ------------------------------------------------------------------------------


def changed(
    *,
    days: Iterable[tuple[int, dt.date]] = (),
    centres: Iterable[int] = (),
    centre_list: bool = False,
) -> None:
    """Call inside the write's transaction: when it commits, the versions of `days`
    (centre id, local day), of their centres, of `centres` and, with `centre_list`, of the
    list of centres go up. Outside a transaction they go up at once."""
    keys = set()
    for centre_id, day in days:
        keys.add(day_key(centre_id, day))
        keys.add(centre_key(centre_id))
    keys.update(centre_key(centre_id) for centre_id in centres)
    if centre_list:
        keys.add(CENTRES)
    if keys:
        after_commit(functools.partial(_bump, sorted(keys)))


# The hook changed() runs its bump in. Tests inside a test case's transaction (which never
# commits) swap it for one that runs at once (tests/conftest.py).
after_commit: Callable[[Callable[[], None]], None] = transaction.on_commit


def slots_changed(slots: Iterable[Any]) -> None:
    """changed() for the days of `slots` (Slot rows with their centre)."""
    changed(days={(slot.centre_id, slot.local_date) for slot in slots})


def connect_model_signals() -> None:
    """Saves and deletes of single rows outside the services (the Django admin, a shell)
    bump what they change too. The services write with conditional updates and bulk
    inserts, which send no signal: they call changed() themselves."""
    from django.db.models.signals import post_delete, post_save

    from vaxbook.centres.models import Centre, Slot, Vaccine

    def slot_saved(instance: Slot, **_kwargs: Any) -> None:
        slots_changed([instance])

    def centre_saved(instance: Centre, **_kwargs: Any) -> None:
        changed(centres=[instance.pk], centre_list=True)

    def vaccine_saved(**_kwargs: Any) -> None:
        changed(centre_list=True)

    for signal in (post_save, post_delete):
        signal.connect(slot_saved, sender=Slot, weak=False, dispatch_uid=f"avail-slot-{signal}")
        signal.connect(centre_saved, sender=Centre, weak=False, dispatch_uid=f"avail-c-{signal}")
        signal.connect(vaccine_saved, sender=Vaccine, weak=False, dispatch_uid=f"avail-v-{signal}")


# Adds one to each version; a version that did not exist (INCR made it 1) starts from the
# clock instead (ARGV[1]), above any value an entry still in the cache may carry.
_BUMP_SCRIPT = """
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('SET', key, ARGV[1]) end
end
return #KEYS
"""


def _bump(keys: list[str]) -> None:
    cache = caches["default"]
    try:
        if isinstance(cache, RedisCache):
            full_keys = [cache.make_key(key) for key in keys]
            _bump_script(cache, full_keys[0])(full_keys, [_fresh()])
            return
        for key in keys:
            try:
                cache.incr(key)
            except ValueError:
                cache.add(key, _fresh(), timeout=None)
    except RedisError:
        logger.warning(
            "Availability versions not bumped (%s): the shared cache did not answer; "
            "cached entries may lag for up to %d s.",
            " ".join(keys),
            SHARED_TTL,
            exc_info=True,
        )


def _bump_script(redis_cache: RedisCache, key: str) -> Any:
    # As in vaxbook.core.ratelimit: one client (and registered script) per cache object,
    # not a new redis.Redis at each call.
    script = getattr(redis_cache, "_availability_script", None)
    if script is None:
        client = redis_cache._cache.get_client(key, write=True)
        script = client.register_script(_BUMP_SCRIPT)
        redis_cache._availability_script = script  # type: ignore[attr-defined]
    return script


def _fresh() -> int:
    return time.time_ns() // 1000


# --- reads -------------------------------------------------------------------------------


def versions(keys: list[str]) -> dict[str, int]:
    """The current version of each key (one round trip; two more for a missing one)."""
    cache = caches["default"]
    found: dict[str, int] = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, _fresh(), timeout=None)
            found[key] = cache.get(key)
    return found


def _ttl(from_replica: bool = False) -> int:
    ttl = SHARED_TTL if isinstance(caches["default"], RedisCache) else LOCAL_TTL
    if from_replica:
        # The replica may not have replayed the write that bumped the version yet: an entry
        # it filled lives no longer than the lag the router accepts.
        ttl = min(ttl, math.ceil(settings.REPLICA_MAX_LAG_SECONDS))
    return ttl


def through(name: str, version_keys: list[str], compute: Compute[Any]) -> tuple[Any, str]:
    """The value `compute` gives, from the cache when an entry for `name` at the current
    versions of `version_keys` is there and still valid. `compute` returns the value and
    the instant (epoch seconds) until which it holds, None for "until a version changes".

    Also returns the entry's key, a strong validator of the value (it names the versions
    and the moment the value changes): "" when the cache was out of reach."""
    if not settings.AVAILABILITY_CACHE:
        return compute()[0], ""
    cache = caches["default"]
    try:
        current = versions(version_keys)
        key = f"avail:{name}:" + ":".join(str(current[k]) for k in version_keys)
        entry = cache.get(key)
    except RedisError:
        logger.warning("Availability read from the database: the shared cache did not answer.")
        return compute()[0], ""
    if entry is not None and (entry[0] is None or time.time() < entry[0]):
        return entry[1], f"{key}:{entry[0]}"
    with db_router.replica_used() as from_replica:
        value, valid_until = compute()
    try:
        cache.set(key, (valid_until, value), timeout=_ttl(from_replica()))
    except RedisError:
        logger.warning("Availability not cached: the shared cache did not answer.")
    return value, f"{key}:{valid_until}"


def search(name: str, compute: Callable[[], tuple[Any, list[int], float | None]]) -> Any:
    """A search's results through the cache: `compute` returns the results, the ids of the
    centres they show and the instant until which they hold. An entry stands while the
    list of centres and each centre shown keep the versions they had when it was made."""
    if not settings.AVAILABILITY_CACHE:
        return compute()[0]
    cache = caches["default"]
    key = "avail:search:" + hashlib.sha256(name.encode()).hexdigest()[:32]
    try:
        entry = cache.get(key)
        if entry is not None and time.time() < entry[0]:
            held: dict[str, int] = entry[1]
            if cache.get_many(list(held)) == held:
                return entry[2]
    except RedisError:
        logger.warning("Search read from the database: the shared cache did not answer.")
        return compute()[0]
    with db_router.replica_used() as from_replica:
        value, centre_ids, valid_until = compute()
    limit = time.time() + SEARCH_TTL
    valid_until = limit if valid_until is None else min(valid_until, limit)
    try:
        # Read after computing: a write committing meanwhile may be missed by the results
        # yet counted in these versions, until valid_until (SEARCH_TTL at most). Searches
        # only point to days; a day's list, and the booking, are exact.
        held = versions([CENTRES, *(centre_key(pk) for pk in sorted(set(centre_ids)))])
        cache.set(key, (valid_until, held, value), timeout=min(_ttl(from_replica()), SEARCH_TTL))
    except RedisError:
        logger.warning("Search not cached: the shared cache did not answer.")
    return value


def instant(moment: dt.datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
