"""Signed tickets and passes (django.core.signing: HMAC-SHA256 with a key derived from
SECRET_KEY and a salt of their own, so a ticket is never taken for a pass or for any other
signed value of the service).

A ticket names the room and a random ticket id; once the person has a place it also
carries that position and whether they were admitted, so that a store that lost its data
can put the person back where they were (vaxbook.waiting_room.services). It expires
`grace` seconds after it was issued; every poll issues it again, so a person keeps their
place through late polls, reloads and lost connections shorter than the grace period.

A pass names the room and the ticket, and carries its own expiry. Checking one needs no
store: passes already issued stay valid when Redis is away.
"""

import time
from dataclasses import dataclass

from django.core import signing

TICKET_SALT = "vaxbook.waiting_room.ticket"
PASS_SALT = "vaxbook.waiting_room.pass"  # noqa: S105 (a salt, not a secret)


class BadToken(Exception):
    """Forged, altered, expired or from another room."""


@dataclass(frozen=True)
class TicketClaims:
    room_id: int
    ticket_id: str
    position: int | None = None
    admitted: bool = False


@dataclass(frozen=True)
class PassClaims:
    room_id: int
    ticket_id: str
    expires_at: float  # Unix time


def issue_ticket(claims: TicketClaims) -> str:
    body: dict[str, object] = {"r": claims.room_id, "t": claims.ticket_id}
    if claims.position is not None:
        body["p"] = claims.position
    if claims.admitted:
        body["a"] = 1
    return signing.dumps(body, salt=TICKET_SALT)


def read_ticket(token: str, *, grace_seconds: int) -> TicketClaims:
    try:
        body = signing.loads(token, salt=TICKET_SALT, max_age=grace_seconds)
        position = body.get("p")
        claims = TicketClaims(
            room_id=int(body["r"]),
            ticket_id=str(body["t"]),
            position=None if position is None else int(position),
            admitted=bool(body.get("a")),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise BadToken from None
    if not claims.ticket_id or (claims.position is not None and claims.position < 1):
        raise BadToken
    return claims


def issue_pass(claims: PassClaims) -> str:
    return signing.dumps(
        {"r": claims.room_id, "t": claims.ticket_id, "x": round(claims.expires_at)},
        salt=PASS_SALT,
    )


def read_pass(token: str, *, now: float | None = None) -> PassClaims:
    try:
        body = signing.loads(token, salt=PASS_SALT)
        claims = PassClaims(
            room_id=int(body["r"]), ticket_id=str(body["t"]), expires_at=float(body["x"])
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise BadToken from None
    if claims.expires_at <= (time.time() if now is None else now):
        raise BadToken
    return claims
