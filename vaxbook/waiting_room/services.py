"""The waiting room's rules: joining, polling, passes, and the health authority's controls.

A person joins (a signed ticket), polls (the same ticket, issued again with their place),
and when the admission frontier passes their position they get a pass (signed, valid for
the room's pass lifetime from the moment they were admitted). While a room is active the
booking journey needs a pass (vaxbook.waiting_room.gate); the pass binds to the first
account that uses it.

The line itself lives in a store: Redis when WAITING_ROOM_REDIS_URL (by default REDIS_URL)
is set, else the database (vaxbook.waiting_room.redis_store, db_store). When Redis does not
answer, joins and polls fail with Unavailable (a 503 with Retry-After) and the frontier,
kept in Redis, does not move: nobody is admitted and nobody loses their place meanwhile;
passes already issued keep working, since checking one needs only its signature and the
database.
"""

import datetime as dt
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from vaxbook.accounts.models import User
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.centres.models import Slot
from vaxbook.core import ratelimit
from vaxbook.waiting_room import engine, tokens
from vaxbook.waiting_room.db_store import DatabaseStore
from vaxbook.waiting_room.engine import Entry, Estimate, RoomConfig, State
from vaxbook.waiting_room.errors import (
    InvalidTicket,
    PassInvalid,
    PassRequired,
    TooManyPolls,
    Unavailable,
)
from vaxbook.waiting_room.models import PassHolder, WaitingRoom
from vaxbook.waiting_room.redis_store import PollStorm, RedisStore

logger = logging.getLogger(__name__)

# The active room is read at most once a second per process (every gated request asks).
ROOM_TTL = 1.0
# Places left for the open cohort: at most this old.
PLACES_TTL = 5.0
OFF_ROOM_ID = 0


# --- the active room, in memory --------------------------------------------------------

_lock = threading.Lock()
_room_cache: tuple[float, RoomConfig | None] | None = None


def current_room() -> RoomConfig | None:
    """The active room, at most ROOM_TTL seconds old in this process; None: room off."""
    global _room_cache
    cached = _room_cache
    if cached is not None and time.monotonic() - cached[0] < ROOM_TTL:
        return cached[1]
    with _lock:
        row = WaitingRoom.objects.filter(active=True).first()
        room = None if row is None else config_of(row)
        _room_cache = (time.monotonic(), room)
    return room


def config_of(row: WaitingRoom) -> RoomConfig:
    return RoomConfig(
        id=row.pk,
        name=row.name,
        opens_at=row.opens_at,
        rate_per_minute=float(row.rate_per_minute),
        pass_lifetime_seconds=row.pass_lifetime_seconds,
        paused=row.paused,
        auto=row.mode == "auto",
        next_release=row.next_release,
    )


def forget_room(**_: Any) -> None:
    global _room_cache
    _room_cache = None
    _places_cache.clear()


post_save.connect(forget_room, sender=WaitingRoom, dispatch_uid="waiting-room-saved")
post_delete.connect(forget_room, sender=WaitingRoom, dispatch_uid="waiting-room-deleted")


def store() -> DatabaseStore | RedisStore:
    url = settings.WAITING_ROOM_REDIS_URL
    return RedisStore(url) if url else DatabaseStore()


_places_cache: dict[int, tuple[float, int]] = {}


def places_left(room: RoomConfig) -> int:
    """Free places in open future slots (of the cohort opening's vaccine, when it names
    one), at most PLACES_TTL seconds old."""
    cached = _places_cache.get(room.id)
    if cached is not None and time.monotonic() - cached[0] < PLACES_TTL:
        return cached[1]
    slots = Slot.objects.filter(is_open=True, starts_at__gt=timezone.now())
    vaccine_id = (
        WaitingRoom.objects.filter(pk=room.id).values_list("cohort_opening__vaccine", flat=True)
    ).first()
    if vaccine_id is not None:
        slots = slots.filter(vaccine_id=vaccine_id)
    left = slots.aggregate(left=Sum(F("capacity") - F("booked")))["left"] or 0
    _places_cache[room.id] = (time.monotonic(), left)
    return left


# --- joining and polling --------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """What a person is told: the API's body and the page's content."""

    ticket: str
    state: str
    position: int | None = None
    ahead: int | None = None
    poll_after: float = 60.0
    estimate: Estimate | None = None
    opens_at: dt.datetime | None = None
    pass_token: str | None = None
    pass_expires_at: dt.datetime | None = None
    next_release: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "state": self.state,
            "position": self.position,
            "ahead": self.ahead,
            "poll_after": self.poll_after,
            "estimate": None
            if self.estimate is None
            else {
                "low_seconds": self.estimate.low_seconds,
                "high_seconds": self.estimate.high_seconds,
            },
            "opens_at": None if self.opens_at is None else self.opens_at.isoformat(),
            "pass": self.pass_token,
            "pass_expires_at": None
            if self.pass_expires_at is None
            else self.pass_expires_at.isoformat(),
        }


def _off() -> Status:
    ticket = tokens.issue_ticket(
        tokens.TicketClaims(room_id=OFF_ROOM_ID, ticket_id=secrets.token_urlsafe(12))
    )
    return Status(ticket=ticket, state=State.OFF, poll_after=60.0)


def _claims(ticket: str) -> tokens.TicketClaims:
    try:
        return tokens.read_ticket(ticket, grace_seconds=settings.WAITING_ROOM_GRACE_SECONDS)
    except tokens.BadToken:
        raise InvalidTicket(
            _(
                "This waiting-room ticket is not valid: it was altered, or it expired after "
                "%(minutes)d minutes without a visit. Join the line again."
            )
            % {"minutes": settings.WAITING_ROOM_GRACE_SECONDS // 60}
        ) from None


def join(
    *, ticket: str | None = None, account_id: int | None = None, now: float | None = None
) -> Status:
    """A place in the line for this person, or the place they already have: a valid
    `ticket` of the current line, or an account that already holds a place, keeps it."""
    now = time.time() if now is None else now
    room = current_room()
    if room is None:
        return _off()
    if ticket:
        try:
            claims = _claims(ticket)
        except InvalidTicket:
            claims = None
        if claims is not None and claims.room_id == room.id and account_id is None:
            try:
                return poll(ticket=ticket, now=now)
            except InvalidTicket:
                pass  # its turn came and went unused: a new place, at the back
    line = store()
    try:
        entry = line.join(
            room=room,
            account_id=account_id,
            now=now,
            ticket_id=secrets.token_urlsafe(12),
            draw=secrets.randbits(52),
        )
    except RedisError:
        logger.warning("Waiting room: Redis did not answer a join.", exc_info=True)
        raise Unavailable(_("The waiting room is busy. Try again in a few seconds.")) from None
    return _status(room, entry, now)


def poll(*, ticket: str, now: float | None = None) -> Status:
    """Where this ticket stands now (and its pass, once admitted)."""
    now = time.time() if now is None else now
    claims = _claims(ticket)
    room = current_room()
    if room is None:
        return _off()
    if claims.room_id != room.id:
        # A ticket from before this line started (the room was off, or another opening):
        # it joins this line now.
        return join(now=now)
    line = store()
    try:
        if isinstance(line, DatabaseStore):
            try:
                ratelimit.hit(ratelimit.Limit("waiting_room_poll", claims.ticket_id))
            except ratelimit.RateLimited as limited:
                raise PollStorm(limited.retry_after) from None
        entry = line.poll(
            room=room,
            ticket_id=claims.ticket_id,
            position=claims.position,
            admitted=claims.admitted,
            now=now,
        )
    except PollStorm as storm:
        raise TooManyPolls(
            _("You are checking too often. Your place is kept: check again in %(s)d seconds.")
            % {"s": storm.retry_after},
            storm.retry_after,
        ) from None
    except RedisError:
        logger.warning("Waiting room: Redis did not answer a poll.", exc_info=True)
        raise Unavailable(
            _("The waiting room is busy. Your place is kept: try again in a few seconds.")
        ) from None
    if entry is None:  # the database store lost nothing; only a ticket of a deleted line
        return join(now=now)
    return _status(room, entry, now)


def _status(room: RoomConfig, entry: Entry, now: float) -> Status:
    admitted = engine.is_admitted(entry)
    ticket = tokens.issue_ticket(
        tokens.TicketClaims(
            room_id=room.id,
            ticket_id=entry.ticket_id,
            position=entry.position,
            admitted=admitted,
        )
    )
    opens_at = room.opens_at
    if admitted:
        started = entry.admitted_at if entry.admitted_at is not None else now
        expires = started + room.pass_lifetime_seconds
        if expires <= now:
            raise InvalidTicket(
                _("Your turn came and your pass expired unused. Join the line again to book.")
            )
        return Status(
            ticket=ticket,
            state=State.ADMITTED,
            position=entry.position,
            ahead=0,
            poll_after=engine.poll_after(state=State.ADMITTED),
            opens_at=opens_at,
            pass_token=tokens.issue_pass(
                tokens.PassClaims(room_id=room.id, ticket_id=entry.ticket_id, expires_at=expires)
            ),
            pass_expires_at=dt.datetime.fromtimestamp(round(expires), tz=dt.UTC),
        )
    if places_left(room) <= 0:
        return Status(
            ticket=ticket,
            state=State.SOLD_OUT,
            position=entry.position,
            poll_after=engine.poll_after(state=State.SOLD_OUT),
            opens_at=opens_at,
            next_release=room.next_release,
        )
    if entry.position is None:
        return Status(
            ticket=ticket,
            state=State.PRE_QUEUE,
            poll_after=engine.poll_after(
                state=State.PRE_QUEUE, opens_in=room.opens_at_ts - now, crowd=entry.total
            ),
            opens_at=opens_at,
        )
    ahead = engine.ahead_of(entry)
    if room.paused:
        return Status(
            ticket=ticket,
            state=State.PAUSED,
            position=entry.position,
            ahead=ahead,
            poll_after=engine.poll_after(state=State.PAUSED),
            opens_at=opens_at,
        )
    return Status(
        ticket=ticket,
        state=State.WAITING,
        position=entry.position,
        ahead=ahead,
        poll_after=engine.poll_after(
            state=State.WAITING, ahead=ahead, rate_per_second=room.rate_per_second
        ),
        estimate=engine.estimate(ahead=ahead or 0, rate_per_second=room.rate_per_second),
        opens_at=opens_at,
    )


# --- passes -----------------------------------------------------------------------------


def check_pass(*, token: str | None, user_id: int | None, now: float | None = None) -> None:
    """Refuse a booking step without a valid pass while a room is active (PassRequired,
    PassInvalid). With `user_id`, the pass is bound to that account at its first use: it
    never books for another, and the account holds no other live pass."""
    room = current_room()
    if room is None:
        return
    now = time.time() if now is None else now
    if not token:
        raise PassRequired(
            _(
                "Booking is open through the waiting room just now. Join the line at "
                "/waiting-room/ (or POST /api/v1/waiting-room/tickets) and send the pass you "
                "get at your turn."
            )
        )
    try:
        claims = tokens.read_pass(token, now=now)
    except tokens.BadToken:
        raise PassInvalid(
            _("This waiting-room pass is not valid or has expired. Join the line again.")
        ) from None
    if claims.room_id != room.id:
        raise PassInvalid(_("This pass belongs to an earlier opening. Join the line again."))
    if user_id is not None:
        _bind(room, claims, user_id, now)


def _bind(room: RoomConfig, claims: tokens.PassClaims, user_id: int, now: float) -> None:
    expires_at = dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC)
    for _attempt in range(2):
        holder = PassHolder.objects.filter(room_id=room.id, ticket_id=claims.ticket_id).first()
        if holder is not None:
            if holder.user_id != user_id:
                raise PassInvalid(_("This pass is already in use by another account."))
            return
        try:
            with transaction.atomic():
                # An account's expired pass gives way to its new one.
                PassHolder.objects.filter(
                    room_id=room.id, user_id=user_id, expires_at__lte=timezone.now()
                ).delete()
                PassHolder.objects.create(
                    room_id=room.id,
                    ticket_id=claims.ticket_id,
                    user_id=user_id,
                    expires_at=expires_at,
                )
            return
        except IntegrityError:
            # Either this pass was bound a moment ago (the loop looks again) or the account
            # holds another live pass.
            if (
                PassHolder.objects.filter(
                    room_id=room.id, user_id=user_id, expires_at__gt=timezone.now()
                )
                .exclude(ticket_id=claims.ticket_id)
                .exists()
            ):
                raise PassInvalid(
                    _("Your account already holds another pass: one place per person.")
                ) from None
    raise PassInvalid(_("This pass is already in use by another account."))


# --- the health authority's controls ----------------------------------------------------


def change_room(
    *,
    actor: User,
    room_id: int,
    rate_per_minute: int | None = None,
    paused: bool | None = None,
    client_address: str | None = None,
) -> WaitingRoom:
    """Change the admission rate or pause/resume admission. The frontier is first written
    as the old settings had it moving, so the change applies from now on only."""
    with transaction.atomic():
        row = WaitingRoom.objects.select_for_update().get(pk=room_id)
        before = {"rate_per_minute": row.rate_per_minute, "paused": row.paused}
        if row.active:
            try:
                store().fold(room=config_of(row), now=time.time())
            except RedisError:
                logger.warning("Waiting room: Redis did not answer a change.", exc_info=True)
                raise Unavailable(_("The line's store does not answer; nothing changed.")) from None
        if rate_per_minute is not None:
            row.rate_per_minute = max(1, rate_per_minute)
        if paused is not None:
            row.paused = paused
        row.save(update_fields=["rate_per_minute", "paused"])
        record_event(
            actor=actor,
            action=AuditAction.WAITING_ROOM_CHANGED,
            centre_id=None,
            client_address=client_address,
            detail={
                "room": row.pk,
                "before": before,
                "after": {"rate_per_minute": row.rate_per_minute, "paused": row.paused},
            },
        )
    forget_room()
    return row
