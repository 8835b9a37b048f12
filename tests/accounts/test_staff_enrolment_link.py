"""An administrator made with createsuperuser (or staff who lost their phone) gets the
one-time link from the server's operator, who runs `manage.py staff_enrolment_link`."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import CitizenFactory, staff_at
from tests.staff_clients import authenticator_for
from vaxbook.accounts.models import User

pytestmark = pytest.mark.django_db


def link_for(email: str, *options: str) -> str:
    out = io.StringIO()
    call_command("staff_enrolment_link", email, *options, stdout=out)
    return out.getvalue().strip()


def test_a_new_administrator_chooses_a_password_and_adds_an_authenticator() -> None:
    User.objects.create_superuser("root@example.org", "set-by-createsuperuser-1")
    client = Client()

    form_page = client.get(
        link_for("Root@example.org").removeprefix(settings.SITE_URL), follow=True
    )
    chosen = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-9", "new_password2": "a-new-long-password-9"},
    )

    assert chosen["Location"] == "/staff/authenticator/"
    assert client.get("/staff/authenticator/").status_code == 200


def test_an_authenticator_in_place_is_replaced_only_when_asked(centre) -> None:
    staff = staff_at(centre)
    authenticator_for(staff)

    with pytest.raises(CommandError, match="--replace"):
        link_for(staff.email)
    assert link_for(staff.email, "--replace").startswith(settings.SITE_URL)
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_there_is_no_link_for_a_citizen() -> None:
    with pytest.raises(CommandError, match="No active staff"):
        link_for(CitizenFactory().user.email)
