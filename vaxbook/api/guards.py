"""What the API accepts as a request body, checked before any endpoint runs.

- At most MAX_BODY_BYTES (64 kB): a larger declared body is refused with 413 before a
  byte of it is read.
- A body is JSON: `Content-Type: application/json` (charset, if given, utf-8), else 415.
- The bytes are UTF-8 (400 `invalid_encoding`) and JSON (400 `malformed_json`).

`guard_view` wraps every view of the API (vaxbook.api.base); `JsonParser` is the API's
body parser. ninja's own answer to a known path with the wrong method (a plain-text 405)
becomes a problem here too.
"""

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja.parser import Parser

from vaxbook.api import problems

MAX_BODY_BYTES = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
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
        if request.method in BODY_METHODS:
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
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            problems.MEDIA_TYPE
        ):
            allowed = response.get("Allow", "")
            return problems.problem_response(
                request,
                405,
                "method_not_allowed",
                _("%(method)s is not allowed here. Allowed: %(allowed)s.")
                % {"method": request.method, "allowed": allowed},
                headers={"Allow": allowed},
            )
        return response

    return guarded


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
