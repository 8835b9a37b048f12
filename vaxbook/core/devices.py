"""Known devices: sign-in's per-account limit cannot be aimed at the account's owner.

Ten wrong passwords a minute from anywhere used to keep a chosen account locked out. Now a
browser that has signed in to an account carries a signed cookie naming it (a hash of the
address, never the address), and its sign-ins to that account count against a limit of
their own (`sign_in_device`, per cookie) instead of the account's (`sign_in_account`). So
an attacker guessing from elsewhere fills only the account's counter, and the owner, from
a browser they signed in with before, still signs in with the right password. The
per-client-address limit applies to everyone. A stolen cookie gains nothing but its own
counter: it does not sign anyone in. (OWASP "device cookies"; docs/security.md, V2.2.)

An API client has no cookie jar: POST /api/v1/auth/token gives it the same signed value as
`device` with every token, and the client sends it back in its next token requests.
"""

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "vaxbook_device"
SALT = "vaxbook.core.devices"
MAX_AGE_S = 180 * 86400
# Accounts one browser remembers (a centre's shared tablet), the most recent first.
MAX_ACCOUNTS = 20


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _read(request: HttpRequest) -> dict[str, Any] | None:
    return _loads(request.COOKIES.get(COOKIE_NAME))


def _loads(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=SALT, max_age=MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("accounts"), list):
        return None
    return value


def known_device(request: HttpRequest, email: str) -> str | None:
    """This browser's id if it has signed in to the account of `email` before; None."""
    return _known(_read(request), email)


def known_api_device(device: str | None, email: str) -> str | None:
    """known_device() for an API client: `device` is the value its last token came with."""
    return _known(_loads(device), email)


def remember_api_device(device: str | None, email: str) -> str:
    """The value to give an API client with its token: `device` (or a new device) now
    naming the account of `email` too."""
    return signing.dumps(_remembered(_loads(device), account_key(email)), salt=SALT)


def _known(value: dict[str, Any] | None, email: str) -> str | None:
    if value is None or account_key(email) not in value["accounts"]:
        return None
    return str(value["device"])


def _remembered(value: dict[str, Any] | None, account: str) -> dict[str, Any]:
    value = value or {"device": secrets.token_urlsafe(12), "accounts": []}
    accounts = [account, *(a for a in value["accounts"] if a != account)]
    return {**value, "accounts": accounts[:MAX_ACCOUNTS]}


@receiver(user_logged_in)
def _remember_on_sign_in(sender: object, request: HttpRequest | None, user: Any, **kw: Any) -> None:
    # The response does not exist yet: KnownDeviceMiddleware sets the cookie on it.
    email: str = user.email or ""
    if request is not None and email:
        request._known_device_account = account_key(email)  # type: ignore[attr-defined]


class KnownDeviceMiddleware:
    """Adds the account signed in to during this request to the browser's device cookie."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        account = getattr(request, "_known_device_account", None)
        if account is not None:
            value = _remembered(_read(request), account)
            response.set_cookie(
                COOKIE_NAME,
                signing.dumps(value, salt=SALT),
                max_age=MAX_AGE_S,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
