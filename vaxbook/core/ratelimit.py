"""Rate limits on sign-in, registration, booking and validation, for the API and the pages.

Fixed windows counted in Django's default cache: with REDIS_URL every worker of every node
counts in the same Redis, so a limit holds across the whole service; without it (the
embedded default) each process counts on its own.

A request names the limits it falls under, each a rate from settings.RATE_LIMITS and who is
counted (a client address, an account):

    ratelimit.hit(
        Limit("booking_account", user.pk),
        Limit("booking_address", client_address(request)),
    )

hit() counts the request against every limit and raises RateLimited, carrying the seconds
until the tightest window ends (the Retry-After), when any limit is over. On Redis all the
limits of one request cost ONE round trip (a script doing INCR, and EXPIRE on a new counter):
this runs in front of every booking in a flash crowd. Other cache backends count with
add() and incr(), which is fine in one process. When Redis does not answer, requests go
through uncounted (and a warning is logged): the limiter never takes the service down.

A fixed window lets a client send up to twice its rate across a window boundary; that is
enough to stop scripts and bots, and it needs one counter per window instead of a log of
timestamps.
"""

import functools
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from redis.exceptions import RedisError

from vaxbook.core.clients import client_address
from vaxbook.core.devices import known_device

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*")


@dataclass(frozen=True)
class Rate:
    requests: int
    period: int  # seconds


@functools.lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate | None:
    """`"30/m"` -> Rate(30, 60); `"100/10s"` -> Rate(100, 10); `"off"` -> None."""
    if text.strip().lower() in {"off", "none", ""}:
        return None
    match = _RATE.fullmatch(text)
    if match is None:
        raise ImproperlyConfigured(
            f"A rate limit is '<requests>/<period>' (period s, m, h or d) or 'off', not {text!r}."
        )
    requests, multiple, unit = match.groups()
    return Rate(int(requests), int(multiple or 1) * _PERIODS[unit])


@dataclass(frozen=True)
class Limit:
    """One limit a request falls under: the name of its rate in settings.RATE_LIMITS and
    whom it counts (an address, an account id, an email address)."""

    name: str
    who: object


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after} s.")
        self.retry_after = retry_after


def hit(*limits: Limit) -> None:
    """Count one request against each limit; RateLimited if any is exceeded."""
    now = time.time()
    windows: list[tuple[str, Rate, float]] = []
    for limit in limits:
        rate = parse_rate(settings.RATE_LIMITS[limit.name])
        if rate is None:
            continue
        window = math.floor(now / rate.period)
        # Hashed: an email address (or anything a client sends) may hold characters a
        # cache key must not, and the key should not reveal who was counted.
        who = hashlib.sha256(str(limit.who).encode()).hexdigest()[:32]
        windows.append((f"ratelimit:{limit.name}:{who}:{window}", rate, (window + 1) * rate.period))
    if not windows:
        return
    try:
        counts = _count([(key, rate.period) for key, rate, _end in windows])
    except RedisError:
        # The shared cache is down or slow (settings: a short socket timeout): the request
        # goes on uncounted rather than a whole service refusing bookings over its limiter.
        logger.warning("Rate limits not counted: the shared cache did not answer.", exc_info=True)
        return
    retry_after = [
        math.ceil(end - now)
        for (_key, rate, end), count in zip(windows, counts, strict=True)
        if count > rate.requests
    ]
    if retry_after:
        raise RateLimited(max(1, *retry_after))


def _count(keys: list[tuple[str, int]]) -> list[int]:
    """Add one to each counter, creating it with its window's lifetime; the new counts."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _count_in_redis(cache, keys)
    counts = []
    for key, period in keys:
        cache.add(key, 0, timeout=period + 1)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add() and incr(): a new window
            cache.add(key, 1, timeout=period + 1)
            counts.append(1)
    return counts


# Adds one to each counter (KEYS) and gives a new counter its lifetime (ARGV, seconds):
# one command for all the limits of a request, atomic, so a counter never lives on
# without its expiry.
_COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[i]) end
end
return counts
"""


def _count_in_redis(redis_cache: RedisCache, keys: list[tuple[str, int]]) -> list[int]:
    # Django's RedisCache.incr() checks that the key exists first (two round trips) and
    # add() + incr() would be three: the script is one. Keys go through the cache's own key
    # function, so KEY_PREFIX and the version apply as for cache.get(). Every key is
    # written to the same (first) server, as Django's RedisCache does.
    full_keys = [redis_cache.make_and_validate_key(key) for key, _period in keys]
    # +1 s: the counter must outlive its window even if clocks differ slightly.
    lifetimes = [period + 1 for _key, period in keys]
    return [int(count) for count in _count_script(redis_cache, full_keys[0])(full_keys, lifetimes)]


def _count_script(redis_cache: RedisCache, key: str) -> Any:
    # Django's get_client() builds a new redis.Redis (registering some 170 response
    # callbacks) at every call: half a millisecond per request. A client only wraps the
    # cache's connection pool of the (first, written) server: each cache object keeps one,
    # with the script registered on it (sent by its SHA-1, loaded again if Redis lost it).
    script = getattr(redis_cache, "_ratelimit_script", None)
    if script is None:
        client = redis_cache._cache.get_client(key, write=True)
        script = client.register_script(_COUNT_SCRIPT)
        redis_cache._ratelimit_script = script  # type: ignore[attr-defined]
    return script


# --- pages ------------------------------------------------------------------------------

type LimitsOf = Callable[[HttpRequest], list[Limit]]
type View = Callable[..., HttpResponseBase]


def limit_posts(limits_of: LimitsOf) -> Callable[[View], View]:
    """A page's POSTs count against `limits_of(request)`; over a limit, the page answers
    429 with Retry-After and a page saying when to try again. GETs are not counted."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            if request.method == "POST":
                try:
                    hit(*limits_of(request))
                except RateLimited as limited_by:
                    response = render(
                        request, "429.html", {"retry_after": limited_by.retry_after}, status=429
                    )
                    response["Retry-After"] = str(limited_by.retry_after)
                    return response
            return view(request, *args, **kwargs)

        return limited

    return decorate


# Who each kind of request counts against: the pages (through limit_posts) and the API
# name their limits here, so both count the same request the same way.


def sign_in(address: str, account: str, *, device: str | None = None) -> list[Limit]:
    """Password attempts, per client address and per account tried (password guessing).
    From a browser that signed in to the account before (`device`, vaxbook.core.devices),
    per that browser instead of per account: guesses from elsewhere cannot lock the owner
    out."""
    if device is not None:
        return [Limit("sign_in_address", address), Limit("sign_in_device", device)]
    return [
        Limit("sign_in_address", address),
        Limit("sign_in_account", account.strip().lower()),
    ]


def code_check(address: str, user_id: int | None) -> list[Limit]:
    """Second-factor codes, per client address and per signed-in account (code guessing;
    django-otp also slows down wrong codes per device)."""
    return [Limit("sign_in_address", address), Limit("sign_in_account", f"user:{user_id}")]


def password_confirmation(address: str, user_id: int | None) -> list[Limit]:
    """A signed-in person confirming an action with their password (deleting the account):
    per client address and per signed-in account, apart from the sign-in guesses at that
    account's email, which therefore cannot stop its owner."""
    return [Limit("sign_in_address", address), Limit("sign_in_account", f"user:{user_id}")]


def password_reset_address(address: str) -> list[Limit]:
    """Reset requests per client address (one client asking for many addresses)."""
    return [Limit("password_reset_address", address)]


def password_reset_account(email: str) -> list[Limit]:
    """Reset emails per address typed, whether or not it has an account (one inbox
    flooded); counted by the form, which then sends nothing and answers the same."""
    return [Limit("password_reset_account", email.strip().lower())]


def registration(address: str) -> list[Limit]:
    return [Limit("register_address", address)]


def registration_account(email: str) -> list[Limit]:
    """Registrations per address typed, whether or not it has an account (one inbox
    flooded with links or notices); counted by the service, which then does nothing and
    lets the caller answer the same."""
    return [Limit("register_account", email.strip().lower())]


def booking(address: str, user_id: int | None) -> list[Limit]:
    """Bookings, moves and both-dose bookings, per account and per address (scripts
    grabbing places)."""
    return [Limit("booking_account", user_id), Limit("booking_address", address)]


def validation(address: str, user_id: int | None) -> list[Limit]:
    return [Limit("validation_account", user_id), Limit("validation_address", address)]


def sign_in_limits(request: HttpRequest) -> list[Limit]:
    account = str(request.POST.get("username", ""))
    return sign_in(client_address(request), account, device=known_device(request, account))


def code_check_limits(request: HttpRequest) -> list[Limit]:
    return code_check(client_address(request), request.user.pk)


def password_confirmation_limits(request: HttpRequest) -> list[Limit]:
    return password_confirmation(client_address(request), request.user.pk)


def password_reset_limits(request: HttpRequest) -> list[Limit]:
    return password_reset_address(client_address(request))


def register_limits(request: HttpRequest) -> list[Limit]:
    return registration(client_address(request))


def booking_limits(request: HttpRequest) -> list[Limit]:
    return booking(client_address(request), request.user.pk)
