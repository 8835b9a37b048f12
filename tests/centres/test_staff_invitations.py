"""Managers give roles at their centre; a new person chooses a password and adds an
authenticator app through an emailed one-time link, the only way to add one."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import LazySettings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.models import DBTaskResult

from tests.factories import UserFactory
from tests.management.helpers import make_site
from tests.staff_clients import authenticator_for, code_of
from vaxbook.accounts.models import StaffMembership, StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.centres import services
from vaxbook.centres.errors import InvalidInvitation, NotPermitted
from vaxbook.centres.invitations import send_staff_invitation

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-password-7"


@pytest.fixture(autouse=True)
def site_url(settings: LazySettings) -> None:
    settings.SITE_URL = "https://vaccination.example.org"


@pytest.fixture
def site():
    return make_site()


def invite(site, email: str, role: str = StaffRole.VACCINATOR, user=None):
    return services.invite_staff(
        staff=user or site.manager,
        centre_id=site.centre.pk,
        email=email,
        role=role,
        client_address="192.0.2.3",
    )


def queued_invitations() -> list[dict]:
    return [
        task.args_kwargs["kwargs"]
        for task in DBTaskResult.objects.filter(task_path__endswith="send_staff_invitation")
    ]


def test_a_new_person_gets_an_account_without_a_password_and_an_invitation(site) -> None:
    invitation = invite(site, "  New.Nurse@Example.org ")

    user = User.objects.get(email="new.nurse@example.org")
    assert not user.has_usable_password()
    assert not user.is_superuser
    assert not user.is_staff
    assert invitation.outcome == "created"
    assert invitation.email_sent
    assert user.memberships.get().role == StaffRole.VACCINATOR
    assert queued_invitations() == [
        {"user_id": user.pk, "centre_id": site.centre.pk, "language": "en"}
    ]
    event = AuditEvent.objects.get(action=AuditAction.STAFF_INVITED)
    assert (event.actor, event.centre_id, event.outcome) == (
        site.manager,
        site.centre.pk,
        "created",
    )
    assert event.detail == {
        "email": "new.nurse@example.org",
        "role": "vaccinator",
        "previous_role": None,
    }


def emailed_link(user: User, site, language: str = "en") -> str:
    mail.outbox.clear()
    send_staff_invitation.call(user_id=user.pk, centre_id=site.centre.pk, language=language)
    (email,) = mail.outbox
    link = re.search(
        r"https://vaccination\.example\.org(/staff/choose-password/\S+/)", str(email.body)
    )
    assert link is not None
    return link.group(1)


def choose_password(client: Client, link: str, password: str = NEW_PASSWORD):
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    return client.post(
        form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )


def test_the_emailed_link_sets_the_password_then_the_authenticator_once(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")

    send_staff_invitation.call(user_id=user.pk, centre_id=site.centre.pk, language="es")

    (email,) = mail.outbox
    assert email.to == ["new.nurse@example.org"]
    # In the inviting manager's language.
    assert email.subject.endswith(" Centro de Vacunación Norte")
    assert email.extra_headers["Content-Language"] == "es"
    assert "Elija su contraseña con este enlace:" in email.body
    link = emailed_link(user, site)
    client = Client()
    chosen = choose_password(client, link)
    assert chosen.status_code == 302
    assert chosen["Location"] == "/staff/authenticator/"
    user.refresh_from_db()
    assert user.check_password("a-long-new-password-7")
    # The same browser adds the authenticator at once; its first code signs the person in.
    assert "<svg" in client.get("/staff/authenticator/").content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post("/staff/authenticator/", {"code": code_of(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(f"/staff/centres/{site.centre.pk}/validate/").status_code == 200
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_the_password_alone_cannot_add_an_authenticator(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    choose_password(Client(), emailed_link(user, site))
    client = Client()

    signed_in = client.post(
        "/staff/sign-in/", {"username": user.email, "password": "a-long-new-password-7"}
    )
    page = client.get("/staff/authenticator/")

    assert signed_in.status_code == 400
    assert "invitation email" in signed_in.content.decode()
    assert "_auth_user_id" not in client.session
    assert page.status_code == 302  # to the sign-in page: nobody is signed in
    user.refresh_from_db()
    client.force_login(user)  # even past the password step
    refused = client.get("/staff/authenticator/")
    assert refused.status_code == 403
    assert "invitation" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_a_password_reset_link_does_not_open_the_enrolment(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    reset_token = default_token_generator.make_token(user)

    page = Client().get(f"/staff/choose-password/{uid}/{reset_token}/", follow=True)

    assert "This link no longer works" in page.content.decode()


def test_the_time_to_add_the_authenticator_runs_out(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    client = Client()
    choose_password(client, emailed_link(user, site))

    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=31)):
        page = client.get("/staff/authenticator/")

    assert page.status_code == 403
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_a_link_stops_working_once_an_authenticator_is_added(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    link = emailed_link(user, site)

    authenticator_for(user)

    assert "This link no longer works" in Client().get(link, follow=True).content.decode()


def test_no_invitation_goes_to_someone_who_has_an_authenticator(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    authenticator_for(user)

    send_staff_invitation.call(user_id=user.pk, centre_id=site.centre.pk)

    assert mail.outbox == []


def test_someone_who_chose_a_password_but_has_no_authenticator_gets_a_new_link(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    user.set_password("chosen-meanwhile-123")
    user.save()

    again = invite(site, "new.nurse@example.org")
    send_staff_invitation.call(user_id=user.pk, centre_id=site.centre.pk)

    assert again.email_sent
    assert len(mail.outbox) == 1


def test_an_existing_account_with_an_authenticator_joins_the_centre_without_an_email(
    site,
) -> None:
    existing = UserFactory(email="colleague@example.org")
    authenticator_for(existing)

    invitation = invite(site, "Colleague@example.org", StaffRole.RECEPTIONIST)

    assert invitation.outcome == "added"
    assert not invitation.email_sent
    assert existing.memberships.get().role == StaffRole.RECEPTIONIST
    assert queued_invitations() == []
    assert existing.has_usable_password()


def test_an_existing_account_without_an_authenticator_is_sent_the_link(site) -> None:
    existing = UserFactory(email="colleague@example.org")

    invitation = invite(site, "colleague@example.org", StaffRole.RECEPTIONIST)

    assert invitation.outcome == "added"
    assert invitation.email_sent
    assert queued_invitations() == [
        {"user_id": existing.pk, "centre_id": site.centre.pk, "language": "en"}
    ]


def test_a_member_gets_a_new_role_or_hears_they_already_have_it(site) -> None:
    invitation = invite(site, site.vaccinator.email, StaffRole.MANAGER)
    again = invite(site, site.vaccinator.email, StaffRole.MANAGER)

    assert (invitation.outcome, invitation.previous_role) == ("role_changed", "vaccinator")
    assert again.outcome == "unchanged"
    assert site.vaccinator.memberships.get().role == StaffRole.MANAGER


@pytest.mark.parametrize("who", ["other_manager", "vaccinator", "receptionist", "citizen"])
def test_nobody_but_its_managers_gives_roles_at_a_centre(site, who) -> None:
    users = User.objects.count()

    with pytest.raises(NotPermitted):
        invite(site, "someone@example.org", StaffRole.MANAGER, user=getattr(site, who))

    assert User.objects.count() == users
    assert not StaffMembership.objects.filter(user__email="someone@example.org").exists()
    assert queued_invitations() == []


def test_an_administrator_gives_roles_anywhere(site) -> None:
    invitation = invite(site, "boss@example.org", StaffRole.MANAGER, user=site.admin)

    assert invitation.membership.centre == site.centre


@pytest.mark.parametrize("role", ["administrator", "superuser", ""])
def test_nobody_becomes_an_administrator_this_way(site, role) -> None:
    with pytest.raises(InvalidInvitation):
        invite(site, "someone@example.org", role)

    assert not User.objects.filter(email="someone@example.org").exists()
    assert not User.objects.filter(is_superuser=True).exclude(pk=site.admin.pk).exists()


def test_a_bad_address_is_refused(site) -> None:
    with pytest.raises(InvalidInvitation, match="right format"):
        invite(site, "not an address")

    assert not AuditEvent.objects.exists()


def test_a_deactivated_account_is_not_brought_back_by_a_manager(site) -> None:
    UserFactory(email="left@example.org", is_active=False)

    with pytest.raises(InvalidInvitation, match="deactivated"):
        invite(site, "left@example.org")

    assert not StaffMembership.objects.filter(user__email="left@example.org").exists()
