"""The waiting room's page for people (/waiting-room/) and the small JSON its script polls.

The ticket and the pass travel as cookies (HttpOnly, Secure over HTTPS, SameSite=Lax).
Each view parses, calls one service and renders; the rules are in services."""

import math
import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address
from vaxbook.waiting_room import services
from vaxbook.waiting_room.errors import InvalidTicket, TooManyPolls, Unavailable
from vaxbook.waiting_room.gate import PASS_COOKIE, TICKET_COOKIE, set_cookie


def _join_limits(request: HttpRequest) -> list[ratelimit.Limit]:
    return [ratelimit.Limit("waiting_room_join_address", client_address(request))]


def _next(request: HttpRequest) -> str:
    target = request.GET.get("next") or request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("centre_search")


def _keep(response: HttpResponse, status: services.Status) -> None:
    """The re-issued ticket, and the pass once there is one, as cookies."""
    set_cookie(response, TICKET_COOKIE, status.ticket, settings.WAITING_ROOM_GRACE_SECONDS)
    if status.pass_token and status.pass_expires_at is not None:
        lifetime = status.pass_expires_at.timestamp() - time.time()
        set_cookie(response, PASS_COOKIE, status.pass_token, max(1, math.floor(lifetime)))


def _unavailable(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(request, "503.html", {"retry_after": retry_after}, status=503)
    response["Retry-After"] = str(retry_after)
    return response


def _minutes(status: services.Status | None) -> tuple[int, int] | None:
    if status is None or status.estimate is None:
        return None
    return (
        max(1, status.estimate.low_seconds // 60),
        max(1, math.ceil(status.estimate.high_seconds / 60)),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit.limit_posts(_join_limits)
def room(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    if request.method == "POST":
        user = request.user
        try:
            joined = services.join(
                ticket=request.COOKIES.get(TICKET_COOKIE),
                account_id=user.pk if user.is_authenticated else None,
            )
        except Unavailable as error:
            return _unavailable(request, error.retry_after)
        moved = redirect(f"{reverse('waiting_room')}?{urlencode({'next': next_url})}")
        _keep(moved, joined)
        return moved
    ticket = request.COOKIES.get(TICKET_COOKIE)
    status: services.Status | None = None
    problem = ""
    if ticket:
        try:
            status = services.poll(ticket=ticket)
        except InvalidTicket as error:
            problem = error.message
        except TooManyPolls as error:
            slow = render(request, "429.html", {"retry_after": error.retry_after}, status=429)
            slow["Retry-After"] = str(error.retry_after)
            return slow
        except Unavailable as error:
            return _unavailable(request, error.retry_after)
    room_on = services.current_room() is not None
    response = render(
        request,
        "waiting_room/room.html",
        {
            "status": status,
            "room_on": room_on,
            "problem": problem,
            "next_url": next_url,
            "refresh": math.ceil(status.poll_after) if status else None,
            "wait": _minutes(status),
            "check_url": reverse("check_eligibility"),
        },
    )
    add_never_cache_headers(response)
    if status is not None:
        _keep(response, status)
    elif problem:
        response.delete_cookie(TICKET_COOKIE)
    return response


@require_GET
def status(request: HttpRequest) -> HttpResponse:
    """What the page's script polls: the state without the ticket and the pass (they stay
    in HttpOnly cookies), or `{"reload": true}` when the page should be shown again."""
    ticket = request.COOKIES.get(TICKET_COOKIE, "")
    try:
        current = services.poll(ticket=ticket)
    except InvalidTicket:
        return JsonResponse({"reload": True})
    except (TooManyPolls, Unavailable) as error:
        response = JsonResponse({"retry_after": error.retry_after}, status=503)
        response["Retry-After"] = str(error.retry_after)
        return response
    body = current.as_json()
    body.pop("ticket")
    body["pass"] = bool(body["pass"])
    response = JsonResponse(body)
    add_never_cache_headers(response)
    _keep(response, current)
    return response
