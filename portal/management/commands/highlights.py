import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from portal import exports
from portal.highlights import UnknownPeriod, UnknownProgramme, compute, find_period


class Command(BaseCommand):
    help = "Print or write the highlights of a programme's period (JSON, CSV or XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("programme", help="programme code, e.g. PSM-NUM")
        parser.add_argument("period", help="period label, e.g. 2019-2020")
        parser.add_argument("--format", choices=exports.FORMATS, default="json")
        parser.add_argument("--output", help="file to write (default: standard output)")
        parser.add_argument(
            "--provisional",
            action="store_true",
            help="also count submitted reports (the output says so)",
        )

    def handle(self, *args, programme, period, format, output, provisional, **options):
        try:
            found = find_period(programme, period)
        except UnknownProgramme as error:
            known = ", ".join(error.args[1]) or _("aucun")
            raise CommandError(
                _("Programme inconnu « %(code)s ». Programmes existants : %(known)s.")
                % {"code": programme, "known": known}
            ) from None
        except UnknownPeriod as error:
            known = ", ".join(error.args[1]) or _("aucune")
            raise CommandError(
                _(
                    "Période inconnue « %(label)s » du programme %(code)s. Périodes existantes : %(known)s."
                )
                % {"label": period, "code": programme, "known": known}
            ) from None
        figures = compute(found, provisional=provisional)
        if format == "xlsx":
            # Staff's workbook: the figures, then the rows behind them (approved rows: with
            # --provisional the sheets would not add up to the figures, so they are left out).
            content = exports.to_xlsx(figures, drilldowns_of=None if provisional else found)
        else:
            content = exports.render(figures, format)
        if output:
            mode = "wb" if isinstance(content, bytes) else "w"
            try:
                with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
                    f.write(content)
            except OSError as error:
                raise CommandError(
                    _("Impossible d'écrire %(file)s : %(error)s.")
                    % {"file": output, "error": error.strerror}
                ) from None
        elif isinstance(content, bytes):
            if sys.stdout.isatty():
                raise CommandError(_("Le format XLSX est binaire : utilisez --output FICHIER."))
            self.stdout.flush()
            sys.stdout.buffer.write(content)
        else:
            self.stdout.write(content, ending="" if content.endswith("\n") else "\n")
