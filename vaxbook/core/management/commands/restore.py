"""Restore a backup made by `manage.py backup` into the database (vaxbook.core.backups;
docs/backups.md). Checks the file first; refuses a database that already has tables unless
--force; writes all of the backup or nothing; says what it did."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vaxbook.core import backups


class Command(BaseCommand):
    help = "Restore a backup into the database (empty unless --force); see docs/backups.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="The backup file (from manage.py backup).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace what a database that is not empty holds with the backup.",
        )
        parser.add_argument("--database", default="default", help="The database alias.")
        parser.add_argument(
            "--pg-bindir",
            type=Path,
            help="The directory of pg_restore, when it is not where the packages put it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            database = backups.Database.configured(options["database"])
            restored = backups.restore(
                path=options["backup"],
                database=database,
                force=options["force"],
                pg_bindir=options["pg_bindir"],
            )
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        if restored.counts_backed_up is None:
            checked = "no manifest next to it: checked that it reads to the end"
        else:
            checked = "matches its manifest's SHA-256 and reads to the end"
        self.stdout.write(f"Checked {restored.path}: {checked}.")
        replaced = (
            f"replacing its {restored.tables_before} tables"
            if restored.tables_before
            else "which was empty"
        )
        self.stdout.write(
            self.style.SUCCESS(f"Restored it into the {restored.database}, {replaced}.")
        )
        self.stdout.write(f"  it now holds {backups.describe_counts(restored.counts)}")
        if restored.counts_backed_up is not None:
            if restored.counts_backed_up == restored.counts:
                self.stdout.write("  the same rows as counted when the backup was made.")
            else:
                self.stdout.write(
                    self.style.WARNING(
                        "  NOT the rows counted when the backup was made: "
                        + backups.describe_counts(restored.counts_backed_up)
                    )
                )
        self.stdout.write(
            "Next: `manage.py migrate` if this code is newer than the backup; clear the shared"
            " cache (REDIS_URL) before opening, or cached availability may show places as"
            " they were before the restore for up to 5 minutes."
        )
