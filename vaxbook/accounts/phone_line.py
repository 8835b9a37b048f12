"""The phone line: agents of the health authority (User.authority_role `call_agent`, signed in
with the second factor like all staff) book for people who call.

What an agent may do, and see:
- find a person by full name and date of birth, narrowed by phone when given; a search with
  less (one word of a name, no date of birth) is refused (SearchTooVague), so an agent
  cannot browse the register;
- reach only the people found or created during the current call (`Call.people`): a person's
  record is never reached by its id alone;
- see of a person what the call needs: name, date of birth, the last digits of their phone,
  their appointments (when, where, which dose, status, reference, who booked);
- create a record for a person who has none, book, move and cancel for them through the
  ordinary booking services (every rule per person holds), and print a letter.

Every action is written to the audit log in its own transaction (the booking's, for the
changes), with the agent and the reason the agent gave for the call.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen, User
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.bookings import services
from vaxbook.bookings.errors import NotPermitted
from vaxbook.bookings.models import Appointment, BookingChannel
from vaxbook.core.errors import DomainError

# At most this many people are listed for one search: more means the details are too thin.
MAX_MATCHES = 10
REASON_MAX_LENGTH = 300


class SearchTooVague(DomainError):
    code = "search_too_vague"


@dataclass
class Call:
    """One call: why the agent acts, and the people found or created during it (their ids).
    Kept in the agent's session between pages; a new search starts a new call."""

    reason: str
    people: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "people": self.people}

    @classmethod
    def of(cls, data: Any) -> "Call | None":
        if not isinstance(data, dict) or not isinstance(data.get("reason"), str):
            return None
        ids = [pk for pk in data.get("people", []) if isinstance(pk, int)]
        return cls(reason=data["reason"], people=ids)


def ensure_agent(user: Any) -> User:
    if not isinstance(user, User) or not user.is_call_agent:
        raise NotPermitted(_("Only phone line agents may do this."))
    return user


def clean_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": [_("Say why you act: the caller's request.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": [_("At most %(max)d characters.") % {"max": REASON_MAX_LENGTH}]}
        )
    return reason


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def same_phone(a: str, b: str) -> bool:
    """The same number, written with or without the country code and spacing (the last 9
    digits: a Spanish number without its +34)."""
    left, right = _digits(a), _digits(b)
    return len(left) >= 6 and len(right) >= 6 and left[-9:] == right[-9:]


def phone_hint(phone: str) -> str:
    """What an agent sees of a phone number: its last three digits."""
    digits = _digits(phone)
    return f"••• {digits[-3:]}" if len(digits) >= 3 else ""


def find_people(
    *,
    agent: User,
    full_name: str,
    date_of_birth: dt.date | None,
    phone: str = "",
    reason: str,
    client_address: str | None = None,
) -> tuple[Call, list[Citizen]]:
    """Start a call: the people with this full name and date of birth (and this phone, when
    given), at most MAX_MATCHES. SearchTooVague without a full name of two words or more
    and a date of birth."""
    ensure_agent(agent)
    reason = clean_reason(reason)
    name = people.normalised_name(full_name)
    if len(name.split()) < 2 or date_of_birth is None:
        raise SearchTooVague(
            _(
                "Ask for the person's full name (first name and surname) and date of birth: "
                "a search needs both."
            )
        )
    candidates = Citizen.objects.filter(date_of_birth=date_of_birth).order_by("full_name", "pk")
    wanted = name.casefold()
    matches = [
        person
        for person in candidates.select_related("user")
        if people.normalised_name(person.full_name).casefold() == wanted
        and (not phone or same_phone(phone, person.phone))
    ]
    if len(matches) > MAX_MATCHES:
        raise SearchTooVague(_("Too many people match: ask for their phone number too."))
    call = Call(reason=reason, people=[person.pk for person in matches])
    record_event(
        actor=agent,
        action=AuditAction.PHONE_SEARCH,
        centre_id=None,
        outcome=str(len(matches)),
        client_address=client_address,
        detail={"reason": reason, "people": call.people, "with_phone": bool(phone)},
    )
    return call, matches


def create_person(
    *,
    agent: User,
    call: Call,
    full_name: str,
    date_of_birth: dt.date,
    phone: str = "",
    email: str = "",
    client_address: str | None = None,
) -> Citizen:
    """A record for a caller who has none (or the record of a person without an account
    with the same name, date of birth and phone or email: see vaxbook.accounts.people),
    added to the call. ValidationError for bad details."""
    ensure_agent(agent)
    full_name, phone, email = people.clean_details(
        full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email
    )
    for _attempt in range(2):
        try:
            with transaction.atomic(durable=True):
                person = people.find_without_account(
                    full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email
                )
                created = person is None
                if person is None:
                    person = Citizen.objects.create(
                        full_name=full_name, date_of_birth=date_of_birth, phone=phone, email=email
                    )
                record_event(
                    actor=agent,
                    action=AuditAction.PHONE_RECORD_CREATED,
                    centre_id=None,
                    outcome="created" if created else "matched",
                    client_address=client_address,
                    detail={"reason": call.reason, "person_id": person.pk},
                )
        except IntegrityError:
            continue  # created by someone else at the same instant: found next round
        if person.pk not in call.people:
            call.people.append(person.pk)
        return person
    raise DomainError(_("This person is being added already. Try again."))


def person_in_call(*, agent: User, call: Call | None, person_id: int) -> Citizen:
    """A person found or created during this call; PersonNotFound for anyone else."""
    ensure_agent(agent)
    if call is None or person_id not in call.people:
        raise people.PersonNotFound(_("Person not found."))
    person = Citizen.objects.filter(pk=person_id).first()
    if person is None:
        raise people.PersonNotFound(_("Person not found."))
    return person


def appointments_of(person: Citizen) -> list[Appointment]:
    return list(
        Appointment.objects.filter(person=person)
        .select_related("slot__centre", "slot__vaccine", "booked_by")
        .order_by("slot__starts_at")
    )


def appointment_in_call(
    *, agent: User, call: Call | None, appointment_id: uuid.UUID
) -> Appointment:
    appointment = (
        Appointment.objects.select_related("slot__centre", "slot__vaccine", "person")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        raise people.PersonNotFound(_("Appointment not found."))
    person_in_call(agent=agent, call=call, person_id=appointment.person_id)
    return appointment


def _audited(
    agent: User, action: AuditAction, call: Call, client_address: str | None
) -> services.Within:
    def within(appointment: Appointment) -> None:
        record_event(
            actor=agent,
            action=action,
            centre_id=appointment.slot.centre_id,
            appointment_id=appointment.pk,
            outcome=appointment.status,
            client_address=client_address,
            detail={"reason": call.reason, "person_id": appointment.person_id},
        )

    return within


def book_for(
    *,
    agent: User,
    call: Call,
    person: Citizen,
    slot_id: int,
    dose_number: int,
    client_address: str | None = None,
) -> Appointment:
    """Book for a person of the call, through the booking service (every rule per person),
    audited in the booking's transaction. The confirmation goes as for any booking: by
    SMS to the person's phone when they gave one, by email to their address and to the
    accounts that book for them; the agent can print a letter too."""
    person = person_in_call(agent=agent, call=call, person_id=person.pk)
    return services.book_appointment(
        person=person,
        slot_id=slot_id,
        dose_number=dose_number,
        on_behalf=services.OnBehalf(user=agent, channel=BookingChannel.PHONE_LINE),
        within=_audited(agent, AuditAction.PHONE_BOOKING, call, client_address),
    )


def reschedule_for(
    *,
    agent: User,
    call: Call,
    appointment_id: uuid.UUID,
    new_slot_id: int,
    client_address: str | None = None,
) -> Appointment:
    appointment = appointment_in_call(agent=agent, call=call, appointment_id=appointment_id)
    return services.reschedule_appointment(
        person=appointment.person,
        appointment_id=appointment.pk,
        new_slot_id=new_slot_id,
        within=_audited(agent, AuditAction.PHONE_RESCHEDULE, call, client_address),
    )


def cancel_for(
    *, agent: User, call: Call, appointment_id: uuid.UUID, client_address: str | None = None
) -> Appointment:
    appointment = appointment_in_call(agent=agent, call=call, appointment_id=appointment_id)
    return services.cancel_appointment(
        person=appointment.person,
        appointment_id=appointment.pk,
        within=_audited(agent, AuditAction.PHONE_CANCELLATION, call, client_address),
    )


def record_letter(
    *, agent: User, call: Call, appointment: Appointment, client_address: str | None = None
) -> None:
    """The letter of `appointment` was printed for posting (audited: it carries the
    confirmation)."""
    record_event(
        actor=agent,
        action=AuditAction.PHONE_LETTER,
        centre_id=appointment.slot.centre_id,
        appointment_id=appointment.pk,
        outcome=appointment.status,
        client_address=client_address,
        detail={"reason": call.reason, "person_id": appointment.person_id},
    )
