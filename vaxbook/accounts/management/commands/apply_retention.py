"""Apply the retention rules now (vaxbook.accounts.retention); the worker applies them every
hour on its own."""

from typing import Any

from django.core.management.base import BaseCommand

from vaxbook.accounts.retention import apply_retention


class Command(BaseCommand):
    help = (
        "Anonymise or delete what is past its retention period (docs/privacy.md): "
        "past cancelled and missed appointments, messages, audit addresses, finished "
        "tasks, expired API tokens, idempotency records and sessions."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        applied = apply_retention()
        self.stdout.write(
            f"Pseudonymised {applied.appointments_pseudonymised} appointment(s); deleted "
            f"{applied.messages_deleted} message(s), {applied.tasks_deleted} finished task(s), "
            f"{applied.api_tokens_deleted} API token(s) and "
            f"{applied.idempotency_records_deleted} idempotency record(s); erased "
            f"{applied.audit_addresses_erased} audit address(es)."
        )
