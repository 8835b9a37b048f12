"""Delete expired API tokens and idempotency records (older than 24 hours).

Neither is needed once expired (an expired token is refused, an expired key no longer
replays), so this only keeps the tables small: run it daily, e.g. from a timer next to
sweep_messages.
"""

from typing import Any

from django.core.management.base import BaseCommand

from vaxbook.api import idempotency, tokens


class Command(BaseCommand):
    help = "Delete expired API tokens and Idempotency-Key records."

    def handle(self, *args: Any, **options: Any) -> None:
        expired_tokens = tokens.purge_expired()
        expired_keys = idempotency.purge_expired()
        self.stdout.write(
            f"Deleted {expired_tokens} expired token(s) and {expired_keys} idempotency record(s)."
        )
