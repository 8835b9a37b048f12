"""The SMART Scheduling Links feed over HTTP (vaxbook.centres.smart builds it).

Public and the same for everyone: no session, no authentication, and the `Accept` header is
ignored, as the specification asks (no header, `application/json` and
`application/fhir+ndjson` must all get the same payload; anything else gets it too rather
than an error). Shared caches may keep each answer for MAX_AGE_SECONDS, so a crowd of
aggregators polling every minute costs one generation a minute behind a caching proxy.
"""

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from vaxbook.centres import smart
from vaxbook.core.streaming import started


@require_safe
def manifest(request: HttpRequest) -> HttpResponseBase:
    return _public(JsonResponse(smart.manifest(now=timezone.now())))


@require_safe
def locations(request: HttpRequest) -> HttpResponseBase:
    return _ndjson(request, smart.location_lines())


@require_safe
def schedules(request: HttpRequest) -> HttpResponseBase:
    return _ndjson(request, smart.schedule_lines(now=timezone.now()))


@require_safe
def slots(request: HttpRequest) -> HttpResponseBase:
    return _ndjson(request, smart.slot_lines(now=timezone.now()))


def _ndjson(request: HttpRequest, lines: Iterator[bytes]) -> HttpResponseBase:
    # The lines are produced while the response is sent; a HEAD never starts producing them.
    body = started(lines) if request.method == "GET" else iter(())
    return _public(StreamingHttpResponse(body, content_type=smart.NDJSON_CONTENT_TYPE))


def _public(response: HttpResponseBase) -> HttpResponseBase:
    # No ETag or Last-Modified: an honest validator for a file streamed from live rows needs
    # the whole file before its first byte. max-age bounds how stale a copy can be.
    patch_cache_control(response, public=True, max_age=smart.MAX_AGE_SECONDS)
    return response
