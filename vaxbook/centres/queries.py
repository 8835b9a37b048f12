"""What citizens look up before booking: centres, how far they are, and free places.

Distances are great-circle distances by the haversine formula on a sphere of the Earth's
mean radius: within 0.5 % of the ellipsoid, plenty to rank centres and show "2.4 km". The
database narrows the candidates to a box of latitudes and longitudes (plain comparisons
on both databases); Python computes the exact distances of those few.

The reads marked @db_router.on_replica may be served by the read replica (vaxbook.core.
db_router says when); their results are cached by vaxbook.centres.availability.
"""

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Replace, Upper
from django.utils import timezone

from vaxbook.centres import availability
from vaxbook.centres.models import Centre, Slot, Vaccine
from vaxbook.core import db_router

EARTH_RADIUS_KM = 6371.0088
# How far "near" reaches: a postcode search lists the centres within this distance, and a
# search from the person's position the same.
NEARBY_KM = 50.0
# A postcode is letters and digits with at least one digit; a name or a town has none.
_POSTCODE = re.compile(r"^(?=.*\d)[A-Z0-9]{2,10}$")
# The shortest postcode prefix that still names a place (a Spanish province, a British
# postcode area).
_SHORTEST_PREFIX = 2
# How far ahead alternatives to a taken place are looked for.
ALTERNATIVES_HORIZON = dt.timedelta(days=14)


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float


def distance_km(a: Position, b: Position) -> float:
    """The great-circle distance between `a` and `b` (haversine formula)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def position_of(centre: Centre) -> Position:
    return Position(float(centre.latitude), float(centre.longitude))


def _within_box(origin: Position, km: float, prefix: str = "") -> Q:
    """Centres (or, with prefix "centre__", slots) in a latitude/longitude box holding
    every point within `km` of `origin`; the exact distance is checked afterwards."""
    margin = km / (EARTH_RADIUS_KM * math.pi / 180) * 1.01  # degrees of latitude, rounded up
    box = Q(
        **{
            f"{prefix}latitude__gte": _degrees(origin.latitude - margin),
            f"{prefix}latitude__lte": _degrees(origin.latitude + margin),
        }
    )
    cos_latitude = math.cos(math.radians(min(89.0, abs(origin.latitude) + margin)))
    west = origin.longitude - margin / cos_latitude
    east = origin.longitude + margin / cos_latitude
    if west >= -180 and east <= 180 and abs(origin.latitude) + margin < 89:
        # Across the antimeridian or near a pole the box would be wrong: latitudes only.
        box &= Q(
            **{f"{prefix}longitude__gte": _degrees(west), f"{prefix}longitude__lte": _degrees(east)}
        )
    return box


def _degrees(value: float) -> Decimal:
    return Decimal(f"{value:.5f}")


def _postcode_key(text: str) -> str | None:
    """`text` as a postcode without spaces or hyphens, in capitals; None if it is no
    postcode (no digit in it, or other characters than letters and digits)."""
    key = re.sub(r"[\s-]+", "", text).upper()
    return key if _POSTCODE.match(key) else None


def _postcode_keys() -> Replace:
    return Replace(Replace(Upper("postcode"), Value(" "), Value("")), Value("-"), Value(""))


def postcode_position(text: str) -> Position | None:
    """Where a typed postcode is: the middle of the centres in that postcode or, failing
    that, in the longest postcode prefix they share with it (28013 -> the centres in 2801x,
    SW1A 2AA -> those in SW1A). None if `text` is no postcode or nothing shares a prefix."""
    key = _postcode_key(text)
    if key is None:
        return None
    rows = list(
        Centre.objects.annotate(key=_postcode_keys())
        .filter(key__startswith=key[:_SHORTEST_PREFIX])
        .values_list("key", "latitude", "longitude")
    )
    for length in range(len(key), _SHORTEST_PREFIX - 1, -1):
        places = [(lat, lon) for found, lat, lon in rows if found.startswith(key[:length])]
        if places:
            return Position(
                float(sum(lat for lat, _lon in places)) / len(places),
                float(sum(lon for _lat, lon in places)) / len(places),
            )
    return None


@dataclass(frozen=True)
class CentreResult:
    centre: Centre
    vaccines: list[str]
    next_free: dt.datetime | None
    distance_km: float | None = None


@dataclass(frozen=True)
class CentreSearch:
    """The centres found; `origin` is where distances are measured from, if anywhere:
    the typed postcode (`from_postcode`) or the person's position."""

    results: list[CentreResult]
    origin: Position | None = None
    from_postcode: bool = False
    within_km: float = field(default=NEARBY_KM)


@db_router.on_replica
def find_centres(
    *, text: str = "", vaccine_id: int | None = None, near: Position | None = None
) -> CentreSearch:
    """Active centres matching a town, a postcode (spaces and case ignored) or a name, with
    the vaccines they offer and their next free time.

    When the text is a known postcode, the centres within NEARBY_KM of it are found too,
    nearest first. Otherwise, from `near` (the person's position): with text, the matching
    centres nearest first; without, the centres within NEARBY_KM, nearest first."""
    words = " ".join(text.split())
    from_postcode = postcode_position(words) if words else None
    origin = from_postcode or near
    centres: QuerySet[Centre] = Centre.objects.filter(is_active=True)
    nearby_only = False
    if words:
        matches = (
            Q(name__icontains=words)
            | Q(town__icontains=words)
            | Q(postcode_key=_postcode_key(words) or words.upper())
        )
        if from_postcode is not None:
            matches |= _within_box(from_postcode, NEARBY_KM)
        centres = centres.annotate(postcode_key=_postcode_keys()).filter(matches)
    elif near is not None:
        centres = centres.filter(_within_box(near, NEARBY_KM))
        nearby_only = True
    now = timezone.now()
    bookable = Slot.objects.bookable(now)
    if vaccine_id is not None:
        bookable = bookable.filter(vaccine_id=vaccine_id)
        centres = centres.filter(pk__in=bookable.values("centre_id"))
    found = list(centres.order_by("town", "name"))
    if origin is not None:
        by_distance = [(distance_km(origin, position_of(centre)), centre) for centre in found]
        by_distance.sort(key=lambda pair: pair[0])
        if from_postcode is not None or nearby_only:
            by_distance = [
                (km, centre)
                for km, centre in by_distance
                if km <= NEARBY_KM or (from_postcode is not None and _matches(centre, words))
            ]
        found = [centre for _km, centre in by_distance]
        distances = {centre.pk: km for km, centre in by_distance}
    else:
        distances = {}
    return CentreSearch(
        results=_describe(found, bookable, now, distances),
        origin=origin,
        from_postcode=from_postcode is not None,
    )


def search_centres(
    *, text: str = "", vaccine_id: int | None = None, near: Position | None = None
) -> list[CentreResult]:
    """The results of find_centres alone."""
    return find_centres(text=text, vaccine_id=vaccine_id, near=near).results


def cached_find_centres(
    *, text: str = "", vaccine_id: int | None = None, near: Position | None = None
) -> CentreSearch:
    """find_centres through the availability cache: an answer stands until a centre it
    shows, or the list of centres, changes, or its first next free time starts
    (vaxbook.centres.availability)."""

    def compute() -> tuple[CentreSearch, list[int], float | None]:
        found = find_centres(text=text, vaccine_id=vaccine_id, near=near)
        firsts = [result.next_free for result in found.results if result.next_free]
        return (
            found,
            [result.centre.pk for result in found.results],
            availability.instant(min(firsts)) if firsts else None,
        )

    words = " ".join(text.split())
    return availability.search(f"find:{words}:{vaccine_id}:{near}", compute)


def _matches(centre: Centre, words: str) -> bool:
    """Whether `centre` was found by its name, town or own postcode rather than for being
    near the postcode typed."""
    lowered = words.casefold()
    return (
        lowered in centre.name.casefold()
        or lowered in centre.town.casefold()
        or _postcode_key(centre.postcode) == _postcode_key(words)
    )


def _describe(
    centres: list[Centre],
    bookable: QuerySet[Slot],
    now: dt.datetime,
    distances: dict[int, float],
) -> list[CentreResult]:
    # One query, index probes only (the slot index on centre and start, and the unique one
    # on centre, vaccine and start): per centre its first bookable start, and per vaccine
    # whether it has a future slot there. Aggregating every future slot instead costs tens
    # of milliseconds once a search lists dozens of centres with weeks of slots.
    vaccines = list(Vaccine.objects.order_by("name").values_list("pk", "name"))
    future = Slot.objects.filter(centre=OuterRef("pk"), starts_at__gt=now)
    first_bookable = bookable.filter(centre=OuterRef("pk")).order_by("starts_at")
    rows = (
        Centre.objects.filter(pk__in=[centre.pk for centre in centres])
        .annotate(
            first=Subquery(first_bookable.values("starts_at")[:1]),
            **{f"offers_{pk}": Exists(future.filter(vaccine_id=pk)) for pk, _name in vaccines},
        )
        .values("pk", "first", *[f"offers_{pk}" for pk, _name in vaccines])
    )
    next_free: dict[int, dt.datetime | None] = {}
    offered: dict[int, list[str]] = {}
    for row in rows:
        next_free[row["pk"]] = row["first"]
        offered[row["pk"]] = [name for pk, name in vaccines if row[f"offers_{pk}"]]
    return [
        CentreResult(
            centre=centre,
            vaccines=offered.get(centre.pk, []),
            next_free=next_free.get(centre.pk),
            distance_km=distances.get(centre.pk),
        )
        for centre in centres
    ]


def local_day_bounds(centre: Centre, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where `day` begins and ends at the centre (23 or 25 hours long on
    the days the clocks change)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=centre.zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=centre.zone)
    return start, end


@db_router.on_replica
def day_slots(*, centre: Centre, day: dt.date, vaccine_id: int | None = None) -> list[Slot]:
    """The centre's open slots on its local `day` that have not started, full ones included
    (shown as full, not hidden); of one vaccine when `vaccine_id` is given."""
    start, end = local_day_bounds(centre, day)
    slots = Slot.objects.filter(
        centre=centre,
        is_open=True,
        starts_at__gte=max(start, timezone.now()),
        starts_at__lt=end,
    )
    if vaccine_id is not None:
        slots = slots.filter(vaccine_id=vaccine_id)
    return list(slots.select_related("vaccine").order_by("starts_at", "vaccine__name"))


def next_free_day(
    *, centre: Centre, after: dt.date, vaccine_id: int | None = None
) -> dt.date | None:
    """The first local day after `after` with a place left at the centre (of one vaccine
    when `vaccine_id` is given), or None when there is no later free place at all."""
    _, end = local_day_bounds(centre, after)
    free = Slot.objects.bookable(timezone.now()).filter(centre=centre, starts_at__gte=end)
    if vaccine_id is not None:
        free = free.filter(vaccine_id=vaccine_id)
    first = free.order_by("starts_at").values_list("starts_at", flat=True).first()
    return None if first is None else first.astimezone(centre.zone).date()


def when_none_free(
    *, centre: Centre, day: dt.date, slots: list[Slot], vaccine_id: int | None = None
) -> dict[str, object]:
    """For a day page: when none of the day's `slots` has a place left, whether to point
    to the next day with one (`later_day`) or, with none at all, to another centre, rather
    than to a "next day" that never ends. One query, only on such a day."""
    if any(slot.remaining for slot in slots):
        return {"none_free": False, "later_day": None}
    later = next_free_day(centre=centre, after=day, vaccine_id=vaccine_id)
    return {"none_free": True, "later_day": later}


@dataclass(frozen=True)
class NearbySlot:
    slot: Slot
    distance_km: float


@dataclass(frozen=True)
class Alternatives:
    """Free places of the same vaccine nearest to one that was taken: other times that day
    at the same centre, the first free time of the next days there, and the first free
    time at the nearest other centres."""

    same_day: list[Slot]
    next_days: list[Slot]
    nearby: list[NearbySlot]

    def __bool__(self) -> bool:
        return bool(self.same_day or self.next_days or self.nearby)


def alternatives(
    slot: Slot, *, same_day: int = 4, next_days: int = 3, centres: int = 3
) -> Alternatives:
    """What to offer instead of `slot`: up to `same_day` times that day nearest to its
    time, the first free time on each of up to `next_days` following days with room, and
    the first free time from that day on at up to `centres` other centres within
    NEARBY_KM, nearest first. All bookable now."""
    now = timezone.now()
    day_start, day_end = local_day_bounds(slot.centre, slot.local_date)
    free = Slot.objects.bookable(now).filter(vaccine_id=slot.vaccine_id)
    here = (
        free.filter(centre_id=slot.centre_id)
        .exclude(pk=slot.pk)
        .select_related("centre", "vaccine")
    )

    that_day = list(here.filter(starts_at__gte=day_start, starts_at__lt=day_end))
    that_day.sort(key=lambda other: abs(other.starts_at - slot.starts_at))
    closest = sorted(that_day[:same_day], key=lambda other: other.starts_at)

    later = here.filter(
        starts_at__gte=day_end, starts_at__lt=day_end + ALTERNATIVES_HORIZON
    ).order_by("starts_at")
    return Alternatives(
        same_day=closest,
        next_days=_first_of_each_day(later.iterator(chunk_size=100), next_days),
        nearby=_nearest_centres(slot, free, since=day_start, limit=centres),
    )


def _first_of_each_day(slots: Iterable[Slot], days: int) -> list[Slot]:
    firsts: list[Slot] = []
    seen: set[dt.date] = set()
    for candidate in slots:
        if candidate.local_date not in seen:
            seen.add(candidate.local_date)
            firsts.append(candidate)
            if len(firsts) == days:
                break
    return firsts


def _nearest_centres(
    slot: Slot, free: QuerySet[Slot], *, since: dt.datetime, limit: int
) -> list[NearbySlot]:
    origin = position_of(slot.centre)
    firsts = (
        free.filter(
            _within_box(origin, NEARBY_KM, prefix="centre__"),
            starts_at__gte=since,
            starts_at__lt=since + ALTERNATIVES_HORIZON,
        )
        .exclude(centre_id=slot.centre_id)
        .values("centre_id", "centre__latitude", "centre__longitude")
        .annotate(first=Min("starts_at"))
    )
    ranked = sorted(
        (
            distance_km(
                origin, Position(float(row["centre__latitude"]), float(row["centre__longitude"]))
            ),
            row["centre_id"],
            row["first"],
        )
        for row in firsts
    )
    chosen = [(km, centre_id, first) for km, centre_id, first in ranked if km <= NEARBY_KM][:limit]
    if not chosen:
        return []
    which = Q()
    for _km, centre_id, first in chosen:
        which |= Q(centre_id=centre_id, starts_at=first)
    slots = {
        other.centre_id: other for other in free.filter(which).select_related("centre", "vaccine")
    }
    return [
        NearbySlot(slot=slots[centre_id], distance_km=km)
        for km, centre_id, _first in chosen
        if centre_id in slots  # taken in the meantime
    ]


@db_router.on_replica
def first_free_on(
    centres: list[Centre], day: dt.date, *, vaccine_id: int | None = None
) -> dict[int, dt.datetime]:
    """The first free time of each of `centres` on its local `day` (centres without one are
    left out), in one query: the day's bounds differ per time zone, so the condition is
    one range per zone among the centres."""
    if not centres:
        return {}
    per_zone = Q()
    for zone in {centre.time_zone for centre in centres}:
        start, end = local_day_bounds(Centre(time_zone=zone), day)
        per_zone |= Q(centre__time_zone=zone, starts_at__gte=start, starts_at__lt=end)
    free = Slot.objects.bookable(timezone.now()).filter(
        per_zone, centre_id__in=[centre.pk for centre in centres]
    )
    if vaccine_id is not None:
        free = free.filter(vaccine_id=vaccine_id)
    return dict(
        free.values("centre_id").annotate(first=Min("starts_at")).values_list("centre_id", "first")
    )
