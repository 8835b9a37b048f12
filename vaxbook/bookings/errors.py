"""Why a booking operation was refused. Raised by vaxbook.bookings.services; when one is
raised, the database is exactly as it was before the call."""

import datetime as dt

from vaxbook.core.errors import DomainError


class SlotUnavailable(DomainError):
    """The slot does not exist, is closed, belongs to a closed centre or has started."""

    code = "slot_unavailable"


class SlotFull(DomainError):
    code = "slot_full"


class AlreadyBooked(DomainError):
    """The person already holds an appointment for this dose."""

    code = "already_booked"


class NotEligible(DomainError):
    """The person may not have this dose at that time; `message` says why in plain words.
    `opens_at`: when the campaign opens to them, if that is the reason and it is known."""

    code = "not_eligible"

    def __init__(self, message: str, *, opens_at: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.opens_at = opens_at


class AppointmentNotFound(DomainError):
    """No such appointment, or not this person's: the two are indistinguishable by design."""

    code = "not_found"


class NotCancellable(DomainError):
    """The appointment can no longer be cancelled or moved (checked in, past, cancelled)."""

    code = "not_cancellable"


class InvalidTransition(DomainError):
    """The appointment's status does not allow this step (e.g. vaccinating before check-in)."""

    code = "invalid_transition"

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


class InvalidRecord(DomainError):
    """A vaccination record is missing what it needs (the lot number)."""

    code = "invalid_record"


class NotPermitted(DomainError):
    """The staff member has no role at the appointment's centre that allows this step."""

    code = "not_permitted"


class NoSpareCapacity(DomainError):
    """A walk-in finds no free place left today: it may be recorded over capacity, with a
    reason."""

    code = "no_spare_capacity"
