"""What the API accepts as a request body, checked before any endpoint runs.

- At most MAX_BODY_BYTES (64 kB): a larger declared body is refused with 413 before a
  byte of it is read.
- A body is JSON: `Content-Type: application/json` (charset, if given, utf-8), else 415.
- The bytes are UTF-8 (400 `invalid_encoding`) and JSON (400 `malformed_json`).
- A body comes with its Content-Length: a chunked one is refused with 411.

HEAD is answered wherever GET is, with GET's headers and no body.

`guard_view` wraps every view of the API (vaxbook.api.base); `JsonParser` is the API's
body parser. ninja's own answer to a known path with the wrong method (a plain-text 405)
becomes a problem here too, as does any method but GET and HEAD on the API's plain Django
views (`read_only`).
"""

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja.parser import Parser

from vaxbook.api import problems

MAX_BODY_BYTES = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = ("GET", "HEAD")
JSON_MEDIA_TYPE = "application/json"

View = Callable[..., HttpResponseBase]


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return None


def _is_json(request: HttpRequest) -> bool:
    if request.content_type != JSON_MEDIA_TYPE:
        return False
    charset = (request.content_params or {}).get("charset", "utf-8")
    return charset.lower().replace("_", "-") in {"utf-8", "utf8"}


def guard_view(view: View) -> View:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # A read-only view refuses any body method itself, whatever the body (read_only).
        if request.method in BODY_METHODS and not getattr(view, "read_only", False):
            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                # Django reads a body by its Content-Length: a chunked one would read as empty.
                return problems.problem_response(
                    request,
                    411,
                    "length_required",
                    _("Send the body with a Content-Length header, not in chunks."),
                )
            length = _declared_length(request)
            if length is None:
                return problems.problem_response(
                    request, 400, "bad_request", _("The Content-Length header is not a number.")
                )
            if length > MAX_BODY_BYTES:
                return problems.payload_too_large(request)
            if length and not _is_json(request):
                return problems.problem_response(
                    request,
                    415,
                    "unsupported_media_type",
                    _("Send the body as JSON, with Content-Type: application/json."),
                )
        if request.method == "HEAD":
            response = _without_body(view, request, *args, **kwargs)
        else:
            response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            problems.MEDIA_TYPE
        ):
            allowed = [method.strip() for method in response.get("Allow", "").split(",")]
            if "GET" in allowed:
                allowed.append("HEAD")  # answered wherever GET is, above
            return _method_not_allowed(request, ", ".join(allowed))
        return response

    return guarded


def _without_body(view: View, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """HEAD: the answer GET would give, headers only (HTTP serves HEAD wherever GET is)."""
    request.method = "GET"
    try:
        response = view(request, *args, **kwargs)
    finally:
        request.method = "HEAD"
    if isinstance(response, HttpResponse):
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


def read_only(view: View) -> View:
    """For the API's plain Django views (the OpenAPI document, its docs page, the SMART
    Scheduling files): GET and HEAD, any other method a 405 problem. They read public data
    and act for no one, so no CSRF check stands before that answer."""

    @csrf_exempt
    @functools.wraps(view)
    def only_read(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in READ_METHODS:
            return _method_not_allowed(request, ", ".join(READ_METHODS))
        return view(request, *args, **kwargs)

    only_read.read_only = True  # type: ignore[attr-defined]
    return only_read


def _method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponseBase:
    return problems.problem_response(
        request,
        405,
        "method_not_allowed",
        _("%(method)s is not allowed here. Allowed: %(allowed)s.")
        % {"method": request.method, "allowed": allowed},
        headers={"Allow": allowed},
    )


class JsonParser(Parser):
    """Request bodies: strict UTF-8, then JSON."""

    def parse_body(self, request: HttpRequest) -> Any:
        raw = request.body
        if len(raw) > MAX_BODY_BYTES:  # a body sent without a Content-Length
            raise problems.ApiProblem(413, "payload_too_large", _("The request body is too large."))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise problems.ApiProblem(
                400, "invalid_encoding", _("The request body is not valid UTF-8.")
            ) from None
        try:
            return json.loads(text)
        # RecursionError: thousands of nested brackets.
        except (ValueError, RecursionError) as error:
            raise problems.ApiProblem(
                400,
                "malformed_json",
                _("The request body is not valid JSON: %(error)s.") % {"error": error},
            ) from None
