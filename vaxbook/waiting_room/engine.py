"""The line's arithmetic, with no storage: admission, the estimate, when to poll again.

Positions: before the opening instant nobody has one (the pre-queue); at the opening the
pre-queue is ordered by a random draw made when each person joined, so positions 1..P go
to the pre-queue in the order of their draws, and whoever joins after the opening gets
P + 1, P + 2, ... in the order they arrive. A position, once given, never changes.

Admission is a frontier moving down the line: `admitted` is a real number, and every
position at or below it is admitted. It moves at the admission rate from the opening
instant, computed lazily from the time elapsed since it was last written (no ticker):

    admitted(now) = min(total, admitted(then) + rate * (now - then))

capped at the number of people in line, so a quiet spell does not bank admissions that a
later crowd would rush through. While paused it does not move. The Redis store also caps
one step at MAX_STEP_SECONDS, so a store that was unreachable for a while does not let a
whole outage's admissions in at once when it comes back.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass

MAX_STEP_SECONDS = 60.0

# Estimate: the admission rate varies (automatic mode, pauses, people who never come back
# for their turn), so the estimate is a range around the time at the current rate.
ESTIMATE_LOW = 0.8
ESTIMATE_HIGH = 1.25

# When to poll again. Polls are most of the waiting room's cost (a booking through the API
# costs about two polls), so a person polls when their turn is expected, not on a fixed
# beat: once the line has moved as far as the rate says, and no more than POLL_MAX_S apart
# far back (so the page follows a pause or a sale running out within a minute). About one
# poll per person near the front, and one a minute further back.
POLL_MIN_S = 2.0
POLL_MAX_S = 60.0
POLL_JITTER = 0.2
# Right after the opening the whole pre-queue polls once to learn its places: spread over
# as many seconds as it takes at this many polls a second (at least PRE_QUEUE_SPREAD_S).
PRE_QUEUE_POLLS_PER_S = 400
PRE_QUEUE_SPREAD_S = 3.5
_jitter = random.Random()  # noqa: S311  # nosec B311 (jitter, not a secret)


class State:
    OFF = "off"
    PRE_QUEUE = "pre_queue"
    WAITING = "waiting"
    ADMITTED = "admitted"
    SOLD_OUT = "sold_out"
    PAUSED = "paused"


@dataclass(frozen=True)
class RoomConfig:
    """The active room as the hot path needs it (kept in memory a few seconds)."""

    id: int
    name: str
    opens_at: dt.datetime
    rate_per_minute: float
    pass_lifetime_seconds: int
    paused: bool
    auto: bool
    next_release: str

    @property
    def opens_at_ts(self) -> float:
        return self.opens_at.timestamp()

    @property
    def rate_per_second(self) -> float:
        return self.rate_per_minute / 60.0


@dataclass(frozen=True)
class Entry:
    """What a store answers for one ticket: its place (None in the pre-queue), the line's
    length, the frontier, and when this ticket was admitted (Unix time, None if not)."""

    ticket_id: str
    position: int | None
    total: int
    admitted: float
    admitted_at: float | None
    opened: bool


def advance(
    *, admitted: float, since: float, now: float, total: int, rate_per_second: float, paused: bool
) -> float:
    """The frontier at `now`, from its value at `since` (see the module docstring)."""
    if paused or now <= since:
        return admitted
    return min(float(total), admitted + rate_per_second * (now - since))


def is_admitted(entry: Entry) -> bool:
    return entry.position is not None and entry.position <= math.floor(entry.admitted + 1e-9)


def ahead_of(entry: Entry) -> int | None:
    """People still waiting in front of this ticket."""
    if entry.position is None:
        return None
    return max(0, entry.position - 1 - math.floor(entry.admitted + 1e-9))


@dataclass(frozen=True)
class Estimate:
    low_seconds: int
    high_seconds: int


def estimate(*, ahead: int, rate_per_second: float) -> Estimate | None:
    """The wait of someone with `ahead` people in front, as a range around the time the
    current rate takes to admit them and then this person."""
    if rate_per_second <= 0:
        return None
    seconds = (ahead + 1) / rate_per_second
    return Estimate(
        low_seconds=math.floor(seconds * ESTIMATE_LOW),
        high_seconds=max(1, math.ceil(seconds * ESTIMATE_HIGH)),
    )


def poll_after(
    *,
    state: str,
    ahead: int | None = None,
    rate_per_second: float = 0.0,
    opens_in: float = 0.0,
    crowd: int = 0,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll.

    Waiting: when this person's turn is expected at the current rate, between POLL_MIN_S
    and POLL_MAX_S, and up to POLL_JITTER later, never earlier (an early poll only finds
    the person still waiting, and costs another). In the pre-queue: half the time to the
    opening (at most 30 s), and just after the opening, spread over the seconds the
    `crowd` of the pre-queue takes at PRE_QUEUE_POLLS_PER_S."""
    rng = rng or _jitter
    if state == State.PRE_QUEUE:
        if opens_in <= 10:
            spread = max(PRE_QUEUE_SPREAD_S, crowd / PRE_QUEUE_POLLS_PER_S)
            return round(max(0.0, opens_in) + 0.5 + rng.uniform(0, spread), 2)
        base = min(30.0, opens_in / 2)
    elif state == State.WAITING and ahead is not None and rate_per_second > 0:
        turn_in = (ahead + 1) / rate_per_second
        if turn_in <= POLL_MAX_S:
            # Rounded up to the hundredth: rounding down could land just before the turn.
            return math.ceil(max(POLL_MIN_S, turn_in) * rng.uniform(1, 1 + POLL_JITTER) * 100) / 100
        base = POLL_MAX_S
    elif state in (State.PAUSED, State.ADMITTED):
        base = 20.0
    else:
        base = 60.0
    return round(base * rng.uniform(1 - POLL_JITTER, 1 + POLL_JITTER), 2)
