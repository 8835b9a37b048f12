"""Citizen accounts: creating them and changing their details. The API and the pages both
go through here."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, User

OLDEST_AGE_YEARS = 130


def check_date_of_birth(date_of_birth: dt.date) -> None:
    """Raise ValidationError unless `date_of_birth` can be a living person's: not in the
    future, not more than OLDEST_AGE_YEARS ago."""
    today = timezone.localdate()
    if date_of_birth > today:
        raise ValidationError(_("Date of birth must be in the past."), code="future")
    if date_of_birth.year < today.year - OLDEST_AGE_YEARS:
        raise ValidationError(_("Enter your real date of birth."), code="implausible")


def register_citizen(
    *,
    email: str,
    password: str,
    full_name: str,
    date_of_birth: dt.date,
    phone: str = "",
    language: str = "",
) -> Citizen:
    """A new user who signs in with `email`, with their citizen profile; their messages go
    out in `language` (the site's default when not one of its languages). Raises
    ValidationError with messages per field."""
    email = User.objects.normalize_email(email.strip()).lower()
    full_name = " ".join(full_name.split())
    errors: dict[str, list[str]] = {}
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("An account with this email address already exists. Sign in.")]
    try:
        check_date_of_birth(date_of_birth)
    except ValidationError as error:
        errors["date_of_birth"] = list(error.messages)
    if not full_name:
        errors["full_name"] = [_("Enter your full name.")]
    candidate = User(email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with transaction.atomic(durable=True):
        user = User.objects.create_user(email, password)
        return Citizen.objects.create(
            user=user,
            full_name=full_name,
            date_of_birth=date_of_birth,
            phone=phone.strip(),
            language=language,
        )


def change_citizen_details(
    *, citizen: Citizen, full_name: str, phone: str, language: str
) -> Citizen:
    """The person's own name, phone and language of their messages. The date of birth is
    not theirs to change here: staff match it against an identity document. Raises
    ValidationError with messages per field and then changes nothing."""
    full_name = " ".join(full_name.split())
    errors: dict[str, list[str]] = {}
    if not full_name:
        errors["full_name"] = [_("Enter your full name.")]
    if language not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose a language from the list.")]
    if errors:
        raise ValidationError(errors)
    citizen.full_name, citizen.phone, citizen.language = full_name, phone.strip(), language
    citizen.save(update_fields=["full_name", "phone", "language"])
    return citizen
