"""Rate limits: per client address and per account, in the shared cache, 429 with
Retry-After; and the limiter itself (vaxbook.core.ratelimit), on the local cache and on
Redis."""

import datetime as dt
import os
import socket

import pytest
import redis
import time_machine
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from config import env
from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, SlotFactory, tomorrow_at
from vaxbook.core import ratelimit
from vaxbook.core.ratelimit import Limit, Rate, RateLimited, parse_rate

pytestmark = pytest.mark.django_db

# A minute that starts on a window boundary for every period used here.
START = dt.datetime(2030, 1, 7, 10, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def limits(settings) -> dict[str, str]:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS}
    return settings.RATE_LIMITS


# --- the limiter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/m", Rate(30, 60)),
        ("10/h", Rate(10, 3600)),
        ("5/d", Rate(5, 86400)),
        ("100/10s", Rate(100, 10)),
        (" 7 / 2m ", Rate(7, 120)),
        ("off", None),
    ],
)
def test_rates_are_read_from_settings_text(text: str, rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["30", "30/minute", "x/m", "-1/m", "30/0.5m"])
def test_a_malformed_rate_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        parse_rate(text)


def test_a_limit_allows_its_rate_per_window_then_says_when_to_retry(limits) -> None:
    limits["booking_account"] = "3/m"
    with time_machine.travel(START + dt.timedelta(seconds=20), tick=False):
        for _ in range(3):
            ratelimit.hit(Limit("booking_account", 1))
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit(Limit("booking_account", 1))
        ratelimit.hit(Limit("booking_account", 2))  # someone else is counted apart

    assert refused.value.retry_after == 40
    with time_machine.travel(START + dt.timedelta(seconds=60), tick=False):
        ratelimit.hit(Limit("booking_account", 1))  # a new window


def test_every_limit_of_a_request_is_counted_and_the_longest_wait_given(limits) -> None:
    limits["sign_in_address"] = "2/m"
    limits["sign_in_account"] = "1/h"
    with time_machine.travel(START, tick=False):
        ratelimit.hit(Limit("sign_in_address", "10.0.0.1"), Limit("sign_in_account", "a"))
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit(Limit("sign_in_address", "10.0.0.1"), Limit("sign_in_account", "a"))

    assert refused.value.retry_after == 3600


def test_a_limit_that_is_off_never_refuses(limits) -> None:
    limits["booking_account"] = "off"
    for _ in range(50):
        ratelimit.hit(Limit("booking_account", 1))


@pytest.fixture
def redis_cache(settings):
    """The default cache on a Redis database of its own (CI runs Redis; see .ci/run)."""
    url = os.environ.get("RATE_LIMIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "vaxbook-test",
        }
    }
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


def test_on_redis_a_request_costs_one_round_trip(redis_cache, limits, monkeypatch) -> None:
    limits["booking_account"] = "2/m"
    with time_machine.travel(START, tick=False):
        ratelimit.hit(Limit("booking_address", "10.0.0.9"))  # the first one loads the script
        commands: list[bytes] = []
        send = redis.connection.Connection.send_packed_command

        def counted(connection, command, *args, **kwargs):
            commands.append(command if isinstance(command, bytes) else b"".join(command))
            return send(connection, command, *args, **kwargs)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
        ratelimit.hit(Limit("booking_account", 7), Limit("booking_address", "10.0.0.1"))
        ratelimit.hit(Limit("booking_account", 7))
        with pytest.raises(RateLimited):
            ratelimit.hit(Limit("booking_account", 7))

    assert len(commands) == 3  # one command a request, however many limits
    assert all(b"EVALSHA" in command for command in commands)


def test_on_redis_a_lost_script_is_loaded_again(redis_cache, limits) -> None:
    limits["booking_account"] = "2/m"
    with time_machine.travel(START, tick=False):
        ratelimit.hit(Limit("booking_account", 7))
        redis_cache._cache.get_client().script_flush()  # e.g. Redis restarted
        ratelimit.hit(Limit("booking_account", 7))
        with pytest.raises(RateLimited):
            ratelimit.hit(Limit("booking_account", 7))


@pytest.fixture
def redis_down(settings):
    """The default cache on a Redis that is not there (nothing listens on port 1)."""
    working = settings.CACHES
    settings.CACHES = {"default": env.cache("redis://127.0.0.1:1/0")}
    yield
    settings.CACHES = working  # before the suite's own fixtures clear the cache


def test_when_redis_does_not_answer_requests_go_through_uncounted(
    redis_down, limits, caplog
) -> None:
    limits["booking_account"] = "1/m"
    for _ in range(3):
        ratelimit.hit(Limit("booking_account", 7))

    assert "Rate limits not counted" in caplog.text


def test_when_redis_hangs_requests_go_on_after_its_timeout(settings, limits, caplog) -> None:
    # A server that accepts connections and never answers: without the cache's socket
    # timeout, this test would hang.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        working = settings.CACHES
        settings.CACHES = {"default": env.cache(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")}
        try:
            ratelimit.hit(Limit("booking_account", 7))
        finally:
            settings.CACHES = working

    assert "Rate limits not counted" in caplog.text


def test_when_redis_does_not_answer_a_booking_still_goes_through(
    redis_down, citizen: Api, slot
) -> None:
    response = citizen.post("/appointments", {"slot_id": slot.pk, "dose_number": 1})

    assert response.status == 201


def test_on_redis_every_worker_shares_the_count(redis_cache, limits) -> None:
    limits["booking_account"] = "2/m"
    with time_machine.travel(START, tick=False):
        ratelimit.hit(Limit("booking_account", 7))
        # Another process: its own client and connection pool, the same Redis.
        caches["default"].close()
        del caches["default"]
        ratelimit.hit(Limit("booking_account", 7))
        with pytest.raises(RateLimited):
            ratelimit.hit(Limit("booking_account", 7))
    keys = redis_cache._cache.get_client().keys("vaxbook-test:*ratelimit*")
    assert len(keys) == 1
    assert 0 < redis_cache._cache.get_client().ttl(keys[0]) <= 61


# --- the API's limits ----------------------------------------------------------------------


def assert_429(response) -> None:
    assert response.status == 429
    assert response.code == "rate_limited"
    assert response.content_type == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1


def test_token_requests_are_limited_per_address(anonymous: Api, limits) -> None:
    limits["sign_in_address"] = "3/m"
    for number in range(3):
        wrong = {"email": f"someone{number}@example.org", "password": "guess"}
        assert anonymous.post("/auth/token", wrong).code == "invalid_credentials"

    response = anonymous.post("/auth/token", {"email": "other@example.org", "password": "x"})

    assert_429(response)


def test_token_requests_are_limited_per_account_whatever_the_address(person, limits) -> None:
    limits["sign_in_account"] = "2/m"
    email = person.user.email
    for address in ["10.0.0.1", "10.0.0.2"]:
        api = Api()
        api.client.defaults["REMOTE_ADDR"] = address
        api.post("/auth/token", {"email": email.upper(), "password": "guess"})
    api = Api()
    api.client.defaults["REMOTE_ADDR"] = "10.0.0.3"

    # Even the right password: the account is being guessed at.
    response = api.post("/auth/token", {"email": email, "password": "a-long-test-password"})

    assert_429(response)


def test_a_client_that_had_a_token_signs_in_while_others_guess_at_the_account(
    person, limits
) -> None:
    limits["sign_in_account"] = "2/m"
    limits["sign_in_device"] = "3/m"
    email = person.user.email
    owner = Api()
    first = owner.post("/auth/token", {"email": email, "password": "a-long-test-password"})
    assert first.status == 200
    device = first.body["device"]
    for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"]:
        attacker = Api()
        attacker.client.defaults["REMOTE_ADDR"] = address
        attacker.post("/auth/token", {"email": email, "password": "guess"})

    again = owner.post(
        "/auth/token", {"email": email, "password": "a-long-test-password", "device": device}
    )
    without_device = Api().post("/auth/token", {"email": email, "password": "a-long-test-password"})

    assert again.status == 200
    assert again.body["device"] != ""
    assert_429(without_device)


def test_a_known_client_still_has_a_limit_of_its_own(person, limits) -> None:
    limits["sign_in_device"] = "2/m"
    email = person.user.email
    owner = Api()
    device = owner.post("/auth/token", {"email": email, "password": "a-long-test-password"})
    guesses = [
        owner.post(
            "/auth/token", {"email": email, "password": "guess", "device": device.body["device"]}
        )
        for _ in range(3)
    ]

    assert [guess.status for guess in guesses] == [401, 401, 429]


@pytest.mark.parametrize("device", ["forged", "x" * 2048])
def test_a_forged_device_counts_as_an_unknown_client(person, limits, device) -> None:
    limits["sign_in_account"] = "1/m"
    email = person.user.email
    Api().post("/auth/token", {"email": email, "password": "guess"})

    response = Api().post(
        "/auth/token", {"email": email, "password": "a-long-test-password", "device": device}
    )

    assert_429(response)


def test_registrations_are_limited_per_address(anonymous: Api, limits) -> None:
    limits["register_address"] = "1/h"
    body = {
        "email": "ada@example.org",
        "password": "correct horse battery staple",
        "full_name": "Ada Lovelace",
        "date_of_birth": "1990-05-17",
    }
    assert anonymous.post("/auth/register", body).status == 202

    response = anonymous.post("/auth/register", {**body, "email": "grace@example.org"})

    assert_429(response)
    assert int(response.headers["Retry-After"]) <= 3600


def test_bookings_are_limited_per_account(citizen: Api, slot, limits) -> None:
    limits["booking_account"] = "2/m"
    citizen.post("/appointments", {"slot_id": slot.pk, "dose_number": 1})
    citizen.post("/appointments", {"slot_id": slot.pk, "dose_number": 1})

    response = citizen.post("/appointments", {"slot_id": slot.pk, "dose_number": 2})

    assert_429(response)


def test_bookings_are_limited_per_address_across_accounts(centre, limits) -> None:
    limits["booking_address"] = "2/m"
    slot = SlotFactory(centre=centre, starts_at=tomorrow_at(11))
    statuses = [
        Api(token_for(CitizenFactory().user)).post(
            "/appointments", {"slot_id": slot.pk, "dose_number": 1}
        )
        for _ in range(3)
    ]

    assert [response.status for response in statuses[:2]] == [201, 201]
    assert_429(statuses[2])
    slot.refresh_from_db()
    assert slot.booked == 2


def test_cancelling_counts_as_booking(citizen: Api, appointment, limits) -> None:
    limits["booking_account"] = "1/m"
    citizen.post(f"/appointments/{appointment.pk}/cancel")

    assert_429(citizen.post(f"/appointments/{appointment.pk}/cancel"))


def test_validations_are_limited_per_account(staff: Api, limits) -> None:
    limits["validation_account"] = "2/m"
    staff.post("/validations", {"reference": "ABC-DEF-GH2"})
    staff.post("/checkins", {"reference": "ABC-DEF-GH2"})

    assert_429(staff.post("/validations", {"reference": "ABC-DEF-GH2"}))
