import argparse
import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import ngettext

from portal import reminders


def iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {value} » n'est pas une date AAAA-MM-JJ.") from None


def describe(due):
    """One period in an output line: `PSM-NUM 2024-2025 (date limite 2025-05-31, dans 7 j, brouillon)`."""
    when = f"en retard de {due.days_overdue} j" if due.overdue else f"dans {due.days_left} j"
    status = "aucun rapport" if due.report is None else due.report.get_status_display()
    return f"{due.period} (date limite {due.deadline.isoformat()}, {when}, {status})"


class Command(BaseCommand):
    help = "E-mail today's reminders to partners whose report is missing, draft or returned (cron)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            type=iso_date,
            help="the day to act as, YYYY-MM-DD (tests, backfill); default: today",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print who would get what; send and record nothing",
        )

    def handle(self, *args, today, dry_run, **options):
        today = today or timezone.localdate()
        outcomes = reminders.send_reminders(today=today, dry_run=dry_run)
        for outcome in outcomes:
            partner = outcome.reminder.partner
            periods = " ; ".join(describe(due) for due in outcome.reminder.reports)
            recipients = ", ".join(outcome.recipients)
            if outcome.result == reminders.SENT:
                self.stdout.write(f"{partner.code} : rappel envoyé à {recipients} — {periods}")
            elif outcome.result == reminders.WOULD_SEND:
                self.stdout.write(
                    f"{partner.code} : recevrait un rappel à {recipients} — {periods}"
                )
            elif outcome.result == reminders.NO_RECIPIENTS:
                self.stdout.write(
                    f"{partner.code} : aucun utilisateur actif avec une adresse courriel, "
                    f"rien n'est envoyé — {periods}"
                )
            elif outcome.result == reminders.ALREADY_SENT:
                self.stdout.write(
                    f"{partner.code} : déjà relancé aujourd'hui par une autre exécution"
                )
            else:
                self.stderr.write(
                    f"{partner.code} : échec de l'envoi ({outcome.error}), "
                    f"rien n'est enregistré — {periods}"
                )
        self.stdout.write(self.summary(outcomes, today, dry_run))
        failed = sum(o.result == reminders.FAILED for o in outcomes)
        if failed:
            raise CommandError(
                ngettext(
                    "%(count)s rappel n'a pas pu être envoyé.",
                    "%(count)s rappels n'ont pas pu être envoyés.",
                    failed,
                )
                % {"count": failed},
                returncode=1,
            )

    def summary(self, outcomes, today, dry_run):
        def count(result):
            return sum(o.result == result for o in outcomes)

        if dry_run:
            done = count(reminders.WOULD_SEND)
            message = ngettext(
                "Essai du %(today)s : %(count)s rappel serait envoyé",
                "Essai du %(today)s : %(count)s rappels seraient envoyés",
                done,
            )
        else:
            done = count(reminders.SENT)
            message = ngettext(
                "%(today)s : %(count)s rappel envoyé",
                "%(today)s : %(count)s rappels envoyés",
                done,
            )
        parts = [message % {"today": today.isoformat(), "count": done}]
        without_email = count(reminders.NO_RECIPIENTS)
        if without_email:
            parts.append(
                ngettext(
                    "%(count)s partenaire sans adresse courriel",
                    "%(count)s partenaires sans adresse courriel",
                    without_email,
                )
                % {"count": without_email}
            )
        failed = count(reminders.FAILED)
        if failed:
            parts.append(
                ngettext("%(count)s échec", "%(count)s échecs", failed) % {"count": failed}
            )
        ending = " (rien n'a été envoyé ni enregistré)." if dry_run else "."
        return " ; ".join(parts) + ending
