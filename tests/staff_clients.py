"""Signed-in staff for page tests: password and second factor, as the pages require."""

from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts.models import User


def authenticator_for(user: User) -> TOTPDevice:
    """A confirmed authenticator app for `user`, as staff set up at their first sign-in."""
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code_of(device: TOTPDevice) -> str:
    """The code the authenticator shows now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def password_only_client(user: User, *, address: str = "127.0.0.1") -> Client:
    """A client past the password step for `user`, who has an authenticator whose code it has
    not entered."""
    authenticator_for(user)
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def verified_client(user: User, *, address: str = "127.0.0.1") -> Client:
    """A client signed in with password and second factor, sending from `address`."""
    device = authenticator_for(user)
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client
