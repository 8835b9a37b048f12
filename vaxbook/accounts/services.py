"""Creating citizen accounts. The API and the pages both register through here."""

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, User

OLDEST_AGE_YEARS = 130


def register_citizen(
    *, email: str, password: str, full_name: str, date_of_birth: dt.date, phone: str = ""
) -> Citizen:
    """A new user who signs in with `email`, with their citizen profile. Raises
    ValidationError with messages per field."""
    email = User.objects.normalize_email(email.strip()).lower()
    full_name = " ".join(full_name.split())
    errors: dict[str, list[str]] = {}
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("An account with this email address already exists. Sign in.")]
    today = timezone.localdate()
    if date_of_birth > today:
        errors["date_of_birth"] = [_("Date of birth must be in the past.")]
    elif date_of_birth.year < today.year - OLDEST_AGE_YEARS:
        errors["date_of_birth"] = [_("Enter your real date of birth.")]
    if not full_name:
        errors["full_name"] = [_("Enter your full name.")]
    candidate = User(email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        user = User.objects.create_user(email, password)
        return Citizen.objects.create(
            user=user, full_name=full_name, date_of_birth=date_of_birth, phone=phone.strip()
        )
