"""What citizens look up before booking: centres and the free places on a day."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from vaxbook.centres.models import Centre, Slot


@dataclass(frozen=True)
class CentreResult:
    centre: Centre
    vaccines: list[str]
    next_free: dt.datetime | None


def search_centres(*, text: str = "", vaccine_id: int | None = None) -> list[CentreResult]:
    """Active centres matching a town, a postcode (spaces and case ignored) or a name,
    with the vaccines they offer and their next free time."""
    now = timezone.now()
    centres: QuerySet[Centre] = Centre.objects.filter(is_active=True)
    words = text.strip()
    if words:
        postcode = re.sub(r"\s+", "", words)
        centres = centres.filter(
            Q(name__icontains=words) | Q(town__icontains=words) | Q(postcode__iexact=postcode)
        )
    bookable = Slot.objects.bookable(now)
    if vaccine_id is not None:
        bookable = bookable.filter(vaccine_id=vaccine_id)
        centres = centres.filter(slots__in=bookable).distinct()
    next_free = dict(
        bookable.filter(centre__in=centres)
        .values("centre_id")
        .annotate(first=Min("starts_at"))
        .values_list("centre_id", "first")
    )
    offered: dict[int, set[str]] = {}
    for centre_id, name in (
        Slot.objects.filter(centre__in=centres, starts_at__gt=now)
        .values_list("centre_id", "vaccine__name")
        .distinct()
    ):
        offered.setdefault(centre_id, set()).add(name)
    return [
        CentreResult(
            centre=centre,
            vaccines=sorted(offered.get(centre.pk, ())),
            next_free=next_free.get(centre.pk),
        )
        for centre in centres.order_by("town", "name")
    ]


def local_day_bounds(centre: Centre, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where `day` begins and ends at the centre (23 or 25 hours long on
    the days the clocks change)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=centre.zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=centre.zone)
    return start, end


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


def alternatives(slot: Slot, *, limit: int = 6) -> list[Slot]:
    """Free places nearest to a slot that was taken: the same vaccine at the same centre,
    from the start of that day on."""
    start, _ = local_day_bounds(slot.centre, slot.local_date)
    return list(
        Slot.objects.bookable(timezone.now())
        .filter(centre=slot.centre, vaccine=slot.vaccine, starts_at__gte=start)
        .exclude(pk=slot.pk)
        .select_related("centre", "vaccine")
        .order_by("starts_at")[:limit]
    )
