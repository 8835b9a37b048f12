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

from vaxbook.api.guards import read_only
from vaxbook.centres import smart
from vaxbook.core.streaming import started


@read_only
def manifest(request: HttpRequest) -> HttpResponseBase:
    return _public(JsonResponse(smart.manifest(now=timezone.now())))


@read_only
def locations(request: HttpRequest) -> HttpResponseBase:
    return _ndjson(request, smart.location_lines())


@read_only
def schedules(request: HttpRequest) -> HttpResponseBase:
    return _ndjson(request, smart.schedule_lines(now=timezone.now()))


@read_only
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
