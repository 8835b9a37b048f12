"""The email inviting a staff member to choose a password and add an authenticator app.

The link carries an invitation token (vaxbook.accounts.enrolment): it works once, stops
working as soon as a password is set or an authenticator added, and expires after
PASSWORD_RESET_TIMEOUT. The task is enqueued in the transaction that creates the account
or the membership (vaxbook.centres.services.invite_staff), so no invitation is sent for a
change that was rolled back; it builds the token when it runs, so the link's lifetime
starts when the email leaves.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from vaxbook.accounts.enrolment import invitation_url
from vaxbook.accounts.models import StaffMembership, User
from vaxbook.accounts.staff import staff_device

logger = logging.getLogger(__name__)

TEMPLATE_DIR = "management/email"


@task()
def send_staff_invitation(user_id: int, centre_id: int, language: str = "") -> None:
    """Email the invited person a link to choose their password and add an authenticator,
    unless they have an authenticator already (added meanwhile) or left the centre since."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    membership = (
        StaffMembership.objects.select_related("centre")
        .filter(user_id=user_id, centre_id=centre_id)
        .first()
    )
    if user is None or membership is None or staff_device(user) is not None:
        logger.info("Staff invitation for user %s not sent: nothing to set up.", user_id)
        return
    render_invitation(user=user, membership=membership, language=language).send()


def render_invitation(
    *, user: User, membership: StaffMembership, language: str = ""
) -> EmailMultiAlternatives:
    set_password_url = invitation_url(user)
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {
            "centre": membership.centre.name,
            "role": membership.get_role_display(),
            "set_password_url": set_password_url,
            "sign_in_url": settings.SITE_URL + reverse("staff_sign_in"),
            "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
            "site_url": settings.SITE_URL + "/",
            "language": translation.get_language(),
        }
        subject = _("You are invited to vaxbook staff at %(centre)s") % context
        context["subject"] = subject
        text = render_to_string(f"{TEMPLATE_DIR}/staff_invitation.txt", context)
        html = render_to_string(f"{TEMPLATE_DIR}/staff_invitation.html", context)
        language = translation.get_language()
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    )
    message.attach_alternative(html, "text/html")
    return message
