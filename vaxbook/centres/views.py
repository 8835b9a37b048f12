"""Finding a centre and a free time. Views parse, call one query, render.

The day's list of slots is most of the day page's cost (template rendering): it is
rendered once per centre, day, language and version of that day, and kept in the shared
cache (vaxbook.centres.availability). For a signed-in person the rest of the page (their
account links, the forms and their CSRF token) is rendered for each request around it; for
everyone else the whole page is cached, and only the CSRF token is put in per request."""

import datetime as dt
import hashlib
import re

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from vaxbook.centres import availability, queries
from vaxbook.centres.forms import CentreSearchForm
from vaxbook.centres.models import Centre
from vaxbook.centres.queries import local_day_bounds


@require_GET
def centre_search(request: HttpRequest) -> HttpResponse:
    form = CentreSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "search": None}
        return render(request, "centres/search.html", context, status=400)
    search = queries.cached_find_centres(**(form.search_arguments() if form.is_bound else {}))
    return render(request, "centres/search.html", {"form": form, "search": search})


@require_GET
def centre_day(request: HttpRequest, centre_id: int) -> HttpResponseBase:
    centre, _version = availability.through(
        f"centre:{centre_id}",
        [availability.CENTRES],
        lambda: (Centre.objects.filter(pk=centre_id, is_active=True).first(), None),
    )
    if centre is None:
        raise Http404
    today = centre.local_date(timezone.now())
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = today
    day = max(day, today)
    if request.user.is_authenticated:
        return _day_page_for(request, centre, day, today)
    return _day_page_for_anyone(request, centre, day, today)


def _day_page_for(
    request: HttpRequest, centre: Centre, day: dt.date, today: dt.date
) -> HttpResponseBase:
    """The page of a signed-in person: their header around the shared slot table."""
    slots_html, version = availability.through(
        f"day-html:{centre.pk}:{day.isoformat()}:{today.isoformat()}:{get_language()}",
        [availability.day_key(centre.pk, day)],
        lambda: _slots_html(centre, day, today),
    )
    etag = _page_etag(request, centre, today, version) if version else None
    if etag is not None and (not_modified := get_conditional_response(request, etag=etag)):
        return _revalidated(not_modified, etag)
    response = render(request, "centres/day.html", _context(centre, day, slots_html))
    return _revalidated(response, etag)


def _day_page_for_anyone(
    request: HttpRequest, centre: Centre, day: dt.date, today: dt.date
) -> HttpResponseBase:
    """The page of a visitor who is not signed in: the same for all, so the whole page is
    cached, with the CSRF token of its language form left out and put in for each request
    (the token is the visitor's own)."""
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:16]

    def compute() -> tuple[str, float | None]:
        slots_html, first_start = _slots_html(centre, day, today)
        page = render(request, "centres/day.html", _context(centre, day, slots_html))
        html = _CSRF_INPUT.sub(rf"\g<1>{_CSRF_PLACEHOLDER}\g<2>", page.content.decode())
        midnight = availability.instant(local_day_bounds(centre, today)[1])
        return html, midnight if first_start is None else min(first_start, midnight or first_start)

    html, version = availability.through(
        f"day-page:{centre.pk}:{day.isoformat()}:{get_language()}:{path}",
        [availability.day_key(centre.pk, day), availability.CENTRES],
        compute,
    )
    etag = _page_etag(request, centre, today, version) if version else None
    if etag is not None and (not_modified := get_conditional_response(request, etag=etag)):
        return _revalidated(not_modified, etag)
    return _revalidated(HttpResponse(html.replace(_CSRF_PLACEHOLDER, get_token(request))), etag)


# The CSRF token's field in a rendered page, and what stands in for it in a cached one.
_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_PLACEHOLDER = "{csrf-token}"


def _context(centre: Centre, day: dt.date, slots_html: SafeString) -> dict[str, object]:
    return {"centre": centre, "day": day, "slots_html": slots_html}


def _slots_html(centre: Centre, day: dt.date, today: dt.date) -> tuple[SafeString, float | None]:
    """The day's table of slots with the links to other days (shared by everyone: nothing
    of the request in it) and the instant its first slot starts, when the table changes
    without a write."""
    slots = queries.day_slots(centre=centre, day=day)
    context = {
        "centre": centre,
        "day": day,
        "slots": slots,
        "previous_day": day - dt.timedelta(days=1) if day > today else None,
        "next_day": day + dt.timedelta(days=1),
        **queries.when_none_free(centre=centre, day=day, slots=slots),
    }
    html = render_to_string("centres/day_slots.html", context)
    return mark_safe(html), availability.instant(slots[0].starts_at if slots else None)  # noqa: S308  # nosec B308 B703 (our own template)


def _page_etag(request: HttpRequest, centre: Centre, today: dt.date, version: str) -> str:
    """A validator of the whole page: the slot table's version and everything else the
    page shows (the centre, who is signed in, the CSRF cookie its forms' tokens come from,
    the language, the static files' names, the day it is)."""
    user = request.user
    parts = (
        version,
        centre.name,
        centre.address,
        centre.postcode,
        centre.town,
        centre.time_zone,
        str(user.pk) if user.is_authenticated else "-",
        request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
        get_language(),
        getattr(staticfiles_storage, "manifest_hash", ""),
        today.isoformat(),
    )
    return '"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32] + '"'


def _revalidated(response: HttpResponseBase, etag: str | None) -> HttpResponseBase:
    """A browser keeps the page but asks again each time (If-None-Match): places change."""
    if etag is not None:
        response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response
