"""HTTP details shared by the routers: pages of lists, and caching headers.

Public reads (vaccines, centres, slots) are cacheable for a short time by anyone, with an
ETag so a client that already has the answer gets a bodiless 304; availability changes
with every booking, so a slot list is never more than SLOTS_MAX_AGE seconds stale. A
client's If-Match that no longer matches gets a 412 problem. Answers
about a person (their profile, appointments, tokens) are never stored by any cache.
"""

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
)
from django.utils.translation import gettext as _
from ninja import Field, Schema

from vaxbook.api import problems

View = Callable[..., HttpResponseBase]

CATALOGUE_MAX_AGE = 300  # vaccines: they change a few times a year
CENTRES_MAX_AGE = 60  # centres and their next free time
SLOTS_MAX_AGE = 30  # places left: short, availability moves with every booking

MAX_PAGE = 100
# Beyond this a client should narrow its query rather than page on.
MAX_OFFSET = 100_000


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Items per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


def page[T](items: Sequence[T], query: PageQuery) -> tuple[list[T], int]:
    """The items of the page `query` asks for, and how many there are in all."""
    return list(items[query.offset : query.offset + query.limit]), len(items)


def public(max_age: int) -> Callable[[View], View]:
    """Cache-Control: public with `max_age` and a strong ETag on a 200; 304 when the
    client's If-None-Match already names it. For ninja's decorate_view."""

    def decorator(run: View) -> View:
        @functools.wraps(run)
        def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = run(request, *args, **kwargs)
            if response.status_code != 200 or not isinstance(response, HttpResponse):
                return response
            patch_cache_control(response, public=True, max_age=max_age)
            response["ETag"] = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
            conditional = get_conditional_response(
                request, etag=response["ETag"], response=response
            )
            if conditional is not None and conditional.status_code == 412:
                # Django also fails If-Unmodified-Since here, for want of a modification
                # date: a list has none, so that header is ignored (RFC 9110, 13.1.4).
                if "HTTP_IF_MATCH" not in request.META:
                    return response
                return problems.problem_response(
                    request,
                    412,
                    "precondition_failed",
                    _("The answer has changed since the version If-Match names."),
                )
            return conditional or response

        return cached

    return decorator


def private(run: View) -> View:
    """Never stored by a cache: the answer is about, or for, one person."""

    @functools.wraps(run)
    def uncached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = run(request, *args, **kwargs)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response

    return uncached
