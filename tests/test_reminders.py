"""Reminders: who is e-mailed on which day, once a day, and what the e-mail says."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import reminders
from portal.models import Extension, PeriodState, Reminder, ReminderKind, ReportStatus
from tests import factories as f

pytestmark = pytest.mark.django_db
D = datetime.date
S = ReportStatus
DEADLINE = D(2025, 5, 31)  # the factories' deadline of 2024-2025


def days_before(days):
    return DEADLINE - datetime.timedelta(days=days)


def days_after(days):
    return DEADLINE + datetime.timedelta(days=days)


def add_user(partner, email, **kwargs):
    user = get_user_model().objects.create_user(
        email.split("@")[0] + str(partner.pk), email=email, **kwargs
    )
    partner.users.add(user)
    return user


def run(today, *args):
    out = io.StringIO()
    call_command("send_reminders", "--today", today.isoformat(), *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def world():
    """ALPHA leads a project in progress, BETA takes part in it; the outsider GAMMA does not."""
    prog = f.programme()
    period = f.period(prog, "2024-2025")
    alpha, beta, gamma = f.partner("ALPHA"), f.partner("BETA"), f.partner("GAMMA")
    f.project(prog, "P1", alpha, participants=[beta])
    for partner in (alpha, beta, gamma):
        add_user(partner, f"{partner.code.lower()}@example.org")
    f.report(alpha, period, S.DRAFT)
    f.report(beta, period, S.APPROVED)
    return {"programme": prog, "period": period, "alpha": alpha, "beta": beta, "gamma": gamma}


def recipients_of_outbox():
    return [message.to for message in mail.outbox]


class WhichDayTests:
    @pytest.mark.parametrize("days", [30, 7, 1])
    def test_it_reminds_on_the_configured_days_before_the_deadline(self, world, days):
        run(days_before(days))

        assert recipients_of_outbox() == [["alpha@example.org"]]
        reminder = Reminder.objects.get()
        assert (reminder.partner, reminder.period) == (world["alpha"], world["period"])
        assert (reminder.kind, reminder.days, reminder.sent_on) == (
            ReminderKind.BEFORE,
            days,
            days_before(days),
        )
        assert reminder.recipients == "alpha@example.org"

    @pytest.mark.parametrize("days", [31, 29, 8, 6, 2, 0])
    def test_it_stays_silent_on_other_days_before(self, world, days):
        run(days_before(days))

        assert mail.outbox == []
        assert not Reminder.objects.exists()

    @pytest.mark.parametrize("days", [1, 7, 14, 30])
    def test_it_reminds_on_the_configured_days_overdue(self, world, days):
        run(days_after(days))

        assert recipients_of_outbox() == [["alpha@example.org"]]
        reminder = Reminder.objects.get()
        assert (reminder.kind, reminder.days) == (ReminderKind.OVERDUE, -days)

    @pytest.mark.parametrize("days", [2, 8, 15, 31, 60])
    def test_it_stays_silent_on_other_days_overdue(self, world, days):
        run(days_after(days))

        assert mail.outbox == []

    def test_the_days_come_from_the_settings(self, world, settings):
        settings.REMINDER_DAYS_BEFORE = ["3", "0"]  # as env_list would give them
        settings.REMINDER_DAYS_OVERDUE = [2]

        for today in (days_before(7), days_before(3), DEADLINE, days_after(1), days_after(2)):
            run(today)

        assert [r.days for r in Reminder.objects.order_by("sent_on")] == [3, 0, -2]

    def test_a_partner_extension_moves_its_dates_and_only_its_own(self, world):
        # GAMMA joins the project so that two partners are due on the period's own dates.
        world["gamma"].participations.create(
            project=world["alpha"].led_projects.get(), role="participant"
        )
        Extension.objects.create(
            period=world["period"],
            partner=world["alpha"],
            new_deadline=D(2025, 6, 30),
            reason="Déménagement",
        )

        run(days_before(7))
        assert recipients_of_outbox() == [["gamma@example.org"]]

        mail.outbox.clear()
        run(D(2025, 6, 23))
        assert recipients_of_outbox() == [["alpha@example.org"]]

    def test_a_period_extension_moves_everyone_s_dates(self, world):
        Extension.objects.create(
            period=world["period"], new_deadline=D(2025, 8, 31), reason="COVID-19"
        )

        run(days_after(1))
        assert mail.outbox == []

        run(D(2025, 8, 24))
        assert recipients_of_outbox() == [["alpha@example.org"]]
        assert "(date prolongée : " in mail.outbox[0].body


class WhoTests:
    @pytest.mark.parametrize("status", [S.DRAFT, S.RETURNED])
    def test_a_report_needing_action_is_reminded(self, world, status):
        world["alpha"].reports.update(status=status, comment="Montants à revoir")

        run(days_before(7))

        assert recipients_of_outbox() == [["alpha@example.org"]]

    @pytest.mark.parametrize("status", [S.SUBMITTED, S.APPROVED])
    def test_a_submitted_or_approved_report_is_not_reminded(self, world, status):
        world["alpha"].reports.update(status=status)

        run(days_before(7))

        assert mail.outbox == []
        assert not Reminder.objects.exists()

    def test_a_missing_report_is_reminded(self, world):
        world["beta"].reports.all().delete()

        run(days_before(7))

        assert sorted(recipients_of_outbox()) == [["alpha@example.org"], ["beta@example.org"]]
        assert "État du rapport : pas encore commencé" in mail.outbox[1].body

    def test_partners_outside_projects_in_progress_are_not_reminded(self, world):
        # GAMMA leads a planned project and has a draft: neither makes it a participant.
        f.project(world["programme"], "P2", world["gamma"], status="planned")
        f.report(world["gamma"], world["period"], S.DRAFT)

        run(days_before(7))

        assert recipients_of_outbox() == [["alpha@example.org"]]

    @pytest.mark.parametrize("state", [PeriodState.CLOSED, PeriodState.PUBLISHED])
    def test_closed_and_published_periods_are_skipped(self, world, state):
        world["period"].state = state
        world["period"].save()

        run(days_before(7))

        assert mail.outbox == []


class OncePerDayTests:
    def test_a_second_run_the_same_day_sends_nothing(self, world):
        run(days_before(7))
        output = run(days_before(7))

        assert len(mail.outbox) == 1
        assert Reminder.objects.count() == 1
        assert "0 rappels envoyés" in output

    def test_the_next_reminder_day_sends_again(self, world):
        run(days_before(7))
        run(days_before(1))

        assert len(mail.outbox) == 2
        assert Reminder.objects.count() == 2

    def test_several_periods_due_the_same_day_make_one_email(self, world):
        other = f.programme("PSM-AUT", name="Autre programme")
        f.project(other, "Q1", world["alpha"])
        # Due in 7 days in PSM-NUM, overdue by 1 day in PSM-AUT: the overdue one comes first.
        f.period(other, "2024-2025", deadline=days_before(8))

        run(days_before(7))

        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert "PSM-NUM 2024-2025" in message.subject and "PSM-AUT 2024-2025" in message.subject
        assert message.body.index("PSM-AUT") < message.body.index("PSM-NUM")
        reminder = Reminder.objects.get()
        assert (str(reminder.period), reminder.kind, reminder.days) == (
            "PSM-AUT 2024-2025",
            ReminderKind.OVERDUE,
            -1,
        )

    def test_a_concurrent_run_that_recorded_first_wins(self, world, monkeypatch):
        selected_before_the_other_run = reminders.due_reminders(days_before(7))
        run(days_before(7))  # the other run, between this one's selection and its sending
        monkeypatch.setattr(reminders, "due_reminders", lambda today: selected_before_the_other_run)

        outcomes = reminders.send_reminders(today=days_before(7))

        assert [o.result for o in outcomes] == [reminders.ALREADY_SENT]
        assert len(mail.outbox) == 1
        assert Reminder.objects.count() == 1


class RecipientsTests:
    def test_a_partner_without_email_gets_nothing_and_is_named_in_the_output(self, world):
        world["alpha"].users.update(email="")
        add_user(world["alpha"], "parti@example.org", is_active=False)

        output = run(days_before(7))

        assert mail.outbox == []
        assert not Reminder.objects.exists()
        assert "ALPHA : aucun utilisateur actif avec une adresse courriel" in output
        assert "1 partenaire sans adresse courriel" in output

    def test_every_active_user_of_the_partner_receives_it(self, world):
        add_user(world["alpha"], "second@example.org")

        run(days_before(7))

        assert recipients_of_outbox() == [["alpha@example.org", "second@example.org"]]
        assert Reminder.objects.get().recipients == "alpha@example.org, second@example.org"

    def test_a_dry_run_sends_and_records_nothing(self, world):
        output = run(days_before(7), "--dry-run")

        assert mail.outbox == []
        assert not Reminder.objects.exists()
        assert "ALPHA : recevrait un rappel à alpha@example.org" in output
        assert "rien n'a été envoyé ni enregistré" in output


class RefusingBackend(EmailBackend):
    """The locmem backend, except that the SMTP server refuses one domain."""

    def send_messages(self, messages):
        if any(to.endswith("@refused.example") for m in messages for to in m.to):
            raise OSError("connexion refusée")
        return super().send_messages(messages)


class FailureTests:
    def test_a_failed_send_records_nothing_and_the_others_go_on(self, world, settings):
        settings.EMAIL_BACKEND = "tests.test_reminders.RefusingBackend"
        world["beta"].reports.update(status=S.DRAFT)
        world["alpha"].users.update(email="alpha@refused.example")
        out, err = io.StringIO(), io.StringIO()

        with pytest.raises(CommandError) as error:
            call_command(
                "send_reminders", "--today", days_before(7).isoformat(), stdout=out, stderr=err
            )

        assert error.value.returncode == 1
        assert recipients_of_outbox() == [["beta@example.org"]]
        assert list(Reminder.objects.values_list("partner__code", flat=True)) == ["BETA"]
        assert "ALPHA : échec de l'envoi (OSError: connexion refusée)" in err.getvalue()
        assert "1 rappel envoyé ; 1 échec." in out.getvalue()

    def test_a_malformed_date_is_refused(self, world):
        with pytest.raises(CommandError, match="AAAA-MM-JJ"):
            call_command("send_reminders", "--today", "31/05/2025")


class EmailTests:
    def test_subject_and_body_name_the_period_and_the_deadline(self, world):
        run(days_before(7))

        message = mail.outbox[0]
        assert message.subject == (
            "Rappel : rapport PSM-NUM 2024-2025 à remettre d'ici le 31 mai 2025 (dans 7 jours)"
        )
        assert "Programme : Le numérique de demain (PSM-NUM)" in message.body
        assert "Période : 2024-2025, du 1er avril 2024 au 31 mars 2025" in message.body
        assert "Date limite de remise : 31 mai 2025" in message.body
        assert "il reste 7 jours" in message.body
        assert "État du rapport : brouillon" in message.body
        assert "Submission deadline: May 31, 2025" in message.body

    def test_an_overdue_email_says_how_late_and_asks_for_an_extension(self, world):
        world["alpha"].reports.update(status=S.RETURNED, comment="Emplois manquants")

        run(days_after(14))

        message = mail.outbox[0]
        assert message.subject == (
            "Rapport en retard : PSM-NUM 2024-2025, date limite dépassée du 31 mai 2025 "
            "(retard de 14 jours)"
        )
        assert "dépassé depuis 14 jours" in message.body
        assert "Commentaire de l'évaluateur : Emplois manquants" in message.body
        # A returned report can be resubmitted after the deadline: no extension to ask for.
        assert "demandez une prolongation" not in message.body

    def test_an_overdue_draft_is_told_to_ask_for_an_extension(self, world):
        world["alpha"].reports.update(status=S.DRAFT)

        run(days_after(7))

        assert "demandez une prolongation" in mail.outbox[0].body

    def test_names_are_not_html_escaped(self, world):
        world["alpha"].name = "Centre d'essais & co"
        world["alpha"].save()

        run(days_before(7))

        assert "pour Centre d'essais & co." in mail.outbox[0].body


class QueryCountTests:
    def queries_to_select(self, today):
        with CaptureQueriesContext(connection) as queries:
            selected = reminders.due_reminders(today)
        return len(queries), len(selected)

    def test_selecting_partners_takes_the_same_queries_for_one_or_many(self, world):
        few = self.queries_to_select(days_before(7))
        for n in range(5):
            partner = f.partner(f"MORE{n}")
            f.project(world["programme"], f"M{n}", partner)
            add_user(partner, f"more{n}@example.org")
            add_user(partner, f"more{n}b@example.org")

        many = self.queries_to_select(days_before(7))

        assert (few[1], many[1]) == (1, 6)
        assert few[0] == many[0]
