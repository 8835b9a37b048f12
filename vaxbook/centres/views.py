"""Finding a centre and a free time. Views parse, call one query, render."""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from vaxbook.centres import queries
from vaxbook.centres.forms import CentreSearchForm
from vaxbook.centres.models import Centre


@require_GET
def centre_search(request: HttpRequest) -> HttpResponse:
    form = CentreSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "search": None}
        return render(request, "centres/search.html", context, status=400)
    search = queries.find_centres(**(form.search_arguments() if form.is_bound else {}))
    return render(request, "centres/search.html", {"form": form, "search": search})


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
            **queries.when_none_free(centre=centre, day=day, slots=slots),
        },
    )
