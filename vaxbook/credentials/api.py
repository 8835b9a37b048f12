"""API: the person's vaccination certificate (a SMART Health Card, docs/certificates.md).

`GET /certificates` is the certificate of every dose given; `GET /certificates/{id}` the
certificate of one dose, named by its appointment's id. Each answer is signed afresh.
Someone else's dose is a 404 `not_found`, exactly like a missing one.
"""

import datetime as dt
import uuid

from django.http import HttpRequest
from ninja import Router
from ninja.decorators import decorate_view
from ninja.params import P, PathEx

from vaxbook.api import http
from vaxbook.api.auth import bearer, caller
from vaxbook.api.problems import Problem
from vaxbook.api.schemas import Output
from vaxbook.credentials import health_card
from vaxbook.credentials.health_card import CertificateNotFound, HealthCard

router = Router(tags=["certificates"], auth=bearer)

AppointmentId = PathEx[uuid.UUID, P(description="The id of the appointment the dose was given at.")]


class CertificateDoseOut(Output):
    appointment_id: uuid.UUID
    dose_number: int
    date: dt.date
    vaccine: str
    cvx: str
    lot_number: str
    centre: str


class CertificateOut(Output):
    doses: list[CertificateDoseOut]
    jws: str
    qr_text: str
    file: dict[str, list[str]]

    @classmethod
    def of(cls, card: HealthCard) -> "CertificateOut":
        return cls(
            doses=[
                CertificateDoseOut(
                    appointment_id=record.appointment_id,
                    dose_number=record.appointment.dose_number,
                    date=record.appointment.slot.centre.local_date(record.administered_at),
                    vaccine=record.vaccine.name,
                    cvx=record.vaccine.cvx_code,
                    lot_number=record.lot_number,
                    centre=record.appointment.slot.centre.name,
                )
                for record in card.doses
            ],
            jws=card.jws,
            qr_text=card.qr_text,
            file={"verifiableCredential": [card.jws]},
        )


class CertificatePage(Output):
    items: list[CertificateOut]
    count: int


TOO_LARGE = (
    "`certificate_too_large`: the doses do not fit in one QR code; ask per dose. "
    "`certificate_incomplete`: a dose's vaccine has no CVX code."
)


@router.get(
    "/certificates",
    response={200: CertificatePage, 409: Problem},
    summary="Your vaccination certificate",
    openapi_extra={"responses": {409: {"description": TOO_LARGE}}},
)
@decorate_view(http.private)
def list_certificates(request: HttpRequest) -> CertificatePage:
    """The certificate of every dose you were given, as one SMART Health Card: no item
    before a dose is recorded, one after."""
    try:
        card = health_card.own_card(user=caller(request))
    except CertificateNotFound:
        return CertificatePage(items=[], count=0)
    return CertificatePage(items=[CertificateOut.of(card)], count=1)


@router.get(
    "/certificates/{appointment_id}",
    response={200: CertificateOut, 404: Problem, 409: Problem},
    summary="The certificate of one dose",
    openapi_extra={
        "responses": {
            404: {"description": "`not_found`: no dose of yours was given there."},
            409: {"description": TOO_LARGE},
        }
    },
)
@decorate_view(http.private)
def get_certificate(request: HttpRequest, appointment_id: AppointmentId) -> CertificateOut:
    card = health_card.own_card(user=caller(request), appointment_id=appointment_id)
    return CertificateOut.of(card)
