"""The waiting room's HTTP protocol under /api/v1/waiting-room/ (docs/api.md, "Waiting
room"): join, and poll with the ticket.

Plain Django views, mounted in config/urls.py before the ninja API (as the SMART feed is):
the poll is the most frequent request of an opening, and ninja's parsing, schema and
authentication layers would cost more than the poll itself. Each view parses, calls one
service, and answers JSON or a problem (vaxbook.api.problems), never a 500.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from vaxbook.api import tokens as api_tokens
from vaxbook.api.problems import problem_response
from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address
from vaxbook.core.errors import DomainError
from vaxbook.waiting_room import services
from vaxbook.waiting_room.errors import InvalidTicket, TooManyPolls, Unavailable

TICKET_HEADER = "Waiting-Room-Ticket"
PASS_HEADER = "Waiting-Room-Pass"  # noqa: S105 (a header name)


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _json(body: dict[str, object], status: int) -> HttpResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


def _problem(request: HttpRequest, error: DomainError) -> HttpResponse:
    if isinstance(error, TooManyPolls):
        return problem_response(
            request,
            429,
            error.code,
            error.message,
            headers={"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, Unavailable):
        return problem_response(
            request,
            503,
            error.code,
            error.message,
            headers={"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, InvalidTicket):
        return problem_response(request, 400, error.code, error.message)
    return problem_response(request, 409, error.code, error.message)


def _only(request: HttpRequest, *methods: str) -> None:
    if request.method not in methods:
        response = problem_response(
            request,
            405,
            "method_not_allowed",
            _("Use %(methods)s here.") % {"methods": " or ".join(methods)},
            headers={"Allow": ", ".join(methods)},
        )
        raise _Refused(response)


def _account_id(request: HttpRequest) -> int | None:
    """The bearer token's account, if one is sent (optional here); a bad one is a 401."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _space, raw = header.partition(" ")
    found = api_tokens.token_of(raw.strip()) if scheme.lower() == "bearer" and raw else None
    if found is None:
        raise _Refused(
            problem_response(
                request,
                401,
                "invalid_token",
                _("The token is unknown, expired or revoked. Join without it or use a new one."),
                headers={"WWW-Authenticate": 'Bearer realm="vaxbook", error="invalid_token"'},
            )
        )
    return found.user_id


@csrf_exempt
def tickets(request: HttpRequest) -> HttpResponse:
    """POST: join the line (or keep the place of the ticket or account sent)."""
    try:
        _only(request, "POST")
        ratelimit.hit(ratelimit.Limit("waiting_room_join_address", client_address(request)))
        account_id = _account_id(request)
        status = services.join(ticket=request.headers.get(TICKET_HEADER), account_id=account_id)
    except _Refused as refused:
        return refused.response
    except ratelimit.RateLimited as limited:
        return problem_response(
            request,
            429,
            "rate_limited",
            _("Too many joins from this address. Try again in %(seconds)d seconds.")
            % {"seconds": limited.retry_after},
            headers={"Retry-After": str(limited.retry_after)},
        )
    except DomainError as error:
        return _problem(request, error)
    return _json(status.as_json(), 201)


def current(request: HttpRequest) -> HttpResponse:
    """GET: where the ticket of the Waiting-Room-Ticket header stands (the poll)."""
    try:
        _only(request, "GET", "HEAD")
        ticket = request.headers.get(TICKET_HEADER, "").strip()
        if not ticket:
            raise InvalidTicket(
                _("Send the ticket from POST /api/v1/waiting-room/tickets in the %(h)s header.")
                % {"h": TICKET_HEADER}
            )
        status = services.poll(ticket=ticket)
    except _Refused as refused:
        return refused.response
    except DomainError as error:
        return _problem(request, error)
    return _json(status.as_json(), 200)
