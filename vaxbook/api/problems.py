"""Errors of the JSON API: every 4xx and 5xx under /api/ is an `application/problem+json`
document (RFC 9457) with `type`, `title`, `status`, `detail` and a stable `code`.

One place maps every failure to its problem:

- the domain's errors (vaxbook.core.errors.DomainError, each with its `code`), in
  `DOMAIN_STATUS`;
- the API's own (ApiProblem: authentication, bad bodies, idempotency keys...), rate limits
  (429 with Retry-After) and ninja's validation errors (422 listing the fields);
- Django's 404 for an unknown path, 405 for a known path with the wrong method, and the
  500 of a bug (logged; the client gets a problem, never a traceback), through the
  handlerNNN views below, which answer problem+json on /api/ paths and Django's default
  pages elsewhere;
- a database that cannot be reached, dropped the connection or stayed locked
  (vaxbook.core.database.is_unavailable): a 503 with Retry-After (`service_unavailable`),
  on /api/ paths and on pages alike. It is a state of the moment, not a bug: clients and
  browsers may try again, and a booking retried with its Idempotency-Key is never made
  twice.

`type` is a stable identifier (`urn:vaxbook:problem:<code>`), not a link; docs/api.md lists
every code.
"""

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from vaxbook.api.schemas import Output
from vaxbook.bookings.errors import InvalidTransition
from vaxbook.core import database
from vaxbook.core.errors import DomainError
from vaxbook.core.ratelimit import RateLimited

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"

# A restart, a failover or a lock is usually over in seconds.
RETRY_AFTER_UNAVAILABLE_S = 10

# The HTTP status of each domain error.
DOMAIN_STATUS: dict[str, int] = {
    "invalid_credentials": 401,
    "otp_required": 401,
    "otp_invalid": 401,
    "otp_setup_required": 403,
    "erasure_refused": 403,
    "not_found": 404,
    "not_permitted": 403,
    "slot_unavailable": 409,
    "slot_full": 409,
    "already_booked": 409,
    "person_already_added": 409,
    "not_cancellable": 409,
    "invalid_transition": 409,
    "not_eligible": 422,
    "invalid_record": 422,
    # The waiting room (vaxbook.waiting_room.errors).
    "pass_required": 403,
    "pass_invalid": 403,
    "invalid_ticket": 400,
    # The waiting list (vaxbook.waiting_list.errors).
    "invalid_entry": 422,
    "already_waiting": 409,
    "offer_closed": 409,
}
# A domain error added later without a status here is still a client error, never a 500.
DEFAULT_DOMAIN_STATUS = 409

# A short, stable summary of each problem type (RFC 9457 "title"); `detail` says what
# happened this time, in the request's language.
TITLES: dict[str, Promise] = {
    # The domain (vaxbook.bookings.errors).
    "not_found": gettext_lazy("Not found"),
    "not_permitted": gettext_lazy("Not permitted"),
    "slot_unavailable": gettext_lazy("Slot unavailable"),
    "slot_full": gettext_lazy("Slot full"),
    "already_booked": gettext_lazy("Already booked"),
    "person_already_added": gettext_lazy("Person already added"),
    "not_cancellable": gettext_lazy("Not cancellable"),
    "invalid_transition": gettext_lazy("Invalid status change"),
    "not_eligible": gettext_lazy("Not eligible"),
    "invalid_record": gettext_lazy("Invalid vaccination record"),
    # The waiting room.
    "pass_required": gettext_lazy("Waiting-room pass required"),
    "pass_invalid": gettext_lazy("Invalid waiting-room pass"),
    "invalid_ticket": gettext_lazy("Invalid waiting-room ticket"),
    "waiting_room_unavailable": gettext_lazy("Waiting room unavailable"),
    # The waiting list.
    "invalid_entry": gettext_lazy("Invalid waiting-list entry"),
    "already_waiting": gettext_lazy("Already on the waiting list"),
    "offer_closed": gettext_lazy("Offer closed"),
    # Authentication.
    "not_authenticated": gettext_lazy("Authentication required"),
    "invalid_token": gettext_lazy("Invalid token"),
    "invalid_credentials": gettext_lazy("Invalid credentials"),
    "otp_required": gettext_lazy("One-time code required"),
    "otp_invalid": gettext_lazy("Invalid one-time code"),
    "otp_setup_required": gettext_lazy("Authenticator required"),
    "second_factor_required": gettext_lazy("Second factor required"),
    "citizen_required": gettext_lazy("Citizen account required"),
    "erasure_refused": gettext_lazy("Account not deleted"),
    # Requests.
    "validation_error": gettext_lazy("Invalid request"),
    "centre_required": gettext_lazy("Centre required"),
    "malformed_json": gettext_lazy("Malformed JSON"),
    "invalid_encoding": gettext_lazy("Invalid encoding"),
    "unsupported_media_type": gettext_lazy("Unsupported media type"),
    "payload_too_large": gettext_lazy("Payload too large"),
    "length_required": gettext_lazy("Length required"),
    "precondition_failed": gettext_lazy("Precondition failed"),
    "method_not_allowed": gettext_lazy("Method not allowed"),
    "idempotency_key_reused": gettext_lazy("Idempotency key reused"),
    "idempotency_key_in_use": gettext_lazy("Idempotency key in use"),
    "rate_limited": gettext_lazy("Too many requests"),
    "bad_request": gettext_lazy("Bad request"),
    "forbidden": gettext_lazy("Forbidden"),
    "internal_error": gettext_lazy("Internal error"),
    "service_unavailable": gettext_lazy("Service unavailable"),
    "overloaded": gettext_lazy("Too busy"),
}


class FieldError(Output):
    """One invalid part of a request."""

    location: str  # body, query, path or header
    field: str  # dotted path inside it, e.g. "slot_id"; "" for the whole body
    message: str
    type: str  # pydantic's error type: missing, int_type, extra_forbidden...


class Problem(Output):
    """An error (RFC 9457 problem details). `code` is stable: switch on it."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    # validation_error: every invalid field.
    errors: list[FieldError] | None = None
    # invalid_transition: the appointment's status now.
    appointment_status: str | None = None


class ApiProblem(Exception):
    """A failure the API answers with `code`, e.g. ApiProblem(401, "invalid_token", ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def problem_response(
    request: HttpRequest,
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"urn:vaxbook:problem:{code}",
        "title": str(TITLES.get(code, code.replace("_", " ").capitalize())),
        "status": status,
        "detail": str(detail),
        "code": code,
        "instance": request.path,
    }
    body.update({name: value for name, value in extra.items() if value is not None})
    response = JsonResponse(body, status=status, content_type=MEDIA_TYPE)
    if status == 401:  # RFC 9110: a 401 names the scheme that would do
        response["WWW-Authenticate"] = 'Bearer realm="vaxbook"'
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_problem(request: HttpRequest, problem: ApiProblem) -> HttpResponse:
    return problem_response(
        request,
        problem.status,
        problem.code,
        problem.detail,
        headers=problem.headers,
        **problem.extra,
    )


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """ninja's validation errors as FieldError items. A body parameter's own name (ninja
    puts it second in `loc`) means nothing to a client and is left out."""
    fields = []
    for error in errors:
        location, *path = [str(part) for part in error.get("loc", ())] or ["body"]
        if location == "body" and path:
            path = path[1:]
        fields.append(
            {
                "location": location,
                "field": ".".join(path),
                "message": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return fields


def install(api: NinjaAPI) -> None:
    """Make `api` answer every failure with a problem."""

    def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
        status = DOMAIN_STATUS.get(error.code, DEFAULT_DOMAIN_STATUS)
        current = error.status if isinstance(error, InvalidTransition) else None
        return problem_response(
            request, status, error.code, error.message, appointment_status=current
        )

    def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
        fields = field_errors(error.errors)
        named = ", ".join(sorted({f["field"] or f["location"] for f in fields}))
        return problem_response(
            request,
            422,
            "validation_error",
            _("The request is not valid: %(fields)s.") % {"fields": named},
            errors=fields,
        )

    def not_authenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        return problem_response(
            request,
            401,
            "not_authenticated",
            _("Send a bearer token from POST /api/v1/auth/token in the Authorization header."),
        )

    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        # ninja wraps whatever the body parser raises in HttpError(400): the parser's own
        # ApiProblem says what was wrong.
        if isinstance(error.__cause__, ApiProblem):
            return from_problem(request, error.__cause__)
        status = error.status_code
        code = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}.get(
            status, "bad_request"
        )
        return problem_response(request, status, code, str(error))

    def rate_limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
        return problem_response(
            request,
            429,
            "rate_limited",
            _("Too many requests. Try again in %(seconds)d seconds.")
            % {"seconds": error.retry_after},
            headers={"Retry-After": str(error.retry_after)},
        )

    def unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
        if isinstance(error, RequestDataTooBig):
            return payload_too_large(request)
        logger.error("Unexpected error on %s %s", request.method, request.path, exc_info=error)
        return internal_error(request)

    def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
        return not_found_problem(request)

    def database_error(request: HttpRequest, error: Exception) -> HttpResponse:
        if not database.is_unavailable(error):
            return unexpected(request, error)
        logger.error(
            "Database unavailable on %s %s: %s", request.method, request.path, error, exc_info=error
        )
        return service_unavailable(request)

    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (ApiProblem, from_problem),
        (DomainError, domain_error),
        (ValidationError, validation_error),
        (AuthenticationError, not_authenticated),
        (HttpError, http_error),
        (RateLimited, rate_limited),
        (Http404, not_found),
        (OperationalError, database_error),
        (InterfaceError, database_error),
        (Exception, unexpected),
    ]
    for exception, handler in handlers:
        api.add_exception_handler(exception, handler)


def not_found_problem(request: HttpRequest) -> HttpResponse:
    return problem_response(request, 404, "not_found", _("There is nothing at this address."))


def payload_too_large(request: HttpRequest) -> HttpResponse:
    return problem_response(request, 413, "payload_too_large", _("The request body is too large."))


def internal_error(request: HttpRequest) -> HttpResponse:
    return problem_response(
        request,
        500,
        "internal_error",
        _("Something went wrong on our side. It has been logged; please try again later."),
    )


def service_unavailable(request: HttpRequest) -> HttpResponse:
    return problem_response(
        request,
        503,
        "service_unavailable",
        _(
            "The service cannot reach its database just now. Try again in %(seconds)d "
            "seconds; a booking retried with the same Idempotency-Key is never made twice."
        )
        % {"seconds": RETRY_AFTER_UNAVAILABLE_S},
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def overloaded(request: HttpRequest, retry_after: int) -> HttpResponse:
    """More requests than this worker can serve in time (vaxbook.core.overload): a 503 with
    Retry-After at once, a page or a problem. Rendered without the request's context, like
    the other 503: the point is to spend nothing on it."""
    language = translation.get_language_from_request(request)
    headers = {"Retry-After": str(retry_after)}
    with translation.override(language):
        if _is_api(request):
            return problem_response(
                request,
                503,
                "overloaded",
                _(
                    "Too many requests are arriving at once. Try again in %(seconds)d "
                    "seconds; a booking retried with the same Idempotency-Key is never made "
                    "twice."
                )
                % {"seconds": retry_after},
                headers=headers,
            )
        page = loader.get_template("overloaded.html").render({"retry_after": retry_after})
    response = HttpResponse(page, status=503, headers=headers)
    response["Content-Language"] = language
    return response


# --- Django's error views (config/urls.py handler404, handler500...) ---------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return not_found_problem(request)
    return defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls handler500 while it handles the exception, so sys.exception() is it.
    if database.is_unavailable(sys.exception()):
        return _unavailable(request)
    if _is_api(request):
        return internal_error(request)
    return defaults.server_error(request)


def _unavailable(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return service_unavailable(request)
    # Rendered without the request, as Django renders 500.html: the context processors
    # would read the session and the user from the database that is out of reach.
    page = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_UNAVAILABLE_S})
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # A session that could not be saved is a 400 to Django (SessionInterrupted), whatever the
    # reason; the database out of reach is not the request's fault.
    if database.is_unavailable(exception):
        return _unavailable(request)
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large(request)
        return problem_response(request, 400, "bad_request", _("The request is malformed."))
    return defaults.bad_request(request, exception or Exception())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return problem_response(request, 403, "forbidden", _("This is not allowed."))
    return defaults.permission_denied(request, exception or Exception())
