"""Where the booking journey asks for a pass while a waiting room is active.

- The API's booking, cancelling and rescheduling endpoints call require_api_pass() (the
  Waiting-Room-Pass header).
- The pages from finding a centre to the confirmation go through PageGate (a middleware
  that looks at the resolved URL name): without a valid pass cookie, a redirect to the
  waiting room; a signed-in person's pass is bound to their account on the way.

Nothing else is gated: static files, /healthz, the staff and admin pages, validation and
check-in, /.well-known/, the availability reads of the API, signing in and registering.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from vaxbook.waiting_room import load, services
from vaxbook.waiting_room.errors import PassInvalid, PassRequired

PASS_HEADER = "Waiting-Room-Pass"  # noqa: S105 (a header name)
TICKET_COOKIE = "vaxbook_wr_ticket"
PASS_COOKIE = "vaxbook_wr_pass"  # noqa: S105 (a cookie name)

# The pages of the booking journey (URL names of vaxbook.centres.urls and
# vaxbook.bookings.urls).
GATED_PAGES = frozenset(
    {"centre_search", "centre_day", "book", "book_both", "cancel", "reschedule"}
)


# Where bookings, cancellations and moves are POSTed (the API and the pages).
BOOKING_PATHS = ("/api/v1/appointments", "/book/", "/appointments/")


def require_api_pass(request: HttpRequest, user_id: int) -> None:
    """PassRequired / PassInvalid (403 problems) unless the request carries a pass valid
    for this account, while a room is active."""
    services.check_pass(token=request.headers.get(PASS_HEADER), user_id=user_id)


class PageGate:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method == "POST" and request.path.startswith(BOOKING_PATHS):
            # The booking load the automatic mode steers by (vaxbook.waiting_room.load).
            return load.measured(self.get_response)(request)
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        # The API's endpoints have names too (in their own namespace): they check their
        # pass themselves.
        if match is None or match.namespaces or match.url_name not in GATED_PAGES:
            return None
        user = request.user
        user_id = user.pk if user.is_authenticated else None
        try:
            services.check_pass(token=request.COOKIES.get(PASS_COOKIE), user_id=user_id)
        except PassRequired:
            target = reverse("waiting_room")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        except PassInvalid as error:
            response = render(
                request, "waiting_room/pass_refused.html", {"reason": error.message}, status=403
            )
            response.delete_cookie(PASS_COOKIE)
            return response
        return None


def set_cookie(response: HttpResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=settings.HTTPS,
        samesite="Lax",
    )
