"""Why a centre management operation was refused. Raised by vaxbook.centres.services and
vaxbook.centres.slot_generation; when one is raised, the database is exactly as it was
before the call. Staff pages map NotPermitted and CentreNotFound to a 404 (a page about a
centre one does not manage does not exist for them) and show the others as form errors."""

from vaxbook.core.errors import DomainError


class CentreNotFound(DomainError):
    """No such centre, slot or template at a centre the user manages: indistinguishable."""

    code = "not_found"


class NotPermitted(DomainError):
    """The user does not manage this centre, or the action is for administrators."""

    code = "not_permitted"


class InvalidCentre(DomainError):
    """The centre's details break a rule; `errors` maps field names to messages."""

    code = "invalid_centre"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class InvalidTemplate(DomainError):
    """An opening template breaks a rule (hours, slot length, places, an overlap);
    `errors` maps field names to messages, "__all__" for the template as a whole."""

    code = "invalid_template"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class InvalidRange(DomainError):
    """A range of days that is reversed, in the past or too long."""

    code = "invalid_range"


class CapacityBelowBooked(DomainError):
    """Fewer places than are already booked; `booked` is how many are."""

    code = "capacity_below_booked"

    def __init__(self, message: str, *, booked: int) -> None:
        super().__init__(message)
        self.booked = booked


class InvalidChange(DomainError):
    """A change to slots that cannot apply: a slot that has started, a number of places out
    of range, nothing to change, a closure without a reason."""

    code = "invalid_change"


class InvalidInvitation(DomainError):
    """A staff invitation that cannot be made: an unknown role, a bad address."""

    code = "invalid_invitation"
