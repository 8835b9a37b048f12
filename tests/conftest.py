from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.utils import translation


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
