"""The yardstick for the HTTP booking storm: a bare Django view that does nothing but the
booking transaction.

The API's throughput target was set against such a view: on a 2-core machine, written
with the ORM (a conditional `update()` of the slot, then `create()` of the appointment: 4
round trips with BEGIN and COMMIT), it reached about 480-720 bookings/s under gunicorn
(sync, 2 workers). How fast a given machine is changes every figure of
bench/http_storm.py by a factor of two or more, so the storm runs this view on the same
machine, in the same run, and prints the API's rate as a share of it.

What the view does, and nothing else: one request is one booking of dose 1 by the citizen
whose id is the bearer "token", in one transaction of two statements (take a place in the
slot if one is left, insert the appointment), answered 201 with the appointment's id and
reference, or 409 when the slot is full. No middleware, no authentication, no eligibility
rules, no idempotency, no rate limit, no credential, no confirmation: exactly what the
API adds on top. It uses the project's own database settings (prepared statements and the
connection pool included) and its tables.

BARE_VIEW chooses how the view writes the two statements:

- `orm` (the default): through the ORM, as the view the target was set against. Its
  models name only the columns the booking writes, so it is a little lighter than the
  same view on the project's models would be.
- `sql`: the same statements written by hand, the cheapest form of the transaction.

    BARE_VIEW=orm gunicorn bench.reference_app:application
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import ClassVar

from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from config import env  # noqa: E402

# It books for whoever the request names, unauthenticated: it must never see a real database.
_DATABASE = env.database(os.environ.get("DATABASE_URL"), var_dir=REPO_ROOT / "var")
if not str(_DATABASE["NAME"]).endswith("_httpstorm"):
    raise SystemExit("bench/reference_app.py serves only the HTTP storm's throwaway database.")

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-not-a-secret"),
    ALLOWED_HOSTS=env.env_list("ALLOWED_HOSTS", default=["127.0.0.1"]),
    DATABASES={"default": _DATABASE},
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=["bench"],  # the app of the ORM view's models, below
    USE_TZ=True,
)

import django  # noqa: E402

django.setup()

from django.db import connection, models, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from vaxbook.bookings.references import new_reference  # noqa: E402

_TAKE_PLACE = """
    UPDATE centres_slot SET booked = booked + 1
     WHERE id = %s AND booked < capacity AND is_open AND starts_at > %s
"""
_INSERT_APPOINTMENT = """
    INSERT INTO bookings_appointment
           (id, person_id, slot_id, dose_number, status, reference, created_at,
            cancellation_reason)
    VALUES (%s, %s, %s, 1, 'booked', %s, %s, '')
"""


def _booking(request: HttpRequest) -> tuple[int, int]:
    """The citizen and the slot a request names."""
    person_id = int(request.headers["Authorization"].removeprefix("Bearer "))
    return person_id, int(json.loads(request.body)["slot_id"])


def _booked(appointment_id: uuid.UUID, reference: str) -> HttpResponse:
    return JsonResponse({"id": str(appointment_id), "reference": reference}, status=201)


def _full() -> HttpResponse:
    return JsonResponse({"code": "slot_full"}, status=409)


@csrf_exempt
def book_with_sql(request: HttpRequest) -> HttpResponse:
    person_id, slot_id = _booking(request)
    now = timezone.now()
    appointment_id, reference = uuid.uuid4(), new_reference()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TAKE_PLACE, [slot_id, now])
        if cursor.rowcount != 1:
            return _full()
        cursor.execute(_INSERT_APPOINTMENT, [appointment_id, person_id, slot_id, reference, now])
    return _booked(appointment_id, reference)


class Slot(models.Model):  # noqa: DJ008 (never shown)
    booked = models.IntegerField()
    capacity = models.IntegerField()
    is_open = models.BooleanField()
    starts_at = models.DateTimeField()
    # Declared: the type checker's settings do not install "bench".
    objects: ClassVar[models.Manager[Slot]] = models.Manager()

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "centres_slot"


class Appointment(models.Model):  # noqa: DJ008 (never shown)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    person_id = models.BigIntegerField()
    slot_id = models.BigIntegerField()
    dose_number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, default="booked")
    reference = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    cancellation_reason = models.CharField(max_length=200, default="")
    objects: ClassVar[models.Manager[Appointment]] = models.Manager()

    class Meta:
        app_label = "bench"
        managed = False
        db_table = "bookings_appointment"


@csrf_exempt
def book_with_orm(request: HttpRequest) -> HttpResponse:
    person_id, slot_id = _booking(request)
    now = timezone.now()
    with transaction.atomic():
        taken = Slot.objects.filter(
            pk=slot_id, booked__lt=F("capacity"), is_open=True, starts_at__gt=now
        ).update(booked=F("booked") + 1)
        if not taken:
            return _full()
        appointment = Appointment.objects.create(
            person_id=person_id,
            slot_id=slot_id,
            dose_number=1,
            reference=new_reference(),
            created_at=now,
        )
    return _booked(appointment.id, appointment.reference)


BARE_VIEWS = {"orm": book_with_orm, "sql": book_with_sql}


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("api/v1/appointments", BARE_VIEWS[os.environ.get("BARE_VIEW", "orm")]),
    path("healthz", healthz),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
