"""Bearer tokens of the JSON API: issued for an email address and password (and the TOTP
code of any account that has an authenticator), checked on every request, revoked on
sign-out and by any password change.

Staff act with a second factor on every channel: a staff member without a confirmed
authenticator gets no token at all (they add one through their invitation link first), and
a token records whether the code was checked (`second_factor`), which every staff endpoint
requires (vaxbook.api.auth.staff_caller).

A token is 32 random bytes (secrets.token_urlsafe), opaque to clients. The database keeps
only its SHA-256: a random 256-bit secret needs no slow hash, and the lookup stays one
indexed query. Each row also keeps the user's get_session_auth_hash() of the moment, which
changes with the password: a token issued before a password change no longer matches,
exactly as Django ends the sessions of that user.
"""

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass

import django_otp
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, User
from vaxbook.accounts.staff import is_staff_member, staff_device
from vaxbook.api.models import ApiToken
from vaxbook.core import rows
from vaxbook.core.errors import DomainError

TOKEN_TYPE = "bearer"  # noqa: S105 (the OAuth 2.0 token type, not a secret)
TOKEN_BYTES = 32


class InvalidCredentials(DomainError):
    """Unknown email address, wrong password or inactive account (indistinguishable)."""

    code = "invalid_credentials"


class OtpRequired(DomainError):
    """The account has an authenticator: the token request must carry its code."""

    code = "otp_required"


class OtpInvalid(DomainError):
    code = "otp_invalid"


class OtpSetupRequired(DomainError):
    """A staff member without an authenticator: the password alone never acts for a
    centre, and an authenticator is added only through the invitation's link."""

    code = "otp_setup_required"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds
    token_type: str = TOKEN_TYPE


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def sign_in(
    *, request: HttpRequest | None, email: str, password: str, otp: str | None
) -> IssuedToken:
    """A new token for the account, if the credentials (and the TOTP code of an account
    with an authenticator) are right. Raises InvalidCredentials, OtpRequired, OtpInvalid,
    OtpSetupRequired."""
    # Django's authenticate() hashes the password even for an unknown address, so the
    # answer takes as long either way and does not tell who has an account.
    user = authenticate(request, username=email, password=password)
    if not isinstance(user, User):
        raise InvalidCredentials(_("The email address or the password is not right."))
    device = staff_device(user)
    if device is None:
        if is_staff_member(user):
            raise OtpSetupRequired(
                _(
                    "Staff accounts need an authenticator app. Add it with the link of your "
                    "invitation email (or ask your centre manager to invite you again), then "
                    "send its code as `otp`."
                )
            )
        return issue(user=user, second_factor=False)
    if not otp:
        raise OtpRequired(_("Add the 6-digit code of your authenticator app as `otp`."))
    # django-otp refuses a code used before and throttles wrong ones per device.
    if django_otp.verify_token(user, device.persistent_id, otp.strip()) is None:
        raise OtpInvalid(_("That code is not right. Send the code shown now."))
    return issue(user=user, second_factor=True)


def issue(*, user: User, second_factor: bool, now: dt.datetime | None = None) -> IssuedToken:
    now = now or timezone.now()
    lifetime = settings.API_TOKEN_LIFETIME_SECONDS
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    ApiToken.objects.create(
        user=user,
        digest=digest(raw),
        auth_hash=user.get_session_auth_hash(),
        second_factor=second_factor,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=lifetime),
    )
    return IssuedToken(access_token=raw, expires_in=lifetime)


def token_of(raw: str, *, now: dt.datetime | None = None) -> ApiToken | None:
    """The live token whose value is `raw`, with its user (and their citizen profile,
    if any) loaded by the same query; None if unknown, expired, revoked, or issued before
    the user's password changed or their account was deactivated."""
    with connection.cursor() as cursor:
        cursor.execute(
            _token_query(),
            [digest(raw), connection.ops.adapt_datetimefield_value(now or timezone.now())],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    # Every API request runs this: one hand-written statement instead of the ORM's
    # select_related (a millisecond of query compiling per request), same instances.
    token_end = rows.width(ApiToken)
    user_end = token_end + rows.width(User)
    token = rows.instance(ApiToken, row[:token_end])
    user = rows.instance(User, row[token_end:user_end])
    citizen = None if row[user_end] is None else rows.instance(Citizen, row[user_end:])
    if citizen is not None:
        citizen.user = user
    User.citizen.related.set_cached_value(user, citizen)  # None: user.citizen raises
    token.user = user
    if not user.is_active or not _same_password(token):
        return None
    return token


@functools.cache
def _token_query() -> str:
    return (
        f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')},"  # noqa: S608 (column names from our models)
        f" {rows.columns(Citizen, 'c')}"
        f" FROM {ApiToken._meta.db_table} t"
        f" JOIN {User._meta.db_table} u ON u.id = t.user_id"
        f" LEFT JOIN {Citizen._meta.db_table} c ON c.user_id = u.id"
        " WHERE t.digest = %s AND t.expires_at > %s"
    )


def revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def purge_expired(*, now: dt.datetime | None = None) -> int:
    deleted, _by_model = ApiToken.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def _same_password(token: ApiToken) -> bool:
    user = token.user
    if constant_time_compare(token.auth_hash, user.get_session_auth_hash()):
        return True
    # A rotated SECRET_KEY (SECRET_KEY_FALLBACKS) keeps tokens valid, as it keeps sessions.
    return any(
        constant_time_compare(token.auth_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )
