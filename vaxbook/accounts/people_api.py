"""API: the people an account books for (vaxbook.accounts.people). Booking for one of them is
POST /appointments with their `person_id`."""

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router
from ninja.decorators import decorate_view
from ninja.responses import Status

from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen
from vaxbook.api import http
from vaxbook.api.auth import bearer, caller
from vaxbook.api.problems import ApiProblem, Problem
from vaxbook.api.schemas import FREE_TEXT_SCHEMA, FreeText, Input, IsoDate, Output, Text
from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address

router = Router(tags=["people you book for"], auth=bearer)


class PersonIn(Input):
    full_name: FreeText = Field(min_length=1, max_length=200, json_schema_extra=FREE_TEXT_SCHEMA)
    date_of_birth: IsoDate = Field(description="In the past, at most 130 years ago.")
    phone: Text = Field(
        default="", max_length=32, description="Optional: their confirmations by SMS too."
    )
    email: Text = Field(
        default="", max_length=254, description="Optional: their confirmations by email too."
    )


class PersonOut(Output):
    id: int = Field(description="The `person_id` to book for them (POST /appointments).")
    full_name: str
    date_of_birth: dt.date
    phone: str
    email: str

    @classmethod
    def of(cls, person: Citizen) -> "PersonOut":
        return cls(
            id=person.pk,
            full_name=person.full_name,
            date_of_birth=person.date_of_birth,
            phone=person.phone,
            email=person.email,
        )


class PeoplePage(Output):
    items: list[PersonOut]
    count: int


@router.get("/people", response={200: PeoplePage}, summary="People you book for")
@decorate_view(http.private)
def list_people(request: HttpRequest) -> PeoplePage:
    """The people this account books for, by name (not the account holder: see GET /me)."""
    found = people.people_of(caller(request))
    return PeoplePage(items=[PersonOut.of(person) for person in found], count=len(found))


@router.post(
    "/people",
    response={201: PersonOut, 409: Problem, 422: Problem, 429: Problem},
    summary="Add a person you book for",
    openapi_extra={
        "responses": {
            409: {
                "description": "`person_already_added`: you added this name and date of "
                "birth already, or they are yours."
            },
            422: {"description": "`validation_error`: a field is missing or wrong."},
            429: {"description": "`rate_limited`: too many changes from this account."},
        }
    },
)
@decorate_view(http.private)
def add_person(request: HttpRequest, payload: PersonIn) -> Status[PersonOut]:
    """A relative or a person you care for, without an account of their own. Every booking
    rule applies to them as a person: their age, their doses, one appointment per dose."""
    user = caller(request)
    ratelimit.hit(*ratelimit.booking(client_address(request), user.pk))
    try:
        person = people.add_person(booker=user, **payload.model_dump())
    except DjangoValidationError as error:
        raise ApiProblem(
            422,
            "validation_error",
            _("The request is not valid: %(fields)s.")
            % {"fields": ", ".join(sorted(error.message_dict))},
            errors=[
                {"location": "body", "field": field, "message": str(message), "type": "invalid"}
                for field, messages in error.message_dict.items()
                for message in messages
            ],
        ) from None
    return Status(201, PersonOut.of(person))
