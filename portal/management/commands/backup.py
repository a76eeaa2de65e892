from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from portal import backups


class Command(BaseCommand):
    help = "Write a consistent backup of the database (pg_dump on PostgreSQL, SQLite's backup API)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="file or folder to write to (default: BACKUP_DIR/psm-YYYYmmdd-HHMMSS.dump|.sqlite3)",
        )

    def handle(self, *args, output, **options):
        try:
            path = backups.backup(output)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("Sauvegarde écrite : %(file)s (%(size)s).")
            % {"file": path, "size": filesizeformat(path.stat().st_size)}
        )
