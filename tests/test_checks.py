"""Data-quality checks: each fires on a case made for it and stays silent on a clean one."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.checks import (
    AMOUNT_OVER_THRESHOLD,
    CHANGE_FROM_LAST_YEAR,
    CHECKS,
    DRAFT_AFTER_DEADLINE,
    LINE_NOT_IN_PROGRESS,
    PRODUCT_OUTSIDE_PERIOD,
    PROJECT_WITHOUT_LINES,
    Finding,
    acknowledge,
    findings_for_period,
    findings_for_report,
)
from portal.models import (
    CheckAcknowledgement,
    Extension,
    InvestmentLine,
    JobLine,
    Participation,
    PartnerKind,
    Period,
    ProjectStatus,
    Report,
    ReportStatus,
)
from tests import factories as f
from tests.test_imports import load_fixtures

pytestmark = pytest.mark.django_db
D = datetime.date
# Before 2020-2021's deadline (2021-05-31): no draft is late unless a test says so.
TODAY = D(2021, 4, 15)
# The queries findings_for_period runs, whatever the size of the data (one fewer with no draft).
QUERIES = 13


def plain(text):
    """The message with its no-break spaces as ordinary ones, to compare with readable strings."""
    return text.replace("\u00a0", " ")


def found(period, code, *, today=TODAY):
    return [finding for finding in findings_for_period(period, today=today) if finding.code == code]


@pytest.fixture
def num():
    """PSM-NUM, 2019-2020 (last year) and 2020-2021, ALPHA leading NUM-1 with BETA; both partners
    report the same figures both years on NUM-1: nothing to flag."""
    prog = f.programme()
    last = f.period(prog, "2019-2020")
    period = f.period(prog, "2020-2021")
    alpha = f.partner("ALPHA", kind=PartnerKind.SME)
    beta = f.partner("BETA")
    project = f.project(prog, "NUM-1", alpha, participants=[beta])
    world = SimpleNamespace(
        prog=prog, last=last, period=period, alpha=alpha, beta=beta, project=project
    )
    world.reports = {}
    for year in (last, period):
        for partner_ in (alpha, beta):
            report = f.report(partner_, year)
            f.investment(report, project, "100000.00")
            f.jobs(report, project, 10, 2)
            world.reports[(year.label, partner_.code)] = report
    f.product(world.reports[("2020-2021", "ALPHA")], project, "Capteur X", D(2020, 10, 15))
    world.alpha_report = world.reports[("2020-2021", "ALPHA")]
    world.beta_report = world.reports[("2020-2021", "BETA")]
    return world


class TestCleanPeriod:
    def test_a_clean_period_has_no_finding(self, num):
        assert findings_for_period(num.period, today=TODAY) == []

    def test_every_check_is_registered_with_a_french_label(self):
        assert list(CHECKS) == [
            DRAFT_AFTER_DEADLINE,
            LINE_NOT_IN_PROGRESS,
            PRODUCT_OUTSIDE_PERIOD,
            CHANGE_FROM_LAST_YEAR,
            AMOUNT_OVER_THRESHOLD,
            PROJECT_WITHOUT_LINES,
        ]
        assert str(CHECKS[DRAFT_AFTER_DEADLINE][0]) == "Rapport en brouillon après la date limite"


class TestDraftAfterDeadline:
    @pytest.fixture
    def gamma_draft(self, num):
        gamma = f.partner("GAMMA")
        Participation.objects.create(project=num.project, partner=gamma, role="participant")
        report = f.report(gamma, num.period, ReportStatus.DRAFT)
        f.jobs(report, num.project, 1)
        return report

    def test_it_flags_a_draft_the_day_after_the_deadline(self, num, gamma_draft):
        [finding] = found(num.period, DRAFT_AFTER_DEADLINE, today=D(2021, 6, 1))

        assert finding.subject == f"report:{gamma_draft.pk}"
        assert finding.report_id == gamma_draft.pk
        assert finding.message == (
            "Le rapport de GAMMA est encore en brouillon après la date limite (2021-05-31)."
        )

    def test_a_draft_is_not_late_on_the_deadline_day(self, num, gamma_draft):
        assert found(num.period, DRAFT_AFTER_DEADLINE, today=D(2021, 5, 31)) == []

    def test_reports_out_of_draft_are_not_late(self, num):
        for status in (ReportStatus.SUBMITTED, ReportStatus.RETURNED, ReportStatus.APPROVED):
            Report.objects.filter(pk=num.alpha_report.pk).update(status=status, comment="x")

            assert found(num.period, DRAFT_AFTER_DEADLINE, today=D(2022, 1, 1)) == []

    def test_a_missing_report_is_not_a_late_draft(self, num):
        gamma = f.partner("GAMMA")
        Participation.objects.create(project=num.project, partner=gamma, role="participant")

        assert found(num.period, DRAFT_AFTER_DEADLINE, today=D(2022, 1, 1)) == []

    def test_a_period_wide_extension_postpones_the_deadline(self, num, gamma_draft):
        Extension.objects.create(period=num.period, new_deadline=D(2021, 8, 31), reason="COVID-19")

        assert found(num.period, DRAFT_AFTER_DEADLINE, today=D(2021, 8, 31)) == []
        [finding] = found(num.period, DRAFT_AFTER_DEADLINE, today=D(2021, 9, 1))
        assert "(2021-08-31)" in finding.message

    def test_a_partner_extension_postpones_only_that_partner(self, num, gamma_draft):
        delta = f.partner("DELTA")
        Participation.objects.create(project=num.project, partner=delta, role="participant")
        delta_draft = f.report(delta, num.period, ReportStatus.DRAFT)
        Extension.objects.create(
            period=num.period, partner=delta, new_deadline=D(2021, 7, 15), reason="Fusion"
        )

        findings = found(num.period, DRAFT_AFTER_DEADLINE, today=D(2021, 7, 1))

        assert [x.subject for x in findings] == [f"report:{gamma_draft.pk}"]
        assert f"report:{delta_draft.pk}" not in [x.subject for x in findings]

    def test_today_defaults_to_the_local_date(self, num, gamma_draft):
        # 2021-05-31 is long past: with no `today`, the draft is late.
        findings = [x for x in findings_for_period(num.period) if x.code == DRAFT_AFTER_DEADLINE]

        assert [x.subject for x in findings] == [f"report:{gamma_draft.pk}"]


class TestLineNotInProgress:
    def test_it_flags_every_kind_of_line_on_a_planned_project(self, num):
        planned = f.project(num.prog, "NUM-9", num.alpha, status=ProjectStatus.PLANNED)
        report = num.alpha_report
        investment = f.investment(report, planned, "10.00")
        jobs = f.jobs(report, planned, 1)
        product = f.product(report, planned, "Prototype", D(2020, 9, 1))

        findings = found(num.period, LINE_NOT_IN_PROGRESS)

        assert [x.subject for x in findings] == [
            f"investment:{investment.pk}",
            f"jobs:{jobs.pk}",
            f"product:{product.pk}",
        ]
        assert {x.report_id for x in findings} == {report.pk}
        assert plain(findings[0].message) == (
            "ALPHA déclare une ligne d'investissement sur le projet NUM-9, qui n'est pas en "
            "cours pendant la période 2020-2021 (statut : prévu)."
        )
        assert "le produit « Prototype »" in findings[2].message

    def test_it_flags_lines_on_a_cancelled_project(self, num):
        cancelled = f.project(num.prog, "NUM-X", num.alpha, status=ProjectStatus.CANCELLED)
        line = f.jobs(num.alpha_report, cancelled, 3)

        [finding] = found(num.period, LINE_NOT_IN_PROGRESS)

        assert finding.subject == f"jobs:{line.pk}"
        assert "(statut : annulé)" in finding.message

    def test_it_flags_lines_on_a_project_that_ended_before_the_period(self, num):
        ended = f.project(
            num.prog, "NUM-OLD", num.alpha, status=ProjectStatus.COMPLETED, end=D(2020, 3, 31)
        )
        line = f.investment(num.alpha_report, ended, "5.00")

        [finding] = found(num.period, LINE_NOT_IN_PROGRESS)

        assert finding.subject == f"investment:{line.pk}"
        assert "(du 2019-01-01 au 2020-03-31)" in finding.message

    def test_it_flags_lines_on_a_project_starting_after_the_period(self, num):
        later = f.project(num.prog, "NUM-NEW", num.alpha, start=D(2021, 4, 1))
        line = f.investment(num.beta_report, later, "5.00")

        [finding] = found(num.period, LINE_NOT_IN_PROGRESS)

        assert (finding.subject, finding.report_id) == (f"investment:{line.pk}", line.report_id)
        assert "BETA déclare" in finding.message
        assert "(à partir du 2021-04-01)" in finding.message

    def test_it_looks_at_reports_of_every_status(self, num):
        planned = f.project(num.prog, "NUM-9", num.alpha, status=ProjectStatus.PLANNED)
        draft = f.report(f.partner("GAMMA"), num.period, ReportStatus.DRAFT)
        Participation.objects.create(project=planned, partner=draft.partner, role="participant")
        f.jobs(draft, planned, 1)

        assert [x.report_id for x in found(num.period, LINE_NOT_IN_PROGRESS)] == [draft.pk]

    def test_lines_on_projects_in_progress_are_not_flagged(self, num):
        completed = f.project(
            num.prog, "NUM-2", num.alpha, status=ProjectStatus.COMPLETED, end=D(2020, 4, 1)
        )
        starting = f.project(num.prog, "NUM-3", num.alpha, start=D(2021, 3, 31))
        f.investment(num.alpha_report, completed, "1.00")
        f.jobs(num.alpha_report, starting, 1)

        assert found(num.period, LINE_NOT_IN_PROGRESS) == []


class TestProductOutsidePeriod:
    def test_it_flags_products_launched_before_or_after_the_period(self, num):
        before = f.product(num.alpha_report, num.project, "Ancien produit", D(2020, 3, 31))
        after = f.product(num.beta_report, num.project, "Futur produit", D(2021, 4, 1))

        findings = found(num.period, PRODUCT_OUTSIDE_PERIOD)

        assert [(x.subject, x.report_id) for x in findings] == [
            (f"product:{before.pk}", num.alpha_report.pk),
            (f"product:{after.pk}", num.beta_report.pk),
        ]
        assert findings[0].message == (
            "Le produit « Ancien produit » de ALPHA (projet NUM-1) est lancé le 2020-03-31, "
            "hors de la période 2020-2021 (du 2020-04-01 au 2021-03-31)."
        )

    def test_products_launched_on_the_period_bounds_are_not_flagged(self, num):
        f.product(num.alpha_report, num.project, "Premier jour", D(2020, 4, 1))
        f.product(num.alpha_report, num.project, "Dernier jour", D(2021, 3, 31))

        assert found(num.period, PRODUCT_OUTSIDE_PERIOD) == []


class TestChangeFromLastYear:
    def test_it_flags_investment_growing_by_more_than_half(self, num):
        f.investment(num.alpha_report, num.project, "60000.00", category="equipment")

        [finding] = found(num.period, CHANGE_FROM_LAST_YEAR)

        assert (finding.subject, finding.report_id) == (
            f"report:{num.alpha_report.pk}",
            num.alpha_report.pk,
        )
        assert plain(finding.message) == (
            "Les chiffres de ALPHA changent de plus de 50 % par rapport à 2019-2020 : "
            "investissement de 100 000,00 $ à 160 000,00 $ (+60,0 %)."
        )

    def test_it_flags_jobs_falling_by_more_than_half(self, num):
        JobLine.objects.filter(report=num.beta_report).update(direct=3, indirect=2)

        [finding] = found(num.period, CHANGE_FROM_LAST_YEAR)

        assert finding.subject == f"report:{num.beta_report.pk}"
        assert plain(finding.message).endswith("2019-2020 : emplois de 12 à 5 (-58,3 %).")

    def test_a_report_with_no_lines_this_year_falls_by_a_hundred_percent(self, num):
        num.alpha_report.investments.all().delete()
        num.alpha_report.jobs.all().delete()

        [finding] = found(num.period, CHANGE_FROM_LAST_YEAR)

        assert plain(finding.message).endswith(
            "investissement de 100 000,00 $ à 0,00 $ (-100,0 %) ; emplois de 12 à 0 (-100,0 %)."
        )

    def test_a_change_of_exactly_half_is_not_flagged(self, num):
        f.investment(num.alpha_report, num.project, "50000.00", category="equipment")
        JobLine.objects.filter(report=num.beta_report).update(direct=4, indirect=2)

        assert found(num.period, CHANGE_FROM_LAST_YEAR) == []

    def test_a_cent_over_half_is_flagged(self, num):
        f.investment(num.alpha_report, num.project, "50000.01", category="equipment")

        assert [x.report_id for x in found(num.period, CHANGE_FROM_LAST_YEAR)] == [
            num.alpha_report.pk
        ]

    def test_the_share_comes_from_the_settings(self, num, settings):
        settings.CHECK_CHANGE_SHARE = Decimal("0.1")
        f.investment(num.alpha_report, num.project, "10000.01", category="equipment")

        [finding] = found(num.period, CHANGE_FROM_LAST_YEAR)

        assert "de plus de 10 % par rapport" in plain(finding.message)

    def test_nothing_is_compared_without_last_years_report(self, num):
        num.reports[("2019-2020", "ALPHA")].delete()
        num.alpha_report.investments.update(amount=Decimal("900000"))

        assert found(num.period, CHANGE_FROM_LAST_YEAR) == []

    def test_nothing_is_compared_when_last_years_value_is_zero(self, num):
        last_year = num.reports[("2019-2020", "ALPHA")]
        last_year.investments.update(amount=Decimal("0"))
        last_year.jobs.update(direct=0, indirect=0)

        assert found(num.period, CHANGE_FROM_LAST_YEAR) == []

    def test_the_first_period_has_no_last_year(self, num):
        num.reports[("2019-2020", "ALPHA")].investments.update(amount=Decimal("1"))

        assert found(num.last, CHANGE_FROM_LAST_YEAR) == []

    def test_last_year_is_the_period_ending_just_before_this_one_starts(self, num):
        # 2018-2019 had very different figures; only 2019-2020 is compared with 2020-2021.
        older = f.period(num.prog, "2018-2019")
        f.investment(f.report(num.alpha, older), num.project, "1.00")
        # Another programme's period with the same dates is not last year either.
        other = f.period(f.programme("PSM-IA", name="IA"), "2019-2020")
        f.report(num.alpha, other)

        assert found(num.period, CHANGE_FROM_LAST_YEAR) == []


class TestAmountOverThreshold:
    def test_it_flags_an_investment_line_over_five_million(self, num):
        line = f.investment(num.alpha_report, num.project, "5000000.01", category="equipment")

        finding = next(x for x in found(num.period, AMOUNT_OVER_THRESHOLD))

        assert (finding.subject, finding.report_id) == (
            f"investment:{line.pk}",
            num.alpha_report.pk,
        )
        assert plain(finding.message) == (
            "La ligne d'investissement de ALPHA sur le projet NUM-1 (équipement, le partenaire "
            "lui-même) s'élève à 5 000 000,01 $, au-delà du seuil de 5 000 000,00 $."
        )

    def test_an_amount_equal_to_the_threshold_is_not_flagged(self, num):
        f.investment(num.alpha_report, num.project, "5000000.00", category="equipment")

        assert found(num.period, AMOUNT_OVER_THRESHOLD) == []

    def test_the_threshold_comes_from_the_settings(self, num, settings):
        settings.CHECK_AMOUNT_THRESHOLD = Decimal("99999.99")

        findings = found(num.period, AMOUNT_OVER_THRESHOLD)

        assert {x.report_id for x in findings} == {num.alpha_report.pk, num.beta_report.pk}
        assert "au-delà du seuil de 99 999,99 $." in plain(findings[0].message)


class TestProjectWithoutLines:
    def test_it_flags_a_project_in_progress_with_no_line(self, num):
        silent = f.project(num.prog, "NUM-2", num.beta, participants=[num.alpha])
        # Last year's lines do not count for this year.
        f.jobs(num.reports[("2019-2020", "BETA")], silent, 4)

        [finding] = found(num.period, PROJECT_WITHOUT_LINES)

        assert (finding.subject, finding.report_id) == (f"project:{silent.pk}", None)
        assert finding.message == (
            "Le projet NUM-2 (partenaire principal : BETA) est en cours pendant la période "
            "2020-2021, mais aucun de ses partenaires n'y déclare de ligne."
        )

    @pytest.mark.parametrize("kind", ["investment", "jobs", "product"])
    def test_one_line_of_any_kind_in_a_draft_report_is_enough(self, num, kind):
        project = f.project(num.prog, "NUM-2", num.beta)
        draft = f.report(f.partner("GAMMA"), num.period, ReportStatus.DRAFT)
        Participation.objects.create(project=project, partner=draft.partner, role="participant")
        {
            "investment": lambda: f.investment(draft, project, "0.00"),
            "jobs": lambda: f.jobs(draft, project, 0),
            "product": lambda: f.product(draft, project, "Nouveau", D(2020, 6, 1)),
        }[kind]()

        assert found(num.period, PROJECT_WITHOUT_LINES) == []

    def test_projects_not_in_progress_are_not_expected_to_have_lines(self, num):
        f.project(num.prog, "NUM-P", num.beta, status=ProjectStatus.PLANNED)
        f.project(num.prog, "NUM-X", num.beta, status=ProjectStatus.CANCELLED)
        f.project(num.prog, "NUM-OLD", num.beta, end=D(2020, 3, 31))
        f.project(f.programme("PSM-IA", name="IA"), "IA-1", num.beta)

        assert found(num.period, PROJECT_WITHOUT_LINES) == []


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("revue", "revue@example.org", "x", is_staff=True)


@pytest.fixture
def late_line(num):
    """One finding to acknowledge: a line over the threshold in ALPHA's report."""
    line = f.investment(num.alpha_report, num.project, "6000000.00", category="equipment")
    num.subject = f"investment:{line.pk}"
    return num


class TestAcknowledge:
    def test_an_acknowledgement_is_attached_to_its_finding(self, late_line, staff):
        num = late_line
        ack = acknowledge(
            period=num.period,
            code=AMOUNT_OVER_THRESHOLD,
            subject=num.subject,
            user=staff,
            comment="Achat d'un banc d'essai, facture vue.",
        )

        flagged = [x for x in findings_for_period(num.period, today=TODAY) if x.acknowledgement]

        assert [(x.code, x.subject) for x in flagged] == [(AMOUNT_OVER_THRESHOLD, num.subject)]
        assert flagged[0].acknowledgement == ack
        assert flagged[0].acknowledgement.acknowledged_by == staff
        assert flagged[0].acknowledgement.comment == "Achat d'un banc d'essai, facture vue."

    def test_other_findings_stay_unacknowledged(self, late_line, staff):
        num = late_line
        acknowledge(
            period=num.period,
            code=AMOUNT_OVER_THRESHOLD,
            subject=num.subject,
            user=staff,
            comment="Vu.",
        )

        [change] = found(num.period, CHANGE_FROM_LAST_YEAR)

        assert change.acknowledgement is None

    def test_an_acknowledgement_of_another_period_does_not_attach(self, late_line, staff):
        num = late_line
        acknowledge(
            period=num.last,
            code=AMOUNT_OVER_THRESHOLD,
            subject=num.subject,
            user=staff,
            comment="Vu l'an dernier.",
        )

        [finding] = found(num.period, AMOUNT_OVER_THRESHOLD)

        assert finding.acknowledgement is None

    @pytest.mark.parametrize("comment", ["", "   ", None])
    def test_a_comment_is_required(self, late_line, staff, comment):
        with pytest.raises(ValidationError) as error:
            acknowledge(
                period=late_line.period,
                code=AMOUNT_OVER_THRESHOLD,
                subject=late_line.subject,
                user=staff,
                comment=comment,
            )

        assert error.value.message_dict == {
            "comment": ["Un commentaire est requis pour prendre en compte un avertissement."]
        }
        assert not CheckAcknowledgement.objects.exists()

    def test_an_unknown_check_is_refused(self, late_line, staff):
        with pytest.raises(ValidationError) as error:
            acknowledge(
                period=late_line.period,
                code="nope",
                subject=late_line.subject,
                user=staff,
                comment="Vu.",
            )

        assert error.value.message_dict == {"code": ["Vérification inconnue : nope."]}

    def test_a_subject_longer_than_its_field_is_refused(self, late_line, staff):
        with pytest.raises(ValidationError) as error:
            acknowledge(
                period=late_line.period,
                code=AMOUNT_OVER_THRESHOLD,
                subject="investment:" + "9" * 100,
                user=staff,
                comment="Vu.",
            )

        assert list(error.value.message_dict) == ["subject"]

    def test_acknowledging_again_updates_the_acknowledgement(self, late_line, staff):
        num = late_line
        first = acknowledge(
            period=num.period,
            code=AMOUNT_OVER_THRESHOLD,
            subject=num.subject,
            user=staff,
            comment="Vu.",
        )
        other = get_user_model().objects.create_user("chef", is_staff=True)

        second = acknowledge(
            period=num.period,
            code=AMOUNT_OVER_THRESHOLD,
            subject=num.subject,
            user=other,
            comment="  Facture vérifiée.  ",
        )

        assert second.pk == first.pk
        assert CheckAcknowledgement.objects.count() == 1
        second.refresh_from_db()
        assert (second.comment, second.acknowledged_by) == ("Facture vérifiée.", other)
        assert second.acknowledged_at >= first.acknowledged_at
        [finding] = found(num.period, AMOUNT_OVER_THRESHOLD)
        assert finding.acknowledgement.comment == "Facture vérifiée."


class TestFindingsForReport:
    def test_it_returns_only_the_reports_findings(self, num):
        f.investment(num.alpha_report, num.project, "6000000.00", category="equipment")
        beta_line = f.investment(num.beta_report, num.project, "7000000.00", category="equipment")
        f.project(num.prog, "NUM-2", num.beta)  # a project finding, about no report

        findings = findings_for_report(num.beta_report, today=TODAY)

        assert [(x.code, x.subject) for x in findings] == [
            (AMOUNT_OVER_THRESHOLD, f"investment:{beta_line.pk}"),
            (CHANGE_FROM_LAST_YEAR, f"report:{num.beta_report.pk}"),
        ]
        assert {x.report_id for x in findings} == {num.beta_report.pk}

    def test_a_clean_report_has_no_finding(self, num):
        f.investment(num.alpha_report, num.project, "6000000.00", category="equipment")

        assert findings_for_report(num.beta_report, today=TODAY) == []


class TestFindingsForPeriod:
    def test_findings_are_sorted_by_code_then_subject(self, num):
        planned = f.project(num.prog, "NUM-9", num.alpha, status=ProjectStatus.PLANNED)
        f.investment(num.alpha_report, planned, "1.00")
        # Enough lines for pks of one and two digits: investment:9 sorts before investment:10.
        InvestmentLine.objects.bulk_create(
            InvestmentLine(
                report=num.beta_report,
                project=num.project,
                amount=Decimal("6000000"),
                category=category,
                performer=performer,
            )
            for category in ("equipment", "materials", "other")
            for performer in ("quebec_sme", "research_centre", "other")
        )
        Participation.objects.create(project=planned, partner=num.beta, role="participant")

        findings = findings_for_period(num.period, today=TODAY)

        codes = [x.code for x in findings]
        assert codes == sorted(codes)
        over = [int(x.subject.split(":")[1]) for x in findings if x.code == AMOUNT_OVER_THRESHOLD]
        assert over == sorted(over)
        assert len(over) == 9

    def test_findings_are_frozen_dataclasses(self, num):
        f.investment(num.alpha_report, num.project, "6000000.00", category="equipment")

        finding = found(num.period, AMOUNT_OVER_THRESHOLD)[0]

        assert isinstance(finding, Finding)
        with pytest.raises(AttributeError):
            finding.code = "other"

    def test_the_contract_files_raise_the_expected_findings(self):
        load_fixtures()
        first = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
        second = Period.objects.get(programme__code="PSM-NUM", label="2020-2021")

        in_first = findings_for_period(first, today=D(2020, 9, 1))
        in_second = findings_for_period(second, today=D(2021, 6, 1))

        # ALPHA's product launched before the programme's first year.
        assert [(x.code, x.message) for x in in_first] == [
            (
                PRODUCT_OUTSIDE_PERIOD,
                "Le produit « Ancien produit » de ALPHA (projet NUM-1) est lancé le 2019-03-01, "
                "hors de la période 2019-2020 (du 2019-04-01 au 2020-03-31).",
            )
        ]
        # ALPHA's 2020-2021 report is an empty draft, past its deadline; NUM-1 is still running.
        assert [x.code for x in in_second] == [
            CHANGE_FROM_LAST_YEAR,
            DRAFT_AFTER_DEADLINE,
            PROJECT_WITHOUT_LINES,
        ]
        assert plain(in_second[0].message).endswith(
            "investissement de 1 235 567,89 $ à 0,00 $ (-100,0 %) ; emplois de 15 à 0 (-100,0 %)."
        )


def build(prog, period, last, size):
    """`size` partners, each with reports in both years and lines that trip every check."""
    lead = f.partner(f"LEAD{size}")
    planned = f.project(prog, f"PLAN{size}", lead, status=ProjectStatus.PLANNED)
    running = f.project(prog, f"RUN{size}", lead)
    for i in range(size):
        partner_ = f.partner(f"P{size}-{i}")
        Participation.objects.create(project=planned, partner=partner_, role="participant")
        Participation.objects.create(project=running, partner=partner_, role="participant")
        Participation.objects.create(
            project=f.project(prog, f"IDLE{size}-{i}", partner_),
            partner=lead,
            role="participant",
        )
        before = f.report(partner_, last)
        f.investment(before, running, "10.00")
        f.jobs(before, running, 10)
        now = f.report(partner_, period, ReportStatus.DRAFT if i % 2 else ReportStatus.SUBMITTED)
        f.investment(now, running, "9000000.00")
        f.investment(now, planned, "1.00")
        f.jobs(now, planned, 1)
        f.product(now, planned, "Hors période", D(2019, 1, 1))
        Extension.objects.create(
            period=period, partner=partner_, new_deadline=D(2021, 6, 30), reason="Retard"
        )


class TestQueryCount:
    def test_the_query_count_does_not_grow_with_the_data(self, django_assert_max_num_queries):
        prog = f.programme()
        last, period = f.period(prog, "2019-2020"), f.period(prog, "2020-2021")
        staff = get_user_model().objects.create_user("revue")
        today = D(2021, 7, 1)

        build(prog, period, last, 2)
        with CaptureQueriesContext(connection) as small:
            small_findings = findings_for_period(period, today=today)

        build(prog, period, last, 20)
        for finding in findings_for_period(period, today=today)[::3]:
            acknowledge(
                period=period, code=finding.code, subject=finding.subject, user=staff, comment="Vu."
            )
        with CaptureQueriesContext(connection) as large:
            large_findings = findings_for_period(period, today=today)

        assert {x.code for x in small_findings} == set(CHECKS)
        assert len(large_findings) > 10 * len(small_findings) / 2
        assert any(x.acknowledgement for x in large_findings)
        assert len(small.captured_queries) == len(large.captured_queries) == QUERIES
        with django_assert_max_num_queries(QUERIES):
            findings = findings_for_period(period, today=today)
            # What the admin shows of an acknowledgement costs no further query.
            [x.acknowledgement.acknowledged_by.username for x in findings if x.acknowledgement]
