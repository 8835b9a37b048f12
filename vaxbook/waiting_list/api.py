"""API: a citizen's waiting-list entries and the offers made to them.

The same services as the pages. Someone else's entry or offer is a 404 `not_found`, like a
missing one. Joining and answering offers count against the booking rate limits."""

import datetime as dt
import uuid
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router
from ninja.decorators import decorate_view
from ninja.params import P, PathEx
from ninja.responses import Status

from vaxbook.accounts.models import Citizen
from vaxbook.api import http
from vaxbook.api.auth import bearer, citizen_of
from vaxbook.api.problems import Problem
from vaxbook.api.schemas import (
    AppointmentOut,
    AppointmentSlot,
    CentreOut,
    DoseNumber,
    Id,
    Input,
    IsoDate,
    Output,
    VaccineRef,
    local,
)
from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address
from vaxbook.waiting_list import services
from vaxbook.waiting_list.models import Offer, TimeOfDay, WaitingEntry
from vaxbook.waiting_list.tokens import offer_url

router = Router(tags=["waiting list"], auth=bearer)

EntryId = PathEx[int, P(description="The waiting-list entry's id.", ge=1, le=2**63 - 1)]
OfferId = PathEx[uuid.UUID, P(description="The offer's id.")]
PartOfDay = Literal["morning", "afternoon", "evening"]
_LETTER: dict[str, str] = {
    "morning": TimeOfDay.MORNING,
    "afternoon": TimeOfDay.AFTERNOON,
    "evening": TimeOfDay.EVENING,
}
_NAME = {letter: name for name, letter in _LETTER.items()}


class WishIn(Input):
    centre_ids: list[Id] = Field(
        min_length=1, max_length=services.MAX_CENTRES, description="Centres you can go to."
    )
    first_day: IsoDate = Field(description="First day you can go (the centre's local day).")
    last_day: IsoDate = Field(description="Last day you can go.")
    weekdays: list[Literal[0, 1, 2, 3, 4, 5, 6]] = Field(
        default=[0, 1, 2, 3, 4, 5, 6], min_length=1, description="0 is Monday."
    )
    times_of_day: list[PartOfDay] = Field(
        default=["morning", "afternoon", "evening"],
        min_length=1,
        description="morning (before 12:00), afternoon (12:00-17:00), evening (from 17:00), "
        "on the centre's clock.",
    )
    short_notice: bool = Field(
        default=False,
        description="You can come to a place that frees up within a few hours of its time.",
    )

    def wish(self) -> services.Wish:
        return services.Wish(
            centre_ids=frozenset(self.centre_ids),
            first_day=self.first_day,
            last_day=self.last_day,
            weekdays=services.normalised_weekdays(self.weekdays),
            times_of_day=services.normalised_times_of_day(_LETTER[t] for t in self.times_of_day),
            short_notice=self.short_notice,
        )


class JoinIn(WishIn):
    vaccine_id: Id
    dose_number: DoseNumber


class OfferOut(Output):
    id: uuid.UUID
    status: str = Field(description="held, accepted, declined, expired or released.")
    expires_at: dt.datetime = Field(description="Until when the place is held for you.")
    slot: AppointmentSlot
    centre: CentreOut
    appointment_id: uuid.UUID | None
    url: str = Field(description="The offer's page, as in the email.")

    @classmethod
    def of(cls, offer: Offer) -> "OfferOut":
        slot, centre = offer.slot, offer.slot.centre
        return cls(
            id=offer.pk,
            status=offer.status,
            expires_at=local(offer.expires_at, centre),
            slot=AppointmentSlot(
                id=slot.pk,
                starts_at=local(slot.starts_at, centre),
                ends_at=local(slot.ends_at, centre),
                vaccine=VaccineRef(id=slot.vaccine.pk, name=slot.vaccine.name),
            ),
            centre=CentreOut.of(centre),
            appointment_id=offer.appointment_id,
            url=offer_url(offer.pk),
        )


class EntryOut(Output):
    id: int
    status: str = Field(description="waiting, offered, booked, left or lapsed.")
    vaccine: VaccineRef
    dose_number: int
    centre_ids: list[int]
    first_day: dt.date
    last_day: dt.date
    weekdays: list[int]
    times_of_day: list[str]
    short_notice: bool
    joined_at: dt.datetime
    offer: OfferOut | None = Field(description="The offer waiting for your answer, if any.")

    @classmethod
    def of(cls, entry: WaitingEntry, offer: Offer | None = None) -> "EntryOut":
        return cls(
            id=entry.pk,
            status=entry.status,
            vaccine=VaccineRef(id=entry.vaccine.pk, name=entry.vaccine.name),
            dose_number=entry.dose_number,
            centre_ids=sorted(entry.centres.values_list("pk", flat=True)),
            first_day=entry.first_day,
            last_day=entry.last_day,
            weekdays=[int(day) for day in entry.weekdays],
            times_of_day=[_NAME[letter] for letter in entry.times_of_day],
            short_notice=entry.short_notice,
            joined_at=entry.joined_at,
            offer=OfferOut.of(offer) if offer is not None else None,
        )


class EntryPage(Output):
    items: list[EntryOut]
    count: int


def _limit(request: HttpRequest, citizen: Citizen) -> None:
    ratelimit.hit(*ratelimit.booking(client_address(request), citizen.user_id))


def _described(descriptions: dict[int, str]) -> dict[str, dict[int, dict[str, str]]]:
    return {"responses": {status: {"description": text} for status, text in descriptions.items()}}


ENTRY_NOT_FOUND = {404: "`not_found`: no such live entry of yours."}
OFFER_NOT_FOUND = {404: "`not_found`: no such offer of yours."}
RATE = {429: "`rate_limited`: too many changes from this account or address."}
INVALID_ENTRY = (
    "`invalid_entry`: no centre that offers the vaccine, a range reversed, past or too far "
    "ahead (`detail` says which); `not_eligible`: `detail` says why; `validation_error`."
)


@router.get("/waiting-list", response={200: EntryPage}, summary="Your waiting-list entries")
@decorate_view(http.private)
def list_entries(request: HttpRequest) -> EntryPage:
    entries = services.own_entries(citizen_of(request))
    items = [EntryOut.of(entry, getattr(entry, "held_offer", None)) for entry in entries]
    return EntryPage(items=items, count=len(items))


@router.post(
    "/waiting-list",
    response={201: EntryOut, 409: Problem, 422: Problem, 429: Problem},
    summary="Join the waiting list",
    openapi_extra=_described(
        {
            409: "`already_waiting`: you wait for this dose already (change that entry); "
            "`already_booked`: you have an appointment for this dose.",
            422: INVALID_ENTRY,
            **RATE,
        }
    ),
)
@decorate_view(http.private)
def join(request: HttpRequest, payload: JoinIn) -> Status:
    """Wait for a place for `dose_number` of `vaccine_id` at one of `centre_ids`, on a day
    from `first_day` to `last_day`. A place that frees up is held for the first in line
    and offered by email (and in `offer` here)."""
    person = citizen_of(request)
    _limit(request, person)
    entry = services.join_waiting_list(
        person=person,
        vaccine_id=payload.vaccine_id,
        dose_number=payload.dose_number,
        wish=payload.wish(),
    )
    return Status(201, EntryOut.of(entry))


@router.put(
    "/waiting-list/{entry_id}",
    response={200: EntryOut, 404: Problem, 422: Problem},
    summary="Change a waiting-list entry",
    openapi_extra=_described({**ENTRY_NOT_FOUND, 422: INVALID_ENTRY}),
)
@decorate_view(http.private)
def change(request: HttpRequest, entry_id: EntryId, payload: WishIn) -> EntryOut:
    """Where and when you can go; you keep your place in line."""
    entry = services.change_entry(
        person=citizen_of(request), entry_id=entry_id, wish=payload.wish()
    )
    return EntryOut.of(entry)


@router.post(
    "/waiting-list/{entry_id}/leave",
    response={200: EntryOut, 404: Problem},
    summary="Leave the waiting list",
    openapi_extra=_described(ENTRY_NOT_FOUND),
)
@decorate_view(http.private)
def leave(request: HttpRequest, entry_id: EntryId) -> EntryOut:
    """A place held for you goes to the next person."""
    entry = services.leave_waiting_list(person=citizen_of(request), entry_id=entry_id)
    return EntryOut.of(entry)


@router.get(
    "/waiting-list/offers/{offer_id}",
    response={200: OfferOut, 404: Problem},
    summary="An offer made to you",
    openapi_extra=_described(OFFER_NOT_FOUND),
)
@decorate_view(http.private)
def get_offer(request: HttpRequest, offer_id: OfferId) -> OfferOut:
    return OfferOut.of(services.own_offer(citizen_of(request), offer_id))


@router.post(
    "/waiting-list/offers/{offer_id}/accept",
    response={201: AppointmentOut, 404: Problem, 409: Problem, 422: Problem, 429: Problem},
    summary="Accept an offer",
    openapi_extra=_described(
        {
            **OFFER_NOT_FOUND,
            409: "`offer_closed`: accepted already, declined, expired or released "
            "(`detail` says which); `slot_unavailable`: the slot closed meanwhile (the "
            "offer is released); `already_booked`.",
            422: "`not_eligible` (the offer is released).",
            **RATE,
        }
    ),
)
@decorate_view(http.private)
def accept(request: HttpRequest, offer_id: OfferId) -> Status:
    """The held place becomes your appointment; the confirmation email follows."""
    person = citizen_of(request)
    _limit(request, person)
    appointment = services.accept_offer(person=person, offer_id=offer_id)
    return Status(201, AppointmentOut.of(appointment))


@router.post(
    "/waiting-list/offers/{offer_id}/decline",
    response={200: OfferOut, 404: Problem, 409: Problem, 429: Problem},
    summary="Decline an offer",
    openapi_extra=_described(
        {
            **OFFER_NOT_FOUND,
            409: "`offer_closed`: accepted already, declined, expired or released.",
            **RATE,
        }
    ),
)
@decorate_view(http.private)
def decline(request: HttpRequest, offer_id: OfferId) -> OfferOut:
    """The place goes to the next person; you stay on the list for other places."""
    person = citizen_of(request)
    _limit(request, person)
    return OfferOut.of(services.decline_offer(person=person, offer_id=offer_id))
