"""The waiting room's errors, each with its stable code (the API's problem `code`)."""

from vaxbook.core.errors import DomainError


class InvalidTicket(DomainError):
    code = "invalid_ticket"


class PassRequired(DomainError):
    code = "pass_required"


class PassInvalid(DomainError):
    code = "pass_invalid"


class Unavailable(DomainError):
    """The line's store does not answer: nobody is admitted meanwhile."""

    code = "waiting_room_unavailable"
    retry_after = 10


class TooManyPolls(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
