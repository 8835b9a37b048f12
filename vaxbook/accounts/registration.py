"""Creating a citizen account, with the email address proved first, and without telling
anyone whether an address already has an account (ASVS V2.5.7; docs/security.md).

    page or API                 worker (tasks.send_registration_email)     the person
    -----------                 -------------------------------------      ----------
    request_registration()  ->  send_link_or_notice():
      checks the fields,          the address has an account:           "someone tried to
      hashes the password,          delete the row, email the owner  ->  register with your
      writes a PendingRegistration  a notice                             address"
      (or replaces the one for    otherwise:
      that address), enqueues       email a link with a fresh secret ->  follows the link:
      the task; answers "check                                           confirm_registration()
      your email" either way                                             makes the account

The request does the same work for a new and a known address (no query on User at all), so
neither its answer nor its timing tells them apart. Until the link is followed there is no
account: nothing can sign in, get an API token or book with it, which is also why a sign-in
attempt with the password just chosen tells nothing either. Following the link makes the
account, signs the person in and takes them where they were going (the slot they chose), so
the booking follows at once, and every booking confirmation goes to a proved address.
"""

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, PendingRegistration, User
from vaxbook.accounts.services import check_date_of_birth
from vaxbook.core import ratelimit

logger = logging.getLogger(__name__)

# How long the emailed link works; an unconfirmed registration is deleted after it.
LINK_VALIDITY = dt.timedelta(hours=24)


class RegistrationLinkInvalid(Exception):
    """The link is unknown, replaced by a newer one, used already or expired."""


class AlreadyRegistered(Exception):
    """The address got an account between the request and the link (a staff invitation,
    or the same link followed twice at once): the person signs in instead."""


def request_registration(
    *,
    email: str,
    password: str,
    full_name: str,
    date_of_birth: dt.date,
    phone: str = "",
    language: str = "",
    next_url: str = "",
) -> None:
    """Ask for an account: the worker emails the address a link that creates it (or tells
    the owner of an existing account). Raises ValidationError with messages per field, never
    about the address having an account. `next_url` must be a checked path on this site.

    A few requests per address typed and hour are carried out (RATE_LIMITS
    "register_account"); beyond that nothing is written or sent, and the caller answers the
    same, so nobody can flood an inbox or learn anything."""
    email = User.objects.normalize_email(email.strip()).lower()
    full_name = " ".join(full_name.split())
    errors: dict[str, list[str]] = {}
    try:
        check_date_of_birth(date_of_birth)
    except ValidationError as error:
        errors["date_of_birth"] = list(error.messages)
    if not full_name:
        errors["full_name"] = [_("Enter your full name.")]
    try:
        validate_password(password, user=User(email=email))
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    password_hash = make_password(password)
    try:
        ratelimit.hit(*ratelimit.registration_account(email))
    except ratelimit.RateLimited:
        logger.info("Registration not carried out: too many for one address this hour.")
        return
    from vaxbook.accounts.tasks import send_registration_email  # tasks import this module

    pending = PendingRegistration(
        email=email,
        password=password_hash,
        full_name=full_name,
        date_of_birth=date_of_birth,
        phone=phone.strip(),
        language=language,
        next_url=next_url,
        requested_at=timezone.now(),
        token_hash="",  # nosec B106 (no link yet: the worker makes it)
        link_sent_at=None,
    )
    with transaction.atomic(durable=True):
        # One statement that inserts or replaces the address's row (INSERT ... ON CONFLICT):
        # two registrations of one address at once cannot fail on the unique email. A
        # replaced row's emailed link stops working (token_hash is emptied).
        PendingRegistration.objects.bulk_create(
            [pending],
            update_conflicts=True,
            unique_fields=["email"],
            update_fields=[
                "password",
                "full_name",
                "date_of_birth",
                "phone",
                "language",
                "next_url",
                "requested_at",
                "token_hash",
                "link_sent_at",
            ],
        )
        send_registration_email.enqueue(email=email)


def send_link_or_notice(*, email: str) -> None:
    """The worker's half of request_registration(): the link to a new address, a notice to
    the owner of an existing account. Does nothing when the row is gone (confirmed, or
    forgotten) or its link has gone out already (two requests, two tasks, one email)."""
    from vaxbook.accounts.tasks import forget_registration

    secret = ""
    with transaction.atomic():
        pending = PendingRegistration.objects.select_for_update().filter(email=email).first()
        if pending is None or pending.link_sent_at is not None:
            return
        owner = User.objects.filter(email__iexact=email, is_active=True).first()
        if owner is None:
            secret = secrets.token_urlsafe(32)
            pending.token_hash = _hash(secret)
            pending.link_sent_at = timezone.now()
            pending.save(update_fields=["token_hash", "link_sent_at"])
            forget_registration.using(run_after=pending.link_sent_at + LINK_VALIDITY).enqueue(
                email=email
            )
        else:
            pending.delete()
    if secret:
        _send_link(pending, secret)
    elif owner is not None:
        _send_notice(owner, fallback_language=pending.language)


def forget_expired_registration(*, email: str) -> None:
    """Delete the address's registration if its link has expired unused: it holds a name
    and a date of birth that nobody confirmed."""
    PendingRegistration.objects.filter(
        email=email, requested_at__lte=timezone.now() - LINK_VALIDITY
    ).delete()


@dataclass(frozen=True)
class LinkDetails:
    email: str
    full_name: str


def check_link(*, token: str) -> LinkDetails:
    """What the link would create, for the page that asks to confirm it. Raises
    RegistrationLinkInvalid."""
    pending = _valid_link(PendingRegistration.objects.all(), token)
    return LinkDetails(email=pending.email, full_name=pending.full_name)


def confirm_registration(*, token: str) -> tuple[Citizen, str]:
    """Create the account the link was sent for, its address now proved; the citizen and
    where they were going. The link works once. Raises RegistrationLinkInvalid, or
    AlreadyRegistered when the address has an account meanwhile."""
    with transaction.atomic(durable=True):
        # The row lock makes a second, concurrent use of the link wait, then find no row.
        pending = _valid_link(PendingRegistration.objects.select_for_update(), token)
        pending.delete()
        try:
            with transaction.atomic():
                user = User.objects.create(email=pending.email, password=pending.password)
        except IntegrityError:
            user = None  # the unique email: an account was made for the address meanwhile
        if user is not None:
            citizen = Citizen.objects.create(
                user=user,
                full_name=pending.full_name,
                date_of_birth=pending.date_of_birth,
                phone=pending.phone,
                language=pending.language,
            )
    if user is None:
        raise AlreadyRegistered
    return citizen, pending.next_url


def _valid_link(queryset: QuerySet[PendingRegistration], token: str) -> PendingRegistration:
    if not token:
        raise RegistrationLinkInvalid
    pending = queryset.filter(
        token_hash=_hash(token), link_sent_at__gt=timezone.now() - LINK_VALIDITY
    ).first()
    if pending is None:
        raise RegistrationLinkInvalid
    return pending


def _hash(secret: str) -> str:
    # The secret is 256 random bits: a fast hash is enough; what matters is that a copy of
    # the database holds no link that works.
    return hashlib.sha256(secret.encode()).hexdigest()


def _send_link(pending: PendingRegistration, secret: str) -> None:
    context = {
        "first_name": pending.full_name.split()[0],
        "link": settings.SITE_URL + reverse("confirm_registration", args=[secret]),
        "hours": int(LINK_VALIDITY / dt.timedelta(hours=1)),
    }
    send_email(pending.email, pending.language, "registration_link", context)


def _send_notice(owner: User, *, fallback_language: str) -> None:
    citizen = Citizen.objects.filter(user=owner).first()
    context = {
        "sign_in_url": settings.SITE_URL + reverse("sign_in"),
        "reset_url": settings.SITE_URL + reverse("password_reset"),
    }
    language = citizen.language if citizen is not None else fallback_language
    send_email(owner.email, language, "registration_attempt", context)


def send_email(email: str, language: str, template: str, context: Mapping[str, object]) -> None:
    """One of the accounts' emails (accounts/email/<template>.txt), in `language`."""
    with translation.override(language):
        subject = render_to_string(f"accounts/email/{template}_subject.txt").strip()
        body = render_to_string(f"accounts/email/{template}.txt", dict(context))
    # RFC 3834: tells vacation responders not to answer.
    EmailMessage(subject, body, to=[email], headers={"Auto-Submitted": "auto-generated"}).send()
