"""How the days went, per centre and for all centres: places offered, booked, utilisation,
checked in, vaccinated, no-shows and cancellations. Computed by the database, never by
counting rows in Python, and read through a server-side cursor, so a year of a large
centre streams out as CSV in constant memory.

What the figures mean, for the slots of a centre's local day:
- offered: the places of its open slots (a closed slot offers none);
- booked: places taken by appointments not cancelled (`Slot.booked`: no-shows included);
- utilisation: booked / offered;
- checked in: appointments checked in (vaccinated ones included, as they were checked in);
- vaccinated: appointments with the dose given;
- no-shows: appointments marked as missed; no-show rate: no-shows / (checked in +
  no-shows), the share missed of the appointments whose outcome is known;
- cancellations: appointments cancelled, by the person or by the centre;
- by channel (channel_counts): appointments not cancelled, by how they were made: by the
  person, by a relative's account, by the phone line, or a walk-in recorded at the centre.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db import connection, connections
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.bookings.models import AppointmentStatus, BookingChannel
from vaxbook.centres.errors import InvalidRange, NotPermitted
from vaxbook.centres.models import Centre, Slot
from vaxbook.centres.permissions import is_administrator
from vaxbook.centres.services import managed_centre
from vaxbook.core import db_router

# A year and a day (a leap year, plus the day one starts on).
MAX_REPORT_DAYS = 367
CHART_DAYS = 21
FETCH_SIZE = 2000

Grouping = Literal["centre_day", "day", "centre"]


@dataclass(frozen=True)
class Figures:
    """The figures of one group: a centre's day, a day of all centres, or a centre over a
    range (`centre_id` or `day` is None when not grouped by it)."""

    centre_id: int | None
    day: dt.date | None
    slots: int
    offered: int
    booked: int
    checked_in: int
    vaccinated: int
    no_shows: int
    cancelled: int

    @property
    def utilisation(self) -> float | None:
        return self.booked / self.offered if self.offered else None

    @property
    def no_show_rate(self) -> float | None:
        known = self.checked_in + self.no_shows
        return self.no_shows / known if known else None


# Appointments are first counted per slot (the inner query), then added up per group with
# the slots' own figures: one join of slots to appointments would repeat each slot's places
# once per appointment. The centre's day is computed in SQL from the centre's own zone.
_FIGURES = """
    SELECT {group_columns},
           COUNT(*),
           SUM(CASE WHEN s.is_open THEN s.capacity ELSE 0 END),
           SUM(s.booked),
           SUM(COALESCE(a.checked_in, 0)),
           SUM(COALESCE(a.vaccinated, 0)),
           SUM(COALESCE(a.no_shows, 0)),
           SUM(COALESCE(a.cancelled, 0))
      FROM centres_slot s
      JOIN centres_centre c ON c.id = s.centre_id
      LEFT JOIN (
            SELECT a.slot_id AS slot_id,
                   SUM(CASE WHEN a.status IN ('{checked_in}', '{vaccinated}') THEN 1 ELSE 0 END)
                       AS checked_in,
                   SUM(CASE WHEN a.status = '{vaccinated}' THEN 1 ELSE 0 END) AS vaccinated,
                   SUM(CASE WHEN a.status = '{no_show}' THEN 1 ELSE 0 END) AS no_shows,
                   SUM(CASE WHEN a.status = '{cancelled}' THEN 1 ELSE 0 END) AS cancelled
              FROM bookings_appointment a
              JOIN centres_slot inner_slot ON inner_slot.id = a.slot_id
             WHERE inner_slot.starts_at >= %s AND inner_slot.starts_at < %s {inner_centres}
             GROUP BY a.slot_id
           ) a ON a.slot_id = s.id
     WHERE s.starts_at >= %s AND s.starts_at < %s {centres}
       AND {local_day} >= %s AND {local_day} <= %s
     GROUP BY {group_columns}
     ORDER BY {group_columns}
"""


def figures(
    *,
    user: Any,
    first_day: dt.date,
    last_day: dt.date,
    centre_id: int | None = None,
    grouping: Grouping = "centre_day",
) -> Iterator[Figures]:
    """The figures of one centre (`centre_id`, its managers and administrators) or of every
    centre (administrators), for local days `first_day`..`last_day`, grouped by centre and
    day, by day (all centres added up), or by centre (the range added up). Days or centres
    without slots have no row."""
    centre_ids = _centres_in_scope(user, centre_id)
    _check_range(first_day, last_day)
    local_day = _local_day_sql()
    columns = {
        "centre_day": f"s.centre_id, {local_day}",
        "day": local_day,
        "centre": "s.centre_id",
    }[grouping]
    # Any zone is within a day of UTC: this bounds the index scan, the local day decides.
    start = dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time(0), tzinfo=dt.UTC)
    bounds = [
        connection.ops.adapt_datetimefield_value(start),
        connection.ops.adapt_datetimefield_value(end),
    ]
    centre_filter, inner_filter, centre_params = "", "", []
    if centre_ids is not None:
        marks = ", ".join(["%s"] * len(centre_ids))
        centre_filter = f"AND s.centre_id IN ({marks})"
        inner_filter = f"AND inner_slot.centre_id IN ({marks})"
        centre_params = list(centre_ids)
    sql = _FIGURES.format(
        checked_in=AppointmentStatus.CHECKED_IN.value,
        vaccinated=AppointmentStatus.VACCINATED.value,
        no_show=AppointmentStatus.NO_SHOW.value,
        cancelled=AppointmentStatus.CANCELLED.value,
        group_columns=columns,
        local_day=local_day,
        centres=centre_filter,
        inner_centres=inner_filter,
    )
    params = [
        *bounds,
        *centre_params,
        *bounds,
        *centre_params,
        connection.ops.adapt_datefield_value(first_day),
        connection.ops.adapt_datefield_value(last_day),
    ]
    # Reports may lag the primary by the replica's bound (vaxbook.core.db_router).
    return _rows(sql, params, grouping, db_router.replica_or_primary())


_CHANNELS = """
    SELECT a.channel, COUNT(*)
      FROM bookings_appointment a
      JOIN centres_slot s ON s.id = a.slot_id
      JOIN centres_centre c ON c.id = s.centre_id
     WHERE s.starts_at >= %s AND s.starts_at < %s {centres}
       AND {local_day} >= %s AND {local_day} <= %s
       AND a.status <> '{cancelled}'
     GROUP BY a.channel
"""


def channel_counts(
    *, user: Any, first_day: dt.date, last_day: dt.date, centre_id: int | None = None
) -> dict[str, int]:
    """Appointments not cancelled in the slots of local days `first_day`..`last_day`, by
    channel (every BookingChannel, 0 when none), for one centre or all, as figures()."""
    centre_ids = _centres_in_scope(user, centre_id)
    _check_range(first_day, last_day)
    start = dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time(0), tzinfo=dt.UTC)
    centre_filter, centre_params = "", []
    if centre_ids is not None:
        centre_filter = f"AND s.centre_id IN ({', '.join(['%s'] * len(centre_ids))})"
        centre_params = list(centre_ids)
    sql = _CHANNELS.format(
        centres=centre_filter,
        local_day=_local_day_sql(),
        cancelled=AppointmentStatus.CANCELLED.value,
    )
    params = [
        connection.ops.adapt_datetimefield_value(start),
        connection.ops.adapt_datetimefield_value(end),
        *centre_params,
        connection.ops.adapt_datefield_value(first_day),
        connection.ops.adapt_datefield_value(last_day),
    ]
    counts = dict.fromkeys(BookingChannel.values, 0)
    with connections[db_router.replica_or_primary()].cursor() as cursor:
        cursor.execute(sql, params)
        for channel, count in cursor.fetchall():
            counts[channel] = int(count)
    return counts


def chart_days(
    *, user: Any, centre_id: int | None = None, today: dt.date | None = None
) -> tuple[list[Figures], list[Figures]]:
    """The daily figures for the charts: the next CHART_DAYS days from `today` (for their
    utilisation) and the CHART_DAYS days before it (for their no-shows), one entry per
    day, days without slots included (with zeros)."""
    today = today or report_today(centre_id)
    first = today - dt.timedelta(days=CHART_DAYS)
    last = today + dt.timedelta(days=CHART_DAYS - 1)
    by_day = {
        row.day: row
        for row in figures(
            user=user, first_day=first, last_day=last, centre_id=centre_id, grouping="day"
        )
    }

    def day_figures(day: dt.date) -> Figures:
        return by_day.get(day) or Figures(centre_id, day, 0, 0, 0, 0, 0, 0, 0)

    past = [day_figures(first + dt.timedelta(days=n)) for n in range(CHART_DAYS)]
    coming = [day_figures(today + dt.timedelta(days=n)) for n in range(CHART_DAYS)]
    return coming, past


def report_today(centre_id: int | None) -> dt.date:
    """Today at the centre; for all centres, the latest date any centre has reached."""
    now = timezone.now()
    if centre_id is not None:
        centre = Centre.objects.filter(pk=centre_id).first()
        if centre is not None:
            return centre.local_date(now)
    zones = set(Centre.objects.values_list("time_zone", flat=True).distinct()) or {"UTC"}
    return max(now.astimezone(zoneinfo.ZoneInfo(zone)).date() for zone in zones)


@dataclass(frozen=True)
class SlotFigures:
    centre: str
    centre_id: int
    time_zone: str
    vaccine: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    is_open: bool
    checked_in: int
    vaccinated: int
    no_shows: int
    cancelled: int

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(zoneinfo.ZoneInfo(self.time_zone))

    @property
    def local_end(self) -> dt.datetime:
        return self.ends_at.astimezone(zoneinfo.ZoneInfo(self.time_zone))


def slot_figures(
    *,
    user: Any,
    first_day: dt.date,
    last_day: dt.date,
    centre_id: int | None = None,
) -> Iterator[SlotFigures]:
    """Every slot of the days `first_day`..`last_day` (UTC days widened by a day each
    side, then kept to the centre's local days) with its appointments counted by the
    database, streamed in chunks through a server-side cursor. Permissions and the range
    are checked at the call, before anything streams."""
    centre_ids = _centres_in_scope(user, centre_id)
    _check_range(first_day, last_day)
    start = dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time(0), tzinfo=dt.UTC)
    slots = Slot.objects.using(db_router.replica_or_primary()).filter(
        starts_at__gte=start, starts_at__lt=end
    )
    if centre_ids is not None:
        slots = slots.filter(centre_id__in=centre_ids)
    rows = (
        slots.order_by("centre__name", "centre_id", "starts_at", "vaccine__name")
        .values_list(
            "centre__name",
            "centre_id",
            "centre__time_zone",
            "vaccine__name",
            "starts_at",
            "ends_at",
            "capacity",
            "booked",
            "is_open",
        )
        .annotate(
            checked_in=Count(
                "appointments",
                filter=Q(
                    appointments__status__in=[
                        AppointmentStatus.CHECKED_IN,
                        AppointmentStatus.VACCINATED,
                    ]
                ),
            ),
            vaccinated=Count(
                "appointments", filter=Q(appointments__status=AppointmentStatus.VACCINATED)
            ),
            no_shows=Count(
                "appointments", filter=Q(appointments__status=AppointmentStatus.NO_SHOW)
            ),
            cancelled=Count(
                "appointments", filter=Q(appointments__status=AppointmentStatus.CANCELLED)
            ),
        )
    )

    def stream() -> Iterator[SlotFigures]:
        for row in rows.iterator(chunk_size=FETCH_SIZE):
            slot = SlotFigures(*row)
            if first_day <= slot.local_start.date() <= last_day:
                yield slot

    return stream()


def _rows(sql: str, params: Sequence[Any], grouping: Grouping, alias: str) -> Iterator[Figures]:
    # A server-side (named) cursor on PostgreSQL: rows arrive FETCH_SIZE at a time.
    with connections[alias].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH_SIZE):
            for row in batch:
                if grouping == "centre_day":
                    centre_id, day, *counts = row
                elif grouping == "day":
                    centre_id, (day, *counts) = None, row
                else:
                    (centre_id, *counts), day = row, None
                yield Figures(centre_id, _date(day), *(int(count or 0) for count in counts))


def _local_day_sql() -> str:
    """SQL for the local date of slot `s` in its centre `c`'s time zone."""
    if connection.vendor == "postgresql":
        return "CAST((s.starts_at AT TIME ZONE c.time_zone) AS date)"
    if connection.vendor == "sqlite":
        # Django's own SQLite function behind TruncDate(tzinfo=...), given the zone per row
        # (datetimes are stored in UTC).
        return "django_datetime_cast_date(s.starts_at, c.time_zone, 'UTC')"
    raise NotImplementedError(f"Reports do not support {connection.vendor}.")


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def check_may_report(*, user: Any, centre_id: int | None) -> None:
    """NotPermitted (CentreNotFound for a centre that does not exist or is not theirs)
    unless `user` may see the report of `centre_id`, or of every centre for None. The
    interfaces call it before they parse a report's parameters: someone refused learns
    nothing about them."""
    _centres_in_scope(user, centre_id)


def _centres_in_scope(user: Any, centre_id: int | None) -> list[int] | None:
    """[centre_id] if `user` manages it; None (every centre) for an administrator asking
    for all of them."""
    if centre_id is not None:
        return [managed_centre(user=user, centre_id=centre_id).pk]
    if not is_administrator(user):
        raise NotPermitted(_("Only administrators see the report of all centres."))
    return None


def _check_range(first_day: dt.date, last_day: dt.date) -> None:
    if last_day < first_day:
        raise InvalidRange(_("The last day must be the same as or after the first day."))
    if (last_day - first_day).days + 1 > MAX_REPORT_DAYS:
        raise InvalidRange(_("A report covers at most %(max)d days.") % {"max": MAX_REPORT_DAYS})
