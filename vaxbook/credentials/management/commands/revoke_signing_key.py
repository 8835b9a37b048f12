"""Withdraw a retired signing key that leaked: it leaves the JWK Set, and every confirmation
and certificate it signed stops verifying. Their holders get fresh ones from their pages."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vaxbook.credentials import keys


class Command(BaseCommand):
    help = "Remove a retired signing key from the store and the JWK Set (after a leak)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kid", help="the key's id, as rotate_signing_key printed it")

    def handle(self, *args: Any, kid: str, **options: Any) -> None:
        try:
            info = keys.revoke(kid)
        except keys.SigningKeysError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Revoked: {info.kid}"))
        self.stdout.write(
            "Confirmations of appointments still to come that it signed must be sent again."
        )
