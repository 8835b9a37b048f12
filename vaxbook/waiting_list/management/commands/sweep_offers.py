from typing import Any

from django.core.management.base import BaseCommand

from vaxbook.waiting_list.services import expire_offers


class Command(BaseCommand):
    help = (
        "Release waiting-list offers held past their expiry (their expiry task was lost: a "
        "worker that died, a database outage) and offer the places to the next in line. "
        "Safe to run at any time and as often as you like (e.g. every five minutes)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        released = expire_offers()
        if options["verbosity"] >= 1:
            self.stdout.write(f"{released} expired offer(s) released.")
