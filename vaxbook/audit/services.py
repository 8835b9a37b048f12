"""The one writer of the audit log."""

import uuid
from typing import Any

from vaxbook.accounts.models import User
from vaxbook.audit.models import AuditAction, AuditEvent


def record_event(
    *,
    actor: User | None,
    action: AuditAction,
    centre_id: int | None,
    appointment_id: uuid.UUID | None = None,
    outcome: str = "",
    client_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row to the audit log.

    Call it inside the transaction of the change it records, so the row exists exactly
    when the change does (a rolled-back change leaves no audit row, and no change is
    committed without one). `detail` must be JSON-serialisable."""
    AuditEvent.objects.create(
        actor=actor,
        action=action,
        centre_id=centre_id,
        appointment_id=appointment_id,
        outcome=outcome,
        client_address=client_address or None,
        detail=detail or {},
    )
