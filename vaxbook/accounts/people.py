"""People an account books for: a parent, a child over the minimum age, a person one cares
for, who has no account of their own.

Such a person is a Citizen without a `user`, linked to each account that books for them by
a PersonBookedFor row. The booking services take the person, never the account, so every
rule per person (eligibility, one live appointment per dose, the campaign policy) holds for
them as for anyone, whichever account or channel books.

Matching a person, so that one person has one record:
- within one account, the same name (ignoring case and spacing) and date of birth is the
  same person: adding them twice is refused (PersonAlreadyAdded), as is adding oneself;
- across accounts, a person without an account given with the same name, date of birth and
  phone or email as an existing record is that record (two siblings booking for a parent,
  a person the phone line has booked for): the new account is linked to it. Two people who
  share a name, a date of birth and a phone number are taken to be one.
"""

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, PersonBookedFor, User
from vaxbook.accounts.services import check_date_of_birth
from vaxbook.core.errors import DomainError

PHONE_MAX_LENGTH = 32


class PersonAlreadyAdded(DomainError):
    """The account holds this person already (same name and date of birth), or it is the
    account holder themselves."""

    code = "person_already_added"


class PersonNotFound(DomainError):
    """No such person among those the account books for: the same answer as a missing one."""

    code = "not_found"


def normalised_name(full_name: str) -> str:
    return " ".join(full_name.split())


def clean_details(
    *, full_name: str, date_of_birth: dt.date, phone: str = "", email: str = ""
) -> tuple[str, str, str]:
    """The name, phone and email as stored; ValidationError with messages per field."""
    full_name, phone, email = normalised_name(full_name), phone.strip(), email.strip().lower()
    errors: dict[str, list[str]] = {}
    if not full_name:
        errors["full_name"] = [_("Enter the person's full name.")]
    try:
        check_date_of_birth(date_of_birth)
    except ValidationError as error:
        errors["date_of_birth"] = list(error.messages)
    if len(phone) > PHONE_MAX_LENGTH or (phone and not _looks_like_phone(phone)):
        errors["phone"] = [_("Enter a phone number, for example +34 600 000 000.")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter an email address, for example name@example.org.")]
    if errors:
        raise ValidationError(errors)
    return full_name, phone, email


def _looks_like_phone(phone: str) -> bool:
    digits = [c for c in phone if c.isdigit()]
    return 6 <= len(digits) <= 15 and all(c.isdigit() or c in "+ -()." for c in phone)


def add_person(
    *, booker: User, full_name: str, date_of_birth: dt.date, phone: str = "", email: str = ""
) -> Citizen:
    """Add a person `booker` books for: a record matched or created (see the module
    docstring) and linked to the account. ValidationError for bad details;
    PersonAlreadyAdded when the account holds them already or they are its holder."""
    full_name, phone, email = clean_details(
        full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email
    )
    for _attempt in range(2):
        try:
            return _add(booker, full_name, date_of_birth, phone, email)
        except IntegrityError:
            # Another account created the same person's record at the same instant (a
            # unique constraint on Citizen refused ours): the next round finds theirs.
            continue
    raise PersonAlreadyAdded(_("This person is being added already. Try again."))


def _add(booker: User, full_name: str, date_of_birth: dt.date, phone: str, email: str) -> Citizen:
    with transaction.atomic(durable=True):
        # One change to an account's people at a time: two clicks on "Add" cannot both
        # pass the duplicate check below.
        User.objects.select_for_update().filter(pk=booker.pk).first()
        born_then = Citizen.objects.filter(date_of_birth=date_of_birth)
        if _named(born_then.filter(user=booker), full_name):
            raise PersonAlreadyAdded(_("This is you: book for yourself by choosing your own name."))
        if _named(born_then.filter(bookers__booker=booker), full_name):
            raise PersonAlreadyAdded(
                _("You have added %(name)s, born %(date)s, already.")
                % {"name": full_name, "date": date_of_birth.isoformat()}
            )
        person = find_without_account(
            full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email
        )
        if person is None:
            person = Citizen.objects.create(
                full_name=full_name,
                date_of_birth=date_of_birth,
                phone=phone,
                email=email,
                language=_booker_language(booker),
            )
        PersonBookedFor.objects.create(booker=booker, person=person)
        return person


def find_without_account(
    *, full_name: str, date_of_birth: dt.date, phone: str = "", email: str = ""
) -> Citizen | None:
    """The record of a person without an account with this name, date of birth and this
    phone or email (given); None when there is none or no phone nor email is given."""
    contact = Q()
    if phone:
        contact |= Q(phone=phone)
    if email:
        contact |= Q(email__iexact=email)
    if not contact:
        return None
    candidates = Citizen.objects.filter(contact, user__isnull=True, date_of_birth=date_of_birth)
    found = _named(candidates.order_by("pk"), full_name)
    return found[0] if found else None


def _named(candidates: "QuerySet[Citizen]", full_name: str) -> list[Citizen]:
    """The candidates called `full_name`, ignoring case (of any alphabet, which SQLite's
    LIKE does not) and spacing. Few: they share a date of birth and an account or a
    contact."""
    wanted = normalised_name(full_name).casefold()
    return [c for c in candidates if normalised_name(c.full_name).casefold() == wanted]


def _booker_language(booker: User) -> str:
    own = Citizen.objects.filter(user=booker).values_list("language", flat=True).first()
    return own or Citizen._meta.get_field("language").get_default()


def people_of(booker: User) -> list[Citizen]:
    """The people `booker` books for, by name."""
    return list(Citizen.objects.filter(bookers__booker=booker).order_by("full_name", "pk"))


def person_for(*, booker: User, person_id: int) -> Citizen:
    """One of the people `booker` books for; PersonNotFound otherwise (someone else's
    relative looks exactly like a missing one)."""
    person = Citizen.objects.filter(pk=person_id, bookers__booker=booker).first()
    if person is None:
        raise PersonNotFound(_("Person not found."))
    return person


def bookable_by(user: User) -> list[Citizen]:
    """Everyone `user` may book for: themselves first (when they have a citizen profile),
    then the people they book for."""
    own = list(Citizen.objects.filter(user=user))
    return own + people_of(user)


def person_or_self(*, user: User, person_id: int | None, own: Callable[[], Citizen]) -> Citizen:
    """The person a booking is for: `own()` (the account holder) without `person_id`, one
    of the people the account books for with it."""
    if person_id is None:
        return own()
    own_person = Citizen.objects.filter(user=user, pk=person_id).first()
    return own_person or person_for(booker=user, person_id=person_id)


class AmbiguousPerson(DomainError):
    """Several people share the name and date of birth given (and the phone, if any)."""

    code = "ambiguous_person"


def person_at_centre(
    *, full_name: str, date_of_birth: dt.date, phone: str = "", email: str = ""
) -> Citizen:
    """The person standing at the centre, identified by their document's name and date of
    birth (and phone when two share those): their record, with an account or not, or a
    new record NOT yet saved, which the walk-in saves with the dose
    (vaxbook.bookings.services.record_walk_in). ValidationError for bad details;
    AmbiguousPerson when more than one record matches."""
    full_name, phone, email = clean_details(
        full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email
    )
    matches = _named(Citizen.objects.filter(date_of_birth=date_of_birth).order_by("pk"), full_name)
    if phone and len(matches) > 1:
        wanted = "".join(c for c in phone if c.isdigit())[-9:]
        matches = [m for m in matches if "".join(c for c in m.phone if c.isdigit())[-9:] == wanted]
    if len(matches) > 1:
        raise AmbiguousPerson(
            _("Several people have this name and date of birth: add their phone number.")
        )
    if matches:
        return matches[0]
    return Citizen(full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email)
