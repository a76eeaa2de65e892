from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.imports import ImportFileError, import_file
from portal.resources import RESOURCES


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of the data contract (DESIGN.md), all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("resource", help="one of: " + ", ".join(RESOURCES))
        parser.add_argument("file", help="a CSV (UTF-8) or XLSX file with the resource's columns")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report, change nothing"
        )

    def handle(self, *args, resource, file, dry_run, **options):
        try:
            outcome = import_file(resource, file, dry_run=dry_run)
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        if outcome.errors:
            for error in outcome.errors:
                self.stderr.write(str(error))
            raise CommandError(
                ngettext(
                    "%(count)s erreur dans %(file)s : rien n'a été importé.",
                    "%(count)s erreurs dans %(file)s : rien n'a été importé.",
                    len(outcome.errors),
                )
                % {"count": len(outcome.errors), "file": file},
                returncode=1,
            )
        message = (
            _(
                "%(resource)s : %(rows)s lignes valides (essai : rien n'a été enregistré) ; "
                "%(new)s nouvelles, %(updated)s modifiées, %(unchanged)s inchangées."
            )
            if dry_run
            else _(
                "%(resource)s : %(rows)s lignes importées ; "
                "%(new)s nouvelles, %(updated)s modifiées, %(unchanged)s inchangées."
            )
        )
        self.stdout.write(
            message
            % {
                "resource": resource,
                "rows": outcome.rows,
                "new": outcome.new,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
            }
        )
