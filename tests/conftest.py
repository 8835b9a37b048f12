import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings, settings
from django.core.cache import cache
from django.db import connections, transaction
from django.test import Client
from django.utils import translation

from tests.factories import CentreFactory, staff_at
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.centres import availability, policy
from vaxbook.centres.models import Centre
from vaxbook.core import db_router


def pytest_configure(config: pytest.Config) -> None:
    # Every test run has a read replica: a second alias on the same test database (Django's
    # TEST MIRROR), so that the read routing runs in the suite. Inside a test case's
    # transaction every read stays on the primary (the router's rule); tests with real
    # transactions read from the replica alias.
    if "replica" not in settings.DATABASES:
        settings.DATABASES["replica"] = {
            **copy.deepcopy(settings.DATABASES["default"]),
            "TEST": {"MIRROR": "default"},
        }
        connections.__dict__.pop("settings", None)  # computed again with the new alias


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    yield
    # The mirror is not torn down by Django: its pooled connections would keep the test
    # database from being dropped.
    close_pool = getattr(connections["replica"], "close_pool", None)
    if close_pool is not None:
        close_pool()


@pytest.fixture(autouse=True)
def fresh_replica_state() -> Iterator[None]:
    # The replica's measured state is kept per process for a second: no test inherits it.
    db_router.probe.forget()
    with db_router.fresh_reads():
        yield
    db_router.probe.forget()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: LazySettings) -> None:
    # Argon2 is deliberately slow; tests about bookings need no such protection.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def static_files_without_collectstatic(settings: LazySettings) -> None:
    # The hashed-name manifest exists only after collectstatic, which tests do not run.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def private_signing_keys(settings: LazySettings, tmp_path: Path) -> None:
    # Tests that issue confirmations sign with a throwaway key store of their own.
    settings.SIGNING_KEYS_PATH = tmp_path / "signing-keys.json"
    settings.SIGNING_KEYS_JSON = ""


@pytest.fixture(autouse=True)
def english_unless_a_test_asks() -> Iterator[None]:
    # A request in Spanish leaves its language active in the thread; the next test must
    # not inherit it.
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_campaign_policy() -> Iterator[None]:
    # The policy is kept in memory per process; a test's openings vanish with its
    # transaction, so no test may see another's.
    policy.forget_rules()
    yield
    policy.forget_rules()


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    # Rate limits count in the cache (Redis when REDIS_URL is set): no test may inherit
    # another's counts.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def availability_bumped_in_test_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    # A test case's transaction never commits, so on-commit hooks never run in it: the
    # availability versions go up at once there, as the test's write "commits" (one thread).
    # Tests with real transactions (transactional_db, the races) keep the real hook.
    def bump(run: Callable[[], None]) -> None:
        blocks = transaction.get_connection().atomic_blocks
        if blocks and blocks[0]._from_testcase:
            run()
        else:
            transaction.on_commit(run)

    monkeypatch.setattr(availability, "after_commit", bump)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    # The admin takes a second factor like every staff page (django-otp's admin site).
    return verified_client(admin_user)


# A centre and its staff by role, for the tests of the staff pages and what they record.


@pytest.fixture
def centre(db: None) -> Centre:
    return CentreFactory()


@pytest.fixture
def receptionist(centre: Centre) -> User:
    return staff_at(centre, StaffRole.RECEPTIONIST)


@pytest.fixture
def vaccinator(centre: Centre) -> User:
    return staff_at(centre, StaffRole.VACCINATOR)


@pytest.fixture
def manager(centre: Centre) -> User:
    return staff_at(centre, StaffRole.MANAGER)
