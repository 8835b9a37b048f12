"""Why a waiting-list operation was refused. Raised by vaxbook.waiting_list.services; when
one is raised, the database is exactly as it was before the call (an offer found expired or
unusable is released first, in a transaction of its own: see services.accept_offer)."""

from vaxbook.core.errors import DomainError


class InvalidEntry(DomainError):
    """What the person asked for cannot be matched: no centre, a reversed or past range,
    no weekday or time of day; `errors` maps field names to messages."""

    code = "invalid_entry"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class AlreadyWaiting(DomainError):
    """The person has a live entry for this dose already (change it instead)."""

    code = "already_waiting"


class EntryNotFound(DomainError):
    """No such live entry of this person: a missing one and someone else's look the same."""

    code = "not_found"


class OfferNotFound(DomainError):
    """No such offer of this person, or a link that does not verify."""

    code = "not_found"


class OfferClosed(DomainError):
    """The offer no longer holds a place: accepted already, declined, expired, or released
    (the slot closed, the person booked elsewhere); `status` says which."""

    code = "offer_closed"

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status
