"""Make a new signing key active and retire the old one. Tokens and certificates signed by
the old key keep verifying: it stays published, without its private part, until revoked."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vaxbook.credentials import keys


class Command(BaseCommand):
    help = "Rotate the signing key of confirmations and certificates (file store)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotation = keys.rotate(now=timezone.now())
        except keys.SigningKeysError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"New active key: {rotation.new.kid}"))
        for info in rotation.retired:
            self.stdout.write(f"Retired (its private part deleted): {info.kid}")
        self.stdout.write("Published in /.well-known/jwks.json:")
        for info in rotation.published:
            self.stdout.write(f"  {info.kid}  {'active' if info.is_active else 'retired'}")
