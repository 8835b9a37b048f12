"""Managers give roles at their centre; a new person chooses a password from an emailed link."""

import re

import pytest
from django.conf import LazySettings
from django.core import mail
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.factories import UserFactory
from tests.management.helpers import make_site
from vaxbook.accounts.models import StaffMembership, StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.centres import services
from vaxbook.centres.errors import InvalidInvitation, NotPermitted
from vaxbook.centres.invitations import send_staff_invitation

pytestmark = pytest.mark.django_db


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


def test_the_emailed_link_lets_the_person_choose_a_password_once(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")

    send_staff_invitation.call(user_id=user.pk, centre_id=site.centre.pk, language="es")

    (email,) = mail.outbox
    assert email.to == ["new.nurse@example.org"]
    # In the inviting manager's language.
    assert email.subject.endswith(" Centro de Vacunación Norte")
    assert email.extra_headers["Content-Language"] == "es"
    assert "Elija su contraseña con este enlace:" in email.body
    link = re.search(
        r"https://vaccination\.example\.org(/staff/choose-password/\S+/)", str(email.body)
    )
    assert link is not None
    client = Client()
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    chosen = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-password-7", "new_password2": "a-long-new-password-7"},
    )
    assert chosen.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-long-new-password-7")
    again = Client().get(link.group(1), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_no_invitation_goes_to_someone_who_already_chose_a_password(site) -> None:
    invite(site, "new.nurse@example.org")
    user = User.objects.get(email="new.nurse@example.org")
    user.set_password("chosen-meanwhile-123")
    user.save()

    send_staff_invitation.call(user_id=user.pk, centre_id=site.centre.pk)

    assert mail.outbox == []


def test_an_existing_account_joins_the_centre_without_an_email(site) -> None:
    existing = UserFactory(email="colleague@example.org")

    invitation = invite(site, "Colleague@example.org", StaffRole.RECEPTIONIST)

    assert invitation.outcome == "added"
    assert not invitation.email_sent
    assert existing.memberships.get().role == StaffRole.RECEPTIONIST
    assert queued_invitations() == []
    assert existing.has_usable_password()


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
