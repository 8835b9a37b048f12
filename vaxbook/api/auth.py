"""Who is calling: the bearer token of the Authorization header, for ninja's `auth=`.

Endpoints read the caller with `caller(request)` (the User), `staff_caller(request)` (the
User, their centre roles read once for the request) or `citizen_of(request)` (their
citizen profile: 403 `citizen_required` for an account without one, such as staff). The
token lookup is one query and brings the citizen profile along.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from vaxbook.accounts.models import Citizen, User
from vaxbook.api import tokens
from vaxbook.api.models import ApiToken
from vaxbook.api.problems import ApiProblem


class BearerToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> ApiToken | None:
        header = request.headers.get("Authorization")
        if not header:
            return None  # ninja answers 401 not_authenticated
        scheme, _space, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise _invalid(_("Use the Bearer scheme: Authorization: Bearer <access_token>."))
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = tokens.token_of(token)
        if found is None:
            raise _invalid(_("The token is unknown, expired or revoked. Request a new one."))
        return found


def _invalid(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "invalid_token",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="vaxbook", error="invalid_token"'},
    )


bearer = BearerToken()


def token(request: HttpRequest) -> ApiToken:
    auth: Any = getattr(request, "auth", None)
    if not isinstance(auth, ApiToken):  # an endpoint without auth=bearer asked
        raise RuntimeError("This endpoint is not authenticated.")
    return auth


def caller(request: HttpRequest) -> User:
    return token(request).user


def staff_caller(request: HttpRequest) -> User:
    """The caller of a staff endpoint, whose token was issued with the code of their
    authenticator (a citizen's password-only token never acts for a centre, even after its
    holder joined one). The endpoint and the services it calls ask about the caller's roles
    several times (which centre, whether they work there, whether their role allows the
    step): one query answers them all, as on the staff pages."""
    if not token(request).second_factor:
        raise ApiProblem(
            403,
            "second_factor_required",
            _(
                "Staff actions need a token issued with the code of your authenticator app: "
                "request a new token with `otp`."
            ),
        )
    user = caller(request)
    user.keep_roles()
    return user


def citizen_of(request: HttpRequest) -> Citizen:
    user = caller(request)
    try:
        return user.citizen
    except Citizen.DoesNotExist:
        raise ApiProblem(
            403,
            "citizen_required",
            _("This account has no citizen profile: only citizens book appointments."),
        ) from None
