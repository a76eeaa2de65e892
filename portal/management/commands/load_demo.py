from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal import demo


class Command(BaseCommand):
    help = "Charge les données de démonstration : deux programmes fictifs et deux comptes."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="charger même quand DEBUG est désactivé (jamais sur une base de production)",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="ne rien charger si la démo est déjà là (make run) ; afficher les comptes",
        )

    def handle(self, *args, force, once, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG est désactivé : ceci ressemble à une installation de production. "
                "Les données de démonstration ajoutent des comptes aux mots de passe connus ; "
                "relancez avec --force pour les charger quand même."
            )
        if once and demo.is_loaded():
            self.stdout.write("La démonstration est déjà chargée (make demo la rafraîchit).")
            self.print_accounts(demo.ACCOUNTS)
            return
        try:
            summary = demo.load()
        except demo.DemoDataError as error:
            details = "\n".join(f"  {e}" for e in error.errors)
            raise CommandError(
                f"Données de démonstration refusées par l'import « {error.resource} » "
                f"(rien n'a été chargé) :\n{details}"
            ) from None

        self.stdout.write("Données de démonstration chargées :")
        for outcome in summary.outcomes:
            self.stdout.write(
                f"  {outcome.resource} : {outcome.rows} lignes ({outcome.new} nouvelles, "
                f"{outcome.updated} modifiées, {outcome.unchanged} inchangées)"
            )
        self.print_accounts(summary.accounts)

    def print_accounts(self, accounts):
        self.stdout.write("Comptes de démonstration (mots de passe connus de tous) :")
        for account in accounts:
            self.stdout.write(
                f"  identifiant « {account.username} », mot de passe « {account.password} » "
                f"({account.description})"
            )
