import pytest
from django.conf import LazySettings


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: LazySettings) -> None:
    # Argon2 is deliberately slow; tests about bookings need no such protection.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
