import pytest
from django.test import Client

from tests.staff_clients import verified_client
from vaxbook.accounts.models import User


@pytest.fixture
def desk(receptionist: User) -> Client:
    """The reception desk: the centre's receptionist, signed in with the second factor."""
    return verified_client(receptionist)
