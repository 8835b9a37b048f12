"""Citizen accounts: the rules on their details, and changing them. The API and the pages both
go through here; creating an account is vaxbook.accounts.registration."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
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


def remember_language(*, user: User, language: str) -> None:
    """Keep `language` on the account of `user`, so that it applies when they sign in on
    another device and their messages go out in it. Staff accounts keep none; a language the
    site does not offer is ignored."""
    if language not in dict(settings.LANGUAGES):
        return
    Citizen.objects.filter(user=user).exclude(language=language).update(language=language)


def language_of(user: User) -> str | None:
    """The language kept on the account of `user`; None for staff."""
    return Citizen.objects.filter(user=user).values_list("language", flat=True).first()
