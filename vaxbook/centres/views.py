"""Finding a centre and a free time. Views parse, call one query, render."""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from vaxbook.centres import queries
from vaxbook.centres.models import Centre, Vaccine


@require_GET
def centre_search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")[:100]
    vaccine_id = _int_or_none(request.GET.get("vaccine"))
    results = queries.search_centres(text=text, vaccine_id=vaccine_id)
    return render(
        request,
        "centres/search.html",
        {
            "results": results,
            "q": text,
            "vaccine_id": vaccine_id,
            "vaccines": Vaccine.objects.order_by("name"),
        },
    )


@require_GET
def centre_day(request: HttpRequest, centre_id: int) -> HttpResponse:
    centre = get_object_or_404(Centre, pk=centre_id, is_active=True)
    today = centre.local_date(timezone.now())
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = today
    day = max(day, today)
    slots = queries.day_slots(centre=centre, day=day)
    return render(
        request,
        "centres/day.html",
        {
            "centre": centre,
            "day": day,
            "slots": slots,
            "previous_day": day - dt.timedelta(days=1) if day > today else None,
            "next_day": day + dt.timedelta(days=1),
        },
    )


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None
