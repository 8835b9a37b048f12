"""Retention: what is past its purpose is anonymised or deleted. docs/privacy.md is the
register (what is kept, why, for how long); these are its rules, in one place. The worker
applies them every hour (`apply_retention_rules`, vaxbook.accounts.tasks, which schedules
its own next run); `manage.py apply_retention` applies them by hand.

The periods are settings (RETENTION_*_DAYS, config/settings.py), counted back from now:

- Cancelled and missed appointments, RETENTION_APPOINTMENT_DAYS after their slot ended, are
  pseudonymised: moved to an anonymous person of the same year of birth (so reports by age
  stay possible) and stripped of the cancellation reason. The row stays, without a name, for
  the centres' reports of that day (cancellations, no-shows). Appointments with a dose given
  are never touched here: the vaccination register must keep them by law, and the person
  needs them (second dose, certificate); they lose their name only when the person erases
  their account (vaxbook.accounts.data_rights).
- The outbox rows of an appointment (vaxbook.notifications.models.Message: what was sent
  when, the centre's cancellation reason that went into the text, the provider's last
  error, which may quote the address), RETENTION_MESSAGE_DAYS after its slot ended, are
  deleted: nothing is sent about an appointment that long past, so "never twice" needs
  them no more. Messages still pending or being sent are left to the worker.
- The client address of an audit event, RETENTION_AUDIT_ADDRESS_DAYS after it, is erased
  (the one change the audit log allows: vaxbook.audit.models).
- Finished background tasks (django-tasks-db rows: their arguments name email addresses,
  e.g. a password reset's), RETENTION_TASK_DAYS after they finished, are deleted.
- Expired API tokens and idempotency records (their own lifetimes: vaxbook.api.tokens,
  vaxbook.api.idempotency) and expired sessions are deleted.

Each rule works in batches of BATCH rows, each its own short transaction, so a first run on
a large table never holds its locks for long; every rule can run again at any time.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import QuerySet
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from vaxbook.accounts.models import Citizen, User
from vaxbook.api import idempotency, tokens
from vaxbook.audit.models import AuditEvent
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.notifications.models import Message, MessageStatus

logger = logging.getLogger(__name__)

BATCH = 1000
ANONYMOUS_NAME = "[anonymised]"
# .invalid can never be a real address (RFC 2606): no one can register with it.
ANONYMOUS_DOMAIN = "anonymised.invalid"


@dataclass(frozen=True)
class Applied:
    """What one run changed: rows of each kind."""

    appointments_pseudonymised: int = 0
    messages_deleted: int = 0
    audit_addresses_erased: int = 0
    tasks_deleted: int = 0
    api_tokens_deleted: int = 0
    idempotency_records_deleted: int = 0
    expired_sessions_cleared: bool = False

    def __str__(self) -> str:
        return ", ".join(f"{field.name}={getattr(self, field.name)}" for field in fields(self))


def apply_retention(*, now: dt.datetime | None = None) -> Applied:
    """Apply every rule of the module docstring as of `now`."""
    now = now or timezone.now()
    # Every period read (and checked) before any rule runs: a bad one changes nothing.
    appointments, messages, audit_addresses, finished_tasks = (
        now - period(name)
        for name in (
            "RETENTION_APPOINTMENT_DAYS",
            "RETENTION_MESSAGE_DAYS",
            "RETENTION_AUDIT_ADDRESS_DAYS",
            "RETENTION_TASK_DAYS",
        )
    )
    applied = Applied(
        appointments_pseudonymised=pseudonymise_past_appointments(before=appointments),
        messages_deleted=delete_past_messages(before=messages),
        audit_addresses_erased=erase_audit_addresses(before=audit_addresses),
        tasks_deleted=delete_finished_tasks(before=finished_tasks),
        api_tokens_deleted=tokens.purge_expired(now=now),
        idempotency_records_deleted=idempotency.purge_expired(now=now),
        expired_sessions_cleared=_clear_expired_sessions(),
    )
    logger.info("Retention applied: %s.", applied)
    return applied


def period(name: str) -> dt.timedelta:
    days = getattr(settings, name)
    if not isinstance(days, int) or days < 1:
        # 0 would erase today's data: refuse a typo rather than act on it.
        raise ImproperlyConfigured(f"{name} is a number of days, at least 1, not {days!r}.")
    return dt.timedelta(days=days)


def pseudonymise_past_appointments(*, before: dt.datetime) -> int:
    """Cancelled and missed appointments whose slot ended before `before`, still attached to
    their person: move each to the anonymous person of its person's year of birth."""
    candidates = (
        Appointment.objects.filter(
            status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW],
            slot__ends_at__lt=before,
        )
        .exclude(person__user__email__endswith=f"@{ANONYMOUS_DOMAIN}")
        .order_by("pk")
    )

    def one_batch(ids: list[Any]) -> int:
        by_year: dict[int, list[Any]] = defaultdict(list)
        for pk, born in Appointment.objects.filter(pk__in=ids).values_list(
            "pk", "person__date_of_birth"
        ):
            by_year[born.year].append(pk)
        moved = 0
        for year, pks in by_year.items():
            # Cancelled and missed appointments are final: no service changes them again,
            # so moving them races with nothing. (The one-live-appointment constraint does
            # not cover them, so one person can hold any number.)
            moved += Appointment.objects.filter(pk__in=pks).update(
                person=anonymous_person(year), cancellation_reason=""
            )
        return moved

    return _in_batches(candidates, one_batch)


def anonymous_person(year: int) -> Citizen:
    """The person, named by no one, that pseudonymised appointments of people born in `year`
    belong to: an account that cannot sign in."""
    user, _created = User.objects.get_or_create(
        email=f"born-{year}@{ANONYMOUS_DOMAIN}",
        defaults={"is_active": False, "password": make_password(None)},
    )
    if user.is_active or user.has_usable_password():
        # Someone registered the address: never hand them other people's appointments.
        raise ImproperlyConfigured(f"{user.email} is a real account; deactivate it first.")
    person, _created = Citizen.objects.get_or_create(
        user=user,
        defaults={"full_name": ANONYMOUS_NAME, "date_of_birth": dt.date(year, 1, 1)},
    )
    return person


def delete_past_messages(*, before: dt.datetime) -> int:
    candidates = (
        Message.objects.filter(appointment__slot__ends_at__lt=before)
        .exclude(status__in=[MessageStatus.PENDING, MessageStatus.SENDING])
        .order_by("pk")
    )
    return _in_batches(candidates, lambda ids: Message.objects.filter(pk__in=ids).delete()[0])


def erase_audit_addresses(*, before: dt.datetime) -> int:
    candidates = AuditEvent.objects.filter(at__lt=before, client_address__isnull=False).order_by(
        "pk"
    )
    return _in_batches(
        candidates, lambda ids: AuditEvent.objects.filter(pk__in=ids).erase_client_addresses()
    )


def delete_finished_tasks(*, before: dt.datetime) -> int:
    candidates = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=before,
    ).order_by("pk")
    return _in_batches(candidates, lambda ids: DBTaskResult.objects.filter(pk__in=ids).delete()[0])


def _in_batches(candidates: QuerySet[Any], apply: Callable[[list[Any]], int]) -> int:
    """Apply `apply` to the candidates' ids, BATCH at a time, each batch in a transaction of
    its own, until none is left (or a batch changes nothing, so a row some rule cannot
    change never loops forever)."""
    done = 0
    while ids := list(candidates.values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            changed = apply(ids)
        done += changed
        if changed == 0:
            break
    return done


def _clear_expired_sessions() -> bool:
    """Expired sessions (Django's own rule), where the session store keeps them."""
    engine = import_module(settings.SESSION_ENGINE)
    try:
        engine.SessionStore.clear_expired()
    except NotImplementedError:  # a store that expires its own keys (cache, cookies)
        return False
    return True
