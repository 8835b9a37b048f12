"""The base of every domain error. Each carries a stable machine-readable `code` (the API's
problem+json `code`) and a message for people, so every interface maps errors the same way."""

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
