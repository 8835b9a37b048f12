"""The waiting list's figures for the health authority, per centre and local day:

- waiting: live entries (waiting or holding an offer) that include the centre and the day;
- offers made, accepted, declined, expired, released: offers of places in the centre's
  slots of that day, by what became of them (held: still waiting for an answer);
- unused: places of the day's open slots that had started by now and were never booked
  (what the waiting list exists to bring down).

Who sees what is the reports' rule (vaxbook.centres.reports.check_may_report):
administrators every centre, managers their own.
"""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.centres.errors import InvalidRange
from vaxbook.centres.models import Centre, Slot
from vaxbook.centres.queries import local_day_bounds
from vaxbook.centres.reports import MAX_REPORT_DAYS, check_may_report
from vaxbook.waiting_list.models import Offer, OfferStatus, WaitingEntry

COLUMNS = (
    "centre_id",
    "centre",
    "day",
    "waiting",
    "offers_made",
    "accepted",
    "declined",
    "expired",
    "released",
    "held",
    "unused_places",
)


@dataclass(frozen=True)
class DayFigures:
    centre: Centre
    day: dt.date
    waiting: int
    offers: Counter[str]
    unused: int

    @property
    def offers_made(self) -> int:
        return sum(self.offers.values())

    def row(self) -> tuple[Any, ...]:
        return (
            self.centre.pk,
            self.centre.name,
            self.day.isoformat(),
            self.waiting,
            self.offers_made,
            *(self.offers[status] for status in _STATUS_COLUMNS),
            self.unused,
        )


_STATUS_COLUMNS = (
    OfferStatus.ACCEPTED,
    OfferStatus.DECLINED,
    OfferStatus.EXPIRED,
    OfferStatus.RELEASED,
    OfferStatus.HELD,
)


def figures(
    *, user: Any, first_day: dt.date, last_day: dt.date, centre_id: int | None
) -> Iterator[DayFigures]:
    """Every centre in scope (`centre_id`, or all for None) and day of the range, by centre
    name and day."""
    check_may_report(user=user, centre_id=centre_id)
    if last_day < first_day or (last_day - first_day).days >= MAX_REPORT_DAYS:
        raise InvalidRange(
            _("Choose at most %(days)d days, the first day not after the last.")
            % {"days": MAX_REPORT_DAYS}
        )
    centres = Centre.objects.order_by("name")
    if centre_id is not None:
        centres = centres.filter(pk=centre_id)
    now = timezone.now()
    days = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    for centre in centres:
        yield from _centre_figures(centre, days, now)


def _centre_figures(centre: Centre, days: list[dt.date], now: dt.datetime) -> Iterator[DayFigures]:
    start, _unused = local_day_bounds(centre, days[0])
    _unused, end = local_day_bounds(centre, days[-1])
    slots = Slot.objects.filter(centre=centre, starts_at__gte=start, starts_at__lt=end)
    day_of_slot = {
        pk: centre.local_date(starts_at) for pk, starts_at in slots.values_list("pk", "starts_at")
    }
    unused: Counter[dt.date] = Counter()
    for pk, capacity, booked in slots.filter(is_open=True, starts_at__lte=now).values_list(
        "pk", "capacity", "booked"
    ):
        unused[day_of_slot[pk]] += capacity - booked
    offers: defaultdict[dt.date, Counter[str]] = defaultdict(Counter)
    for slot_id, status, count in (
        Offer.objects.filter(slot__in=slots)
        .values("slot_id", "status")
        .annotate(count=Count("pk"))
        .values_list("slot_id", "status", "count")
    ):
        offers[day_of_slot[slot_id]][status] += count
    ranges = list(
        WaitingEntry.objects.live()
        .filter(centres=centre, first_day__lte=days[-1], last_day__gte=days[0])
        .values_list("first_day", "last_day")
    )
    for day in days:
        waiting = sum(1 for first, last in ranges if first <= day <= last)
        yield DayFigures(
            centre=centre, day=day, waiting=waiting, offers=offers[day], unused=unused[day]
        )


@dataclass(frozen=True)
class DayTotals:
    """A day's figures summed over the centres in scope: the report page's chart and table."""

    day: dt.date
    waiting: int
    offers_made: int
    accepted: int
    declined: int
    expired: int
    unused: int


def totals_by_day(rows: Iterator[DayFigures]) -> list[DayTotals]:
    """`figures()` summed over centres, one item per day, in order. A person waiting for
    several centres counts once for each: the figure is people waiting per centre."""
    days: dict[dt.date, list[DayFigures]] = defaultdict(list)
    for row in rows:
        days[row.day].append(row)
    return [
        DayTotals(
            day=day,
            waiting=sum(row.waiting for row in same_day),
            offers_made=sum(row.offers_made for row in same_day),
            accepted=sum(row.offers[OfferStatus.ACCEPTED] for row in same_day),
            declined=sum(row.offers[OfferStatus.DECLINED] for row in same_day),
            expired=sum(row.offers[OfferStatus.EXPIRED] for row in same_day),
            unused=sum(row.unused for row in same_day),
        )
        for day, same_day in sorted(days.items())
    ]
