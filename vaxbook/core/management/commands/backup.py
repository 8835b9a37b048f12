"""Write a consistent backup of the database while the service runs (vaxbook.core.backups;
docs/backups.md): pg_dump's custom format of one snapshot on PostgreSQL, SQLite's online
backup API on SQLite. Prints where it went and the rows it holds."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from vaxbook.core import backups


class Command(BaseCommand):
    help = "Back up the database (consistent while the service runs); see docs/backups.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="The backup file to write (it must not exist). Default: a new file named"
            " after the time in BACKUP_DIR.",
        )
        parser.add_argument("--database", default="default", help="The database alias.")
        parser.add_argument(
            "--pg-bindir",
            type=Path,
            help="The directory of pg_dump, when it is not where the packages put it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        try:
            database = backups.Database.configured(options["database"])
            path = options["output"] or backups.default_path(database, now=now)
            backup = backups.back_up(
                database=database, path=path, now=now, pg_bindir=options["pg_bindir"]
            )
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        manifest = backup.manifest
        self.stdout.write(
            self.style.SUCCESS(f"Backed up the {manifest.database} as of {manifest.created_at}")
        )
        self.stdout.write(f"  to {backup.path} ({manifest.size:,} bytes, readable by its owner)")
        self.stdout.write(f"  manifest {backup.manifest_path} (SHA-256 {manifest.sha256})")
        self.stdout.write(f"  holding {backups.describe_counts(manifest.counts)}")
