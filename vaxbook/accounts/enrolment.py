"""Adding an authenticator is bound to the invitation, never to the password alone.

A staff member's second factor is only as strong as the way it was added. Whoever learns a
password must not be able to add their own authenticator to the account, so the only way
to add one is the link of the invitation email:

1. The invitation link carries a token of `invitation_tokens`: like Django's password-reset
   token it is signed, expires after PASSWORD_RESET_TIMEOUT and stops working once the
   password changes, and it also stops working once the account has a confirmed
   authenticator. Its salt differs from the password reset's, so a password-reset email
   (which anyone can ask for) never opens the enrolment.
2. Choosing the password through that link signs the person in (the password step only)
   and grants this browser session ENROLMENT_WINDOW_SECONDS to add the authenticator.
3. The enrolment page (vaxbook.accounts.staff.staff_enrol) only works within that grant.

Staff whose grant ran out, or who lost their phone, are invited again by their centre
manager (an administrator with `manage.py staff_enrolment_link`).
"""

import time

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts.models import User

ENROLMENT_WINDOW_SECONDS = 30 * 60
_GRANT_KEY = "vaxbook_enrolment_grant"


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "vaxbook.accounts.enrolment.InvitationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        has_authenticator = TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
        return f"{super()._make_hash_value(user, timestamp)}{has_authenticator}"


invitation_tokens = InvitationTokenGenerator()


def invitation_url(user: User) -> str:
    """The one-time link to choose a password and add an authenticator."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_tokens.make_token(user)
    return settings.SITE_URL + reverse("staff_set_password", args=[uid, token])


def grant_enrolment(request: HttpRequest, user: User, *, now: float | None = None) -> None:
    """This session may add an authenticator for `user` for a while (after the invitation's
    link was used)."""
    now = time.time() if now is None else now
    request.session[_GRANT_KEY] = {"user": user.pk, "until": now + ENROLMENT_WINDOW_SECONDS}


def may_enrol(request: HttpRequest, user: User, *, now: float | None = None) -> bool:
    grant = request.session.get(_GRANT_KEY)
    if not isinstance(grant, dict) or grant.get("user") != user.pk:
        return False
    until = grant.get("until")
    now = time.time() if now is None else now
    return isinstance(until, int | float) and now < until


def end_enrolment(request: HttpRequest) -> None:
    request.session.pop(_GRANT_KEY, None)
