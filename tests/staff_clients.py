"""Signed-in staff for page tests: password and second factor, as the pages require."""

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts.models import User


def verified_client(user: User, *, address: str = "127.0.0.1") -> Client:
    """A client signed in with password and second factor, sending from `address`."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client
