"""Opening templates -> slots, for a range of days: a preview first, then the real run.

Idempotent: a slot is identified by (centre, vaccine, start) — the database's unique
constraint `one_slot_per_centre_vaccine_time` — and the run inserts with ON CONFLICT DO
NOTHING, so running it twice, or over days that already have slots, adds only what is
missing. It never updates or deletes: a slot that exists (booked, closed, with changed
places) stays exactly as it is.

Times: a template says "10:00" on the centre's clock. Each slot's start is built from the
local date and that wall-clock time, then converted to UTC, so a 10:00 slot stays at 10:00
local on both sides of a daylight-saving change. On the nights the clocks change:
- a local time that does not exist (02:30 on the last Sunday of March in Madrid: the clock
  jumps from 02:00 to 03:00) has no slot;
- a local time that happens twice (02:30 on the last Sunday of October) gets one slot, at
  its first occurrence (fold=0, summer time): the same wall-clock time is never offered twice.
"""

import datetime as dt
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vaxbook.accounts.models import User
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.centres import availability
from vaxbook.centres.errors import InvalidRange
from vaxbook.centres.models import Centre, OpeningTemplate, Slot
from vaxbook.centres.queries import local_day_bounds
from vaxbook.centres.services import managed_centre
from vaxbook.waiting_list import hooks as waiting_list

# About three months at a time: enough to plan a campaign's next phase, small enough for
# one transaction (a large centre: ~25,000 slots) and for a mistyped year to be caught.
MAX_DAYS = 92
BATCH_SIZE = 1000


@dataclass(frozen=True)
class PlannedDay:
    """What generation does on one local day for one vaccine."""

    day: dt.date
    vaccine: str
    new: int
    existing: int


@dataclass
class Generation:
    centre: Centre
    first_day: dt.date
    last_day: dt.date
    dry_run: bool
    days: list[PlannedDay] = field(default_factory=list)
    # Slots actually inserted (0 in a preview; fewer than `new` if someone else inserted
    # some of them meanwhile).
    created: int = 0
    # Local times of templates that fell in the hour the clocks skip, so have no slot.
    skipped: list[dt.datetime] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(day.new for day in self.days)

    @property
    def existing(self) -> int:
        return sum(day.existing for day in self.days)


def generate_slots(
    *,
    staff: User,
    centre_id: int,
    first_day: dt.date,
    last_day: dt.date,
    dry_run: bool,
    client_address: str | None = None,
) -> Generation:
    """Create the slots the centre's opening templates give for its local days
    `first_day`..`last_day` (at most MAX_DAYS), or with `dry_run` only say what would be
    created and what already exists. Times already past are left out. One transaction,
    under the centre's lock (no template changes or day closures meanwhile)."""
    centre = managed_centre(user=staff, centre_id=centre_id)
    now = timezone.now()
    _check_range(centre, first_day, last_day, now)
    with transaction.atomic(durable=True):
        centre = Centre.objects.select_for_update().get(pk=centre_id)
        generation = Generation(
            centre=centre, first_day=first_day, last_day=last_day, dry_run=dry_run
        )
        candidates = _candidates(centre, first_day, last_day, now, generation)
        start, _unused = local_day_bounds(centre, first_day)
        _unused, end = local_day_bounds(centre, last_day)
        in_range = Slot.objects.filter(centre=centre, starts_at__gte=start, starts_at__lt=end)
        existing = set(in_range.values_list("vaccine_id", "starts_at"))
        new = [slot for slot in candidates if (slot.vaccine_id, slot.starts_at) not in existing]
        generation.days = _by_day(centre, candidates, new)
        if not dry_run and new:
            before = in_range.count()
            Slot.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
            # Counted, not assumed: ignore_conflicts reports nothing, and the unique
            # constraint may have refused some that another writer inserted meanwhile.
            generation.created = in_range.count() - before
            new_days = {(centre.pk, slot.local_date) for slot in new}
            availability.changed(days=new_days)
            waiting_list.places_freed(days=new_days)
        if not dry_run:
            record_event(
                actor=staff,
                action=AuditAction.SLOTS_GENERATED,
                centre_id=centre.pk,
                outcome=f"{generation.created} created",
                client_address=client_address,
                detail={
                    "first_day": first_day.isoformat(),
                    "last_day": last_day.isoformat(),
                    "created": generation.created,
                    "existing": generation.existing,
                },
            )
    return generation


def slot_starts(
    template: OpeningTemplate, day: dt.date, zone: zoneinfo.ZoneInfo
) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """The UTC starts of `template`'s slots on the local `day`, and the local times skipped
    because the clocks jump over them that day.

    Slots step through wall-clock time (09:00, 09:10, ...), not elapsed time, so they keep
    their places on the clock whatever the day's length. The last slot ends by `closes_at`."""
    length = template.slot_length
    wall = dt.datetime.combine(day, template.opens_at)
    last = dt.datetime.combine(day, template.closes_at) - length
    starts: list[dt.datetime] = []
    skipped: list[dt.datetime] = []
    while wall <= last:
        # fold=0: of a time that happens twice, the first occurrence.
        local = wall.replace(tzinfo=zone, fold=0)
        utc = local.astimezone(dt.UTC)
        # A time in the skipped hour does not survive the round trip (02:30 comes back as
        # 03:30): it does not exist on this day.
        if utc.astimezone(zone).replace(tzinfo=None) == wall:
            starts.append(utc)
        else:
            skipped.append(local)
        wall += length
    return starts, skipped


def _check_range(centre: Centre, first_day: dt.date, last_day: dt.date, now: dt.datetime) -> None:
    if last_day < first_day:
        raise InvalidRange(_("The last day must be the same as or after the first day."))
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise InvalidRange(
            ngettext(
                "Generate at most %(max)d days at a time: this range has %(days)d day.",
                "Generate at most %(max)d days at a time: this range has %(days)d days.",
                days,
            )
            % {"max": MAX_DAYS, "days": days}
        )
    if first_day < centre.local_date(now):
        raise InvalidRange(_("The first day cannot be in the past."))


def _candidates(
    centre: Centre, first_day: dt.date, last_day: dt.date, now: dt.datetime, into: Generation
) -> list[Slot]:
    """Every slot the templates give in the range, from now on."""
    templates = list(
        centre.opening_templates.filter(vaccine__in=centre.vaccines.all()).select_related("vaccine")
    )
    slots: dict[tuple[int, dt.datetime], Slot] = {}
    day = first_day
    while day <= last_day:
        for template in templates:
            if not _in_force(template, day):
                continue
            starts, skipped = slot_starts(template, day, centre.zone)
            into.skipped += skipped
            for starts_at in starts:
                if starts_at <= now:
                    continue
                slots[template.vaccine_id, starts_at] = Slot(
                    centre=centre,
                    vaccine=template.vaccine,
                    starts_at=starts_at,
                    ends_at=starts_at + template.slot_length,
                    capacity=template.places_per_slot,
                )
        day += dt.timedelta(days=1)
    return sorted(slots.values(), key=lambda slot: (slot.starts_at, slot.vaccine.name))


def _in_force(template: OpeningTemplate, day: dt.date) -> bool:
    return (
        template.weekday == day.weekday()
        and (template.valid_from is None or template.valid_from <= day)
        and (template.valid_until is None or day <= template.valid_until)
    )


def _by_day(centre: Centre, candidates: list[Slot], new: list[Slot]) -> list[PlannedDay]:
    def key(slot: Slot) -> tuple[dt.date, str]:
        return centre.local_date(slot.starts_at), slot.vaccine.name

    all_counts = Counter(key(slot) for slot in candidates)
    new_counts = Counter(key(slot) for slot in new)
    return [
        PlannedDay(
            day=day,
            vaccine=vaccine,
            new=new_counts[day, vaccine],
            existing=count - new_counts[day, vaccine],
        )
        for (day, vaccine), count in sorted(all_counts.items())
    ]
