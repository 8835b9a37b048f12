"""Make a new signing key active and retire the old one. Tokens signed by the old key keep
verifying: it stays published until every token it can have signed has expired."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vaxbook.credentials import keys


class Command(BaseCommand):
    help = "Rotate the confirmation signing key (file store: SIGNING_KEYS_PATH)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotation = keys.rotate(now=timezone.now())
        except keys.SigningKeysError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"New active key: {rotation.new.kid}"))
        for info in rotation.retired:
            self.stdout.write(f"Retired: {info.kid}")
        for info in rotation.removed:
            self.stdout.write(f"Removed (its publication window had closed): {info.kid}")
        self.stdout.write("Published in /.well-known/jwks.json:")
        for info in rotation.published:
            self.stdout.write(f"  {info.kid}  {_status(info)}")


def _status(info: keys.KeyInfo) -> str:
    if info.published_until is None:
        return "active"
    until = info.published_until.astimezone(dt.UTC)
    return f"retired, published until {until:%Y-%m-%d %H:%M} UTC"
