"""Print the one-time link with which a staff member or administrator chooses a password and
adds an authenticator app: for an administrator made with `createsuperuser`, or anyone who
lost their phone (their old authenticator is removed first, so the link works). Whoever
runs it holds the server, so the link is given to them rather than emailed."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from vaxbook.accounts.enrolment import invitation_url
from vaxbook.accounts.models import User
from vaxbook.accounts.staff import is_staff_member


class Command(BaseCommand):
    help = "Print a one-time link to choose a password and add an authenticator app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="remove the account's authenticator first (a lost or replaced phone)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip(), is_active=True).first()
        if user is None or not is_staff_member(user):
            raise CommandError("No active staff account or administrator has this address.")
        devices = TOTPDevice.objects.devices_for_user(user, confirmed=True)
        if devices.exists():
            if not options["replace"]:
                raise CommandError(
                    "This account has an authenticator already: add --replace to remove it."
                )
            devices.delete()
        self.stdout.write(invitation_url(user))
