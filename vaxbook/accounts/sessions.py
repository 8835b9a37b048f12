"""Staff sessions are short: centres sign in on shared tablets.

A session that passed the second factor (staff and administrators; citizens have none)
ends after STAFF_SESSION_IDLE_SECONDS without a request, and in any case
STAFF_SESSION_MAX_SECONDS after it began (a shift): the next request then signs out and
goes to the staff sign-in. Citizens keep Django's session length (SESSION_COOKIE_AGE).
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

STARTED_KEY = "vaxbook_staff_session_started"


class StaffSessionMiddleware:
    """After django_otp's OTPMiddleware, which tells whether the session is verified."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            # No session to limit: leave it unread, so public answers stay cacheable
            # (reading it adds Vary: Cookie).
            return self.get_response(request)
        user = request.user
        is_verified = getattr(user, "is_verified", None)
        if user.is_authenticated and is_verified is not None and is_verified():
            now = int(time.time())
            started = int(request.session.setdefault(STARTED_KEY, now))
            if now - started > settings.STAFF_SESSION_MAX_SECONDS:
                logout(request)
                return redirect_to_login(request.get_full_path(), reverse("staff_sign_in"))
            # Idle expiry: each request moves the end of the session (and its cookie's) on.
            request.session.set_expiry(settings.STAFF_SESSION_IDLE_SECONDS)
        return self.get_response(request)
