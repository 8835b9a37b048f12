"""Delete expired API tokens and idempotency records (older than 24 hours).

Neither is needed once expired (an expired token is refused, an expired key no longer
replays). The worker deletes them every hour with the other retention rules
(vaxbook.accounts.retention, `manage.py apply_retention`); this runs only the API's part.
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
