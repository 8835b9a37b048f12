"""API: the public reads before booking (vaccines, centres, a centre's slots on a day).

Anyone may call them, without a token; the answers are cacheable for a short time
(vaxbook.api.http) and carry an ETag.
"""

import datetime as dt
from collections.abc import Mapping

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router
from ninja.decorators import decorate_view
from ninja.params import P, PathEx

from vaxbook.api import http
from vaxbook.api.problems import Problem
from vaxbook.api.schemas import (
    FREE_TEXT_SCHEMA,
    MAX_ID,
    CentreOut,
    FreeText,
    Output,
    SearchDate,
    SlotOut,
    VaccineOut,
)
from vaxbook.centres import availability, queries
from vaxbook.centres.models import Centre, Vaccine

router = Router(tags=["centres"])


def _cached(max_age: int, errors: dict[int, str] | None = None) -> dict[str, object]:
    """The OpenAPI description of a public, cacheable answer (vaxbook.api.http.public)."""
    return {
        "responses": {
            200: {
                "headers": {
                    "ETag": {
                        "description": "Send it back as If-None-Match.",
                        "schema": {"type": "string"},
                    },
                    "Cache-Control": {
                        "description": f"public, max-age={max_age}",
                        "schema": {"type": "string"},
                    },
                }
            },
            304: {"description": "Not Modified: the ETag sent in If-None-Match is current."},
            412: {
                "description": "`precondition_failed`: the ETag sent in If-Match is not current."
            },
            **{status: {"description": text} for status, text in (errors or {}).items()},
        }
    }


class VaccinePage(Output):
    items: list[VaccineOut]
    count: int


class CentreFound(CentreOut):
    vaccines: list[str] = Field(description="Names of the vaccines the centre has slots for.")
    next_free: dt.datetime | None = Field(
        description="The first free time (on `date`, when asked for one), in the centre's "
        "time zone; null when there is none."
    )


class CentrePage(Output):
    items: list[CentreFound]
    count: int


class CentreQuery(http.PageQuery):
    q: FreeText = Field(
        "",
        max_length=100,
        description="Part of a name or town, or a postcode.",
        json_schema_extra=FREE_TEXT_SCHEMA,
    )
    vaccine: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only centres with free places for this vaccine id."
    )
    date: SearchDate | None = Field(
        None, description="Only centres with a free place on this day (YYYY-MM-DD, local)."
    )


class SlotQuery(http.PageQuery):
    date: SearchDate | None = Field(
        None, description="The day at the centre (YYYY-MM-DD); today there by default."
    )
    vaccine: int | None = Field(None, ge=1, le=MAX_ID, description="Only this vaccine id.")


class SlotPage(Output):
    items: list[SlotOut]
    count: int


@router.get(
    "/vaccines",
    response={200: VaccinePage, 304: None},
    summary="Vaccines",
    openapi_extra=_cached(http.CATALOGUE_MAX_AGE),
)
@decorate_view(http.public(http.CATALOGUE_MAX_AGE))
def list_vaccines(request: HttpRequest, page: Query[http.PageQuery]) -> VaccinePage:
    """The vaccines: doses in the primary course, the interval between doses, the minimum
    age."""
    items, count = http.page(list(Vaccine.objects.order_by("name")), page)
    return VaccinePage(items=[VaccineOut.of(vaccine) for vaccine in items], count=count)


@router.get(
    "/centres",
    response={200: CentrePage, 304: None},
    summary="Find centres",
    openapi_extra=_cached(http.CENTRES_MAX_AGE),
)
@decorate_view(http.public(http.CENTRES_MAX_AGE))
def list_centres(request: HttpRequest, query: Query[CentreQuery]) -> CentrePage:
    """Active centres matching `q` (name, town or postcode; a postcode finds the centres
    near it too), with the vaccines they offer and their next free time."""
    results = queries.cached_find_centres(text=query.q, vaccine_id=query.vaccine).results
    next_free: Mapping[int, dt.datetime | None] = {
        result.centre.pk: result.next_free for result in results
    }
    if query.date is not None:
        next_free = queries.first_free_on(
            [result.centre for result in results], query.date, vaccine_id=query.vaccine
        )
        results = [result for result in results if result.centre.pk in next_free]
    items, count = http.page(results, query)
    return CentrePage(
        items=[
            CentreFound(
                **CentreOut.of(result.centre).model_dump(),
                vaccines=result.vaccines,
                next_free=_local(next_free[result.centre.pk], result.centre),
            )
            for result in items
        ],
        count=count,
    )


@router.get(
    "/centres/{centre_id}/slots",
    response={200: SlotPage, 304: None, 404: Problem},
    summary="A centre's slots on a day",
    openapi_extra=_cached(http.SLOTS_MAX_AGE, {404: "`not_found`: no such active centre."}),
)
@decorate_view(http.public(http.SLOTS_MAX_AGE))
def list_slots(
    request: HttpRequest,
    query: Query[SlotQuery],
    centre_id: PathEx[int, P(ge=1, le=MAX_ID)],
) -> SlotPage:
    """The centre's open slots on its local day that have not started, each with the
    places `remaining` (0 when full: shown, not hidden)."""
    centre = get_object_or_404(Centre, pk=centre_id, is_active=True)
    day = query.date or centre.local_date(dt.datetime.now(dt.UTC))
    slots, _version = availability.through(
        f"slots:{centre.pk}:{day.isoformat()}:{query.vaccine or ''}",
        [availability.day_key(centre.pk, day)],
        lambda: _slots_out(centre, day, query.vaccine),
    )
    items, count = http.page(slots, query)
    return SlotPage(items=items, count=count)


def _slots_out(
    centre: Centre, day: dt.date, vaccine_id: int | None
) -> tuple[list[SlotOut], float | None]:
    """The day's slots as the API shows them (kept in the availability cache), and the
    instant the first one starts."""
    slots = queries.day_slots(centre=centre, day=day, vaccine_id=vaccine_id)
    first = availability.instant(slots[0].starts_at if slots else None)
    return [SlotOut.of(slot, centre) for slot in slots], first


def _local(moment: dt.datetime | None, centre: Centre) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(centre.zone)
