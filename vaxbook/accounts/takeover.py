"""A person booked for by others takes over their own record with their own account.

1. An account that books for them asks for a code (`send_code`): it goes to the person's own
   email address or phone, never to the booker, and is valid for CODE_LIFETIME. Only its hash
   is stored; the worker's task derives the code again from the row (HMAC with the
   SECRET_KEY), so no code waits in the task queue either.
2. The person, signed in with their own account, types it (`redeem`): the record with its
   appointments becomes their account's, and every account that booked for them loses it.
   Their account's own profile, made at registration, is replaced by it; it must have no
   appointments and the same date of birth.

A code works once (a conditional update on `used_at`), and not after it expires.
"""

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen, PersonBookedFor, TakeoverCode, User
from vaxbook.core.errors import DomainError
from vaxbook.notifications import sms

CODE_LIFETIME = dt.timedelta(days=7)
# No 0/O/1/I/L, as in booking references: read aloud or typed from an SMS.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


class TakeoverRefused(DomainError):
    code = "takeover_refused"


def code_of(takeover: TakeoverCode) -> str:
    digest = salted_hmac(
        "vaxbook.accounts.takeover", f"{takeover.pk}:{takeover.nonce}", algorithm="sha256"
    ).digest()
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in digest[:CODE_LENGTH])


def _hash(code: str) -> str:
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def send_code(*, booker: User, person_id: int) -> TakeoverCode:
    """A new code for one of the people `booker` books for, sent to the person's own email
    (else phone). TakeoverRefused when they have neither."""
    person = people.person_for(booker=booker, person_id=person_id)
    if not (person.email or (person.phone and sms.is_enabled())):
        raise TakeoverRefused(
            _(
                "Only a person with their own email address or mobile phone can take over "
                "their record."
            )
        )
    now = timezone.now()
    with transaction.atomic():
        takeover = TakeoverCode.objects.create(
            person=person,
            requested_by=booker,
            nonce=secrets.token_hex(16),
            code_hash="pending",  # the hash needs the row's id
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
        takeover.code_hash = _hash(code_of(takeover))
        takeover.save(update_fields=["code_hash"])
        deliver_code.enqueue(takeover_id=takeover.pk)
    return takeover


@task()
def deliver_code(*, takeover_id: int) -> None:
    takeover = TakeoverCode.objects.select_related("person").filter(pk=takeover_id).first()
    if takeover is None or takeover.used_at is not None:
        return
    person = takeover.person
    with translation.override(person.language):
        text = _(
            "vaxbook: someone books your vaccination appointments for you. To manage them "
            "with your own account, sign in and enter this code under Your account: %(code)s "
            "(valid until %(date)s)."
        ) % {"code": code_of(takeover), "date": takeover.expires_at.date().isoformat()}
        if person.email:
            send_mail(
                _("Your vaccination record: take it over"),
                text,
                settings.DEFAULT_FROM_EMAIL,
                [person.email],
            )
        elif person.phone:
            sms.get_backend().send(person.phone, text)


def redeem(*, user: User, code: str) -> Citizen:
    """Make the record of `code` the account's own (see the module docstring)."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        takeover = TakeoverCode.objects.select_for_update().filter(code_hash=_hash(code)).first()
        if takeover is None:
            raise TakeoverRefused(_("This code is not right. Check it and try again."))
        if takeover.used_at is not None:
            raise TakeoverRefused(_("This code has been used already."))
        if takeover.expires_at <= now:
            raise TakeoverRefused(_("This code has expired. Ask for a new one."))
        person = Citizen.objects.select_for_update().get(pk=takeover.person_id)
        if person.user_id is not None:
            raise TakeoverRefused(_("This record belongs to an account already."))
        own = Citizen.objects.select_for_update().filter(user=user).first()
        if own is not None:
            if own.date_of_birth != person.date_of_birth:
                raise TakeoverRefused(
                    _("The date of birth of your account is not the one of this record.")
                )
            if own.appointments.exists():
                raise TakeoverRefused(
                    _("Your account has appointments of its own: this record cannot join it.")
                )
            own.delete()
        TakeoverCode.objects.filter(pk=takeover.pk, used_at__isnull=True).update(used_at=now)
        person.user = user
        person.save(update_fields=["user"])
        PersonBookedFor.objects.filter(person=person).delete()
    return person
