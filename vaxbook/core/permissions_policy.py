"""The Permissions-Policy header: the browser features a page may use. None by default,
except geolocation on our own origin (the centre search's "near me"); the camera only on
the staff pages that scan a confirmation's QR code (`@camera_allowed`)."""

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

HEADER = "Permissions-Policy"
_DENIED = (
    "microphone",
    "payment",
    "usb",
    "serial",
    "bluetooth",
    "hid",
    "midi",
    "display-capture",
    "screen-wake-lock",
    "publickey-credentials-get",
    "browsing-topics",
)


def policy(*, camera: bool = False) -> str:
    features = [
        f"camera=({'self' if camera else ''})",
        "geolocation=(self)",
        *(f"{feature}=()" for feature in _DENIED),
    ]
    return ", ".join(features)


DEFAULT = policy()
WITH_CAMERA = policy(camera=True)


def camera_allowed[**P, R: HttpResponseBase](view: Callable[P, R]) -> Callable[P, R]:
    """The view's page may use the camera (on our own origin only)."""

    @functools.wraps(view)
    def with_camera(*args: P.args, **kwargs: P.kwargs) -> R:
        response = view(*args, **kwargs)
        response[HEADER] = WITH_CAMERA
        return response

    return with_camera


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = DEFAULT
        return response
