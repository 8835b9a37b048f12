"""The JSON API v1 (/api/v1/): one django-ninja API, a router per domain app.

OpenAPI document at /api/v1/openapi.json, interactive docs at /api/v1/docs; docs/api.md is
the guide (a curl walk-through, the error codes, idempotency, rate limits).
"""

from ninja import Swagger

from vaxbook.accounts.api import router as accounts
from vaxbook.accounts.people_api import router as people
from vaxbook.api.base import VaxbookAPI
from vaxbook.bookings.api import router as appointments
from vaxbook.centres.api import router as centres
from vaxbook.checkin.api import router as staff
from vaxbook.credentials.api import router as certificates
from vaxbook.fhir.api import router as fhir
from vaxbook.waiting_list.api import router as waiting_list

api = VaxbookAPI(
    title="vaxbook API",
    version="1",
    description=(
        "COVID-19 vaccination appointments: find a centre and a slot, book, get the signed "
        "confirmation; staff validate it, check people in and record the dose.\n\n"
        "Authenticate with `Authorization: Bearer <access_token>` from `POST /auth/token`. "
        "Errors are `application/problem+json` with a stable `code`. Lists are pages "
        "`{items, count}` (`limit`, `offset`). See docs/api.md."
    ),
    urls_namespace="api-v1",
    docs=Swagger(),
)
api.add_router("", accounts)
api.add_router("", centres)
api.add_router("", people)
api.add_router("", appointments)
api.add_router("", staff)
api.add_router("", certificates)
api.add_router("", fhir)
api.add_router("", waiting_list)
