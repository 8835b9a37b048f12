"""A staff member who has given only their password reaches nothing but the second step.

Signing in is two steps for staff (vaxbook.accounts.staff): the password, then the code of
their authenticator. Between the two the session is signed in but not verified. On the
staff pages `staff_required` refuses such a session; this middleware makes the same true
everywhere else (the citizen pages, the account and password pages), whichever sign-in
page the password was given on: until the code is entered, every page sends the session to
the code page, and only the steps of signing in and signing out answer (the staff pages
answer 404 themselves, as to anyone who may not see them).

Which sessions are meant is decided once, when the password is accepted (a staff member,
or an administrator), and kept in the session, so that the pages of citizens cost no query.
The JSON API does not use sessions (its staff endpoints need a token issued with the code).
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode

from vaxbook.accounts.staff import VERIFY_URL_NAME, is_staff_member, is_verified

_PENDING_KEY = "vaxbook_second_step_pending"

# Besides the staff pages (which hold both steps), what a half-signed-in session still
# reaches: signing out, the language switch and the health check.
_LEAVING_URL_NAMES = frozenset({"sign_out", "set_language", "healthz"})
# Passed through: the API authenticates by bearer token, static files and keys are public,
# and every staff page refuses a session without the code itself (a 404: staff_required).
_PASSED_PREFIXES = ("/api/", "/static/", "/.well-known/", "/staff/")


@receiver(user_logged_in, dispatch_uid="vaxbook.second_step.mark")
def _mark_pending(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session") and is_staff_member(user):
        request.session[_PENDING_KEY] = True


def second_step_pending(request: HttpRequest) -> bool:
    """Signed in with the password of a staff account, and the code not entered yet. (No
    session cookie, no session: not reading it keeps public answers free of "Vary: Cookie".)"""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    return bool(request.session.get(_PENDING_KEY)) and not is_verified(request.user)


class SecondStepMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_PASSED_PREFIXES) or not second_step_pending(request):
            return self.get_response(request)
        try:
            url_name = resolve(request.path_info).url_name
        except Resolver404:
            url_name = None
        if url_name in _LEAVING_URL_NAMES:
            return self.get_response(request)
        next_url = request.get_full_path() if request.method == "GET" else ""
        query = f"?{urlencode({'next': next_url})}" if next_url else ""
        return redirect(f"{reverse(VERIFY_URL_NAME)}{query}")
