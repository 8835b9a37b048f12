from typing import Any

from django.core.management.base import BaseCommand

from vaxbook.notifications.services import sweep_messages


class Command(BaseCommand):
    help = (
        "Enqueue delivery again for messages no task covers any more: stuck in `sending` "
        "past their lease (a worker died) or long overdue in `pending`. Safe to run at any "
        "time and as often as you like (e.g. every 5 minutes from a timer)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stuck, orphaned = sweep_messages()
        if options["verbosity"] >= 1:
            self.stdout.write(f"{stuck} stuck and {orphaned} orphaned message(s) enqueued again.")
