"""API: ask for an account, get and revoke a bearer token, read one's own profile, download
one's data and delete the account."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Router
from ninja.decorators import decorate_view
from ninja.responses import Status

from vaxbook.accounts import data_rights
from vaxbook.accounts.models import Citizen, StaffMembership, User
from vaxbook.accounts.registration import request_registration
from vaxbook.api import http, tokens
from vaxbook.api.auth import bearer, caller, token
from vaxbook.api.problems import ApiProblem, Problem
from vaxbook.api.schemas import FREE_TEXT_SCHEMA, Email, FreeText, Input, IsoDate, Output, Text
from vaxbook.core import devices, ratelimit
from vaxbook.core.clients import client_address

router = Router(tags=["accounts"])


class RegistrationIn(Input):
    email: Email
    password: Text = Field(
        min_length=8,
        max_length=512,
        description="At least 8 characters, not only digits, not a common password, not "
        "like the email address (refused with a 422 on `password` otherwise).",
    )
    full_name: FreeText = Field(min_length=1, max_length=200, json_schema_extra=FREE_TEXT_SCHEMA)
    date_of_birth: IsoDate = Field(
        description="In the past, at most 130 years ago. The pattern admits 1900-2019, always "
        "in range; other past dates are accepted too.",
        json_schema_extra={"pattern": "^(19[0-9]{2}|20[01][0-9])-"},
    )
    phone: FreeText = Field("", max_length=32, json_schema_extra=FREE_TEXT_SCHEMA)


class TokenIn(Input):
    email: Text = Field(max_length=254)
    password: Text = Field(max_length=512)
    otp: Text | None = Field(
        None,
        max_length=16,
        description="The 6-digit code of the authenticator app; required for accounts "
        "(staff) that have one.",
    )
    device: Text | None = Field(
        None,
        max_length=2048,
        description="The `device` value that came with this client's last token. Its "
        "attempts on an account it got a token for before then count on a limit of their "
        "own, so wrong passwords sent by others cannot lock it out.",
    )


class TokenOut(Output):
    access_token: str
    token_type: str = Field(description='Always "bearer".')
    expires_in: int = Field(description="Seconds until the token expires.")
    device: str = Field(description="Send it as `device` in this client's next token requests.")


class CitizenOut(Output):
    id: int = Field(description="The person's id: `person_id` of your own appointments.")
    full_name: str
    date_of_birth: dt.date
    phone: str
    language: str


class CentreRef(Output):
    id: int
    name: str


class MembershipOut(Output):
    centre: CentreRef
    role: str = Field(description="receptionist, vaccinator or manager.")


class MeOut(Output):
    id: int
    email: str
    citizen: CitizenOut | None = Field(
        description="The citizen profile; null for staff-only accounts."
    )
    staff_at: list[MembershipOut] = Field(description="The centres this account works at.")
    is_administrator: bool

    @classmethod
    def of(cls, user: User, citizen: Citizen | None) -> "MeOut":
        memberships = StaffMembership.objects.filter(user=user).select_related("centre")
        return cls(
            id=user.pk,
            email=user.email,
            citizen=None
            if citizen is None
            else CitizenOut(
                id=citizen.pk,
                full_name=citizen.full_name,
                date_of_birth=citizen.date_of_birth,
                phone=citizen.phone,
                language=citizen.language,
            ),
            staff_at=[
                MembershipOut(
                    centre=CentreRef(id=membership.centre.pk, name=membership.centre.name),
                    role=membership.role,
                )
                for membership in memberships.order_by("centre__name")
            ],
            is_administrator=user.is_superuser,
        )


def _citizen_or_none(user: User) -> Citizen | None:
    try:
        return user.citizen
    except Citizen.DoesNotExist:
        return None


class RegistrationAcceptedOut(Output):
    detail: str = Field(description="What happens next, for the person.")


@router.post(
    "/auth/register",
    response={202: RegistrationAcceptedOut, 422: Problem, 429: Problem},
    summary="Ask for a citizen account",
    openapi_extra={
        "responses": {
            202: {
                "description": "Accepted, whether or not the address has an account: the "
                "address gets either a link that creates the account (it works for 24 "
                "hours, on the web) or, when it has an account already, a notice."
            },
            422: {
                "description": "`validation_error`: a field is missing or wrong, or the "
                "password is too weak (see `errors`)."
            },
            429: {"description": "`rate_limited`: too many accounts from this address."},
        }
    },
)
@decorate_view(http.private)
def register(request: HttpRequest, payload: RegistrationIn) -> Status[RegistrationAcceptedOut]:
    """Ask for an account that signs in with `email`. The answer is the same whether or not
    the address has an account, so that nobody learns which addresses do: the account
    exists once the person follows the link emailed to the address; then POST /auth/token
    with the password gives a token."""
    ratelimit.hit(*ratelimit.registration(client_address(request)))
    try:
        request_registration(
            email=payload.email,
            password=payload.password,
            full_name=payload.full_name,
            date_of_birth=payload.date_of_birth,
            phone=payload.phone,
            language=get_language(),
        )
    except DjangoValidationError as error:
        fields = [
            {"location": "body", "field": field, "message": str(message), "type": "invalid"}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
        raise ApiProblem(
            422,
            "validation_error",
            _("The request is not valid: %(fields)s.")
            % {"fields": ", ".join(sorted(error.message_dict))},
            errors=fields,
        ) from None
    return Status(
        202,
        RegistrationAcceptedOut(
            detail=_("Check your email: follow the link in it to finish creating the account.")
        ),
    )


@router.post(
    "/auth/token",
    response={200: TokenOut, 401: Problem, 403: Problem, 429: Problem},
    summary="Get a bearer token",
    openapi_extra={
        "responses": {
            401: {
                "description": "`invalid_credentials`: wrong email address or password; "
                "`otp_required`: this account has an authenticator, send its code as `otp`; "
                "`otp_invalid`: the code is wrong or was used already."
            },
            403: {
                "description": "`otp_setup_required`: a staff account without an "
                "authenticator app gets no token; it adds one with its invitation link."
            },
            429: {"description": "`rate_limited`: too many attempts for this address or account."},
        }
    },
)
@decorate_view(http.private)
def request_token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    """An opaque bearer token for `Authorization: Bearer <access_token>`. It expires after
    `expires_in` seconds, on DELETE /auth/token, and when the password changes."""
    device = devices.known_api_device(payload.device, payload.email)
    ratelimit.hit(*ratelimit.sign_in(client_address(request), payload.email, device=device))
    issued = tokens.sign_in(
        request=request, email=payload.email, password=payload.password, otp=payload.otp
    )
    return TokenOut(
        access_token=issued.access_token,
        token_type=issued.token_type,
        expires_in=issued.expires_in,
        device=devices.remember_api_device(payload.device, payload.email),
    )


@router.delete(
    "/auth/token",
    auth=bearer,
    response={204: None},
    summary="Revoke the token (sign out)",
)
def revoke_token(request: HttpRequest) -> Status[None]:
    """The token of this request stops working at once."""
    tokens.revoke(token=token(request))
    return Status(204, None)


@router.get("/me", auth=bearer, response={200: MeOut}, summary="Your account")
@decorate_view(http.private)
def me(request: HttpRequest) -> MeOut:
    """The account of the token: its citizen profile, and the centres it works at."""
    user = caller(request)
    return MeOut.of(user, _citizen_or_none(user))


class ErasureIn(Input):
    password: Text = Field(max_length=512, description="The account's password, again.")


class ErasureOut(Output):
    cancelled: int = Field(description="Appointments cancelled, their places given back.")


@router.get(
    "/me/data",
    auth=bearer,
    response={200: dict[str, Any]},
    summary="A copy of your data",
)
@decorate_view(http.private)
def my_data(request: HttpRequest) -> dict[str, Any]:
    """Everything kept about you: the account, the citizen profile, every appointment with
    its dose record and the messages sent about it (docs/privacy.md)."""
    return data_rights.export_personal_data(user=caller(request))


@router.post(
    "/me/delete",
    auth=bearer,
    response={200: ErasureOut, 403: Problem, 429: Problem},
    summary="Delete your account",
    openapi_extra={
        "responses": {
            403: {
                "description": "`erasure_refused`: the password is wrong, the account is "
                "staff, or an appointment has started."
            },
            429: {"description": "`rate_limited`: too many attempts for this account."},
        }
    },
)
@decorate_view(http.private)
def delete_me(request: HttpRequest, payload: ErasureIn) -> ErasureOut:
    """Cancel your appointments still to come (their places go back), erase your name and
    contact details, keep the doses given without naming you, and close the account: this
    token and every other stop working. Cannot be undone."""
    user = caller(request)
    ratelimit.hit(*ratelimit.password_confirmation(client_address(request), user.pk))
    erasure = data_rights.erase_account(user=user, password=payload.password)
    return ErasureOut(cancelled=erasure.cancelled)
