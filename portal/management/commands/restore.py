from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from portal import backups


class Command(BaseCommand):
    help = "Replace the whole database with a backup of `manage.py backup`, then migrate."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a backup file (.dump on PostgreSQL, .sqlite3 on SQLite)")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_true",
            help="do not ask to type the database's name to confirm",
        )

    def handle(self, *args, path, noinput, **options):
        try:
            # A bad file is refused before anyone is asked to confirm anything.
            backups.check(path)
        except backups.BackupError as error:
            raise CommandError(
                _("%(error)s La base de données n'a pas été modifiée.") % {"error": error}
            ) from None
        if not noinput:
            self.confirm(path)
        try:
            restored = backups.restore(path)
        except backups.BackupError as error:
            raise CommandError(
                _("%(error)s La base de données n'a pas été modifiée.") % {"error": error}
            ) from None
        self.stdout.write(
            _("Base de données « %(name)s » (%(kind)s) remplacée par la sauvegarde %(file)s.")
            % {
                "name": backups.database_name(),
                "kind": backups.KIND_NAMES[restored.kind],
                "file": restored.path,
            }
        )
        if restored.dropped_tables:
            self.stdout.write(
                _("Tables plus récentes que la sauvegarde, refaites par migrate : %(tables)s.")
                % {"tables": ", ".join(restored.dropped_tables)}
            )
        # A backup of an older release comes up to date.
        self.stdout.write(_("Mise à jour du schéma (migrate) :"))
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
        self.stdout.write(_("Restauration terminée."))

    def confirm(self, path):
        name = backups.database_name()
        self.stdout.write(
            _(
                "Tout le contenu de la base de données « %(name)s » sera remplacé par la "
                "sauvegarde %(file)s."
            )
            % {"name": name, "file": path}
        )
        try:
            answer = input(_("Tapez le nom de la base de données pour confirmer : "))
        except EOFError:
            answer = ""
        if answer.strip() != name:
            raise CommandError(
                _(
                    "Restauration annulée : rien n'a été modifié (sans terminal, "
                    "utilisez --noinput)."
                )
            )
