"""Every highlight definition of DESIGN.md, with its edge cases, and the rollup's query count."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.highlights import compute, highlights_for
from portal.models import (
    InvestmentLine,
    PartnerKind,
    ProjectStatus,
    ProjectType,
    ReportStatus,
)
from tests import factories as f

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def num():
    """PSM-NUM with three fiscal years and a lead partner (an SME in Quebec)."""
    prog = f.programme()
    periods = {label: f.period(prog, label) for label in ("2019-2020", "2020-2021", "2021-2022")}
    lead = f.partner("LEAD", kind=PartnerKind.SME, quebec=True)
    return prog, periods, lead


class TestProjectsInProgress:
    def test_it_counts_active_and_completed_projects_overlapping_the_period(self, num):
        prog, periods, lead = num
        f.project(prog, "A", lead, status=ProjectStatus.ACTIVE)
        f.project(prog, "C", lead, status=ProjectStatus.COMPLETED, end=D(2019, 12, 31))
        f.project(prog, "P", lead, status=ProjectStatus.PLANNED)
        f.project(prog, "X", lead, status=ProjectStatus.CANCELLED)

        assert compute(periods["2019-2020"]).projects_in_progress == 2

    def test_the_period_bounds_are_inclusive(self, num):
        prog, periods, lead = num
        f.project(prog, "ENDS-ON-START", lead, start=D(2018, 1, 1), end=D(2019, 4, 1))
        f.project(prog, "STARTS-ON-END", lead, start=D(2020, 3, 31))
        f.project(prog, "ENDS-DAY-BEFORE", lead, start=D(2018, 1, 1), end=D(2019, 3, 31))
        f.project(prog, "STARTS-DAY-AFTER", lead, start=D(2020, 4, 1))

        figures = compute(periods["2019-2020"])

        assert figures.projects_in_progress == 2

    def test_an_empty_end_means_still_running(self, num):
        prog, periods, lead = num
        f.project(prog, "OPEN", lead, start=D(2015, 1, 1), end=None)

        assert compute(periods["2021-2022"]).projects_in_progress == 1

    def test_collaborative_projects_are_those_in_progress_of_that_type(self, num):
        prog, periods, lead = num
        collab = ProjectType.COLLABORATIVE_FUNDAMENTAL
        f.project(prog, "C1", lead, type=collab)
        f.project(prog, "C2", lead, type=collab, status=ProjectStatus.CANCELLED)
        f.project(prog, "C3", lead, type=collab, start=D(2020, 4, 1))
        f.project(prog, "D1", lead)

        figures = compute(periods["2019-2020"])

        assert (figures.projects_in_progress, figures.collaborative_projects) == (2, 1)

    def test_projects_of_another_programme_with_the_same_period_label_do_not_count(self, num):
        prog, periods, lead = num
        other = f.programme("PSM-IA", name="IA")
        f.period(other, "2019-2020")
        f.project(other, "IA-1", lead)
        f.project(prog, "NUM-1", lead)

        assert compute(periods["2019-2020"]).projects_in_progress == 1
        assert highlights_for("PSM-IA", "2019-2020").projects_in_progress == 1


class TestPartnersInvolved:
    def test_a_partner_counts_once_whatever_its_roles_and_projects(self, num):
        prog, periods, lead = num
        a, b = f.partner("A"), f.partner("B")
        first = f.project(prog, "P1", lead, participants=[a, b])
        f.project(prog, "P2", a, participants=[lead, b])
        # The lead partner also listed as a participant, and with its lead row.
        f.Participation.objects.create(project=first, partner=lead, role="participant")
        f.Participation.objects.create(project=first, partner=lead, role="lead")

        assert compute(periods["2019-2020"]).partners_involved == 3

    def test_partners_of_projects_not_in_progress_do_not_count(self, num):
        prog, periods, lead = num
        f.project(prog, "P1", lead)
        f.project(prog, "PLANNED", f.partner("Z1"), status=ProjectStatus.PLANNED)
        f.project(
            prog, "LATER", f.partner("Z2"), participants=[f.partner("Z3")], start=D(2021, 1, 1)
        )

        assert compute(periods["2019-2020"]).partners_involved == 1


@pytest.fixture
def spending(num):
    """One project with partners of every kind; each reports on it for 2019-2020."""
    prog, periods, lead = num
    partners = {
        "sme_qc": lead,
        "sme_out": f.partner("SME-ON", kind=PartnerKind.SME, quebec=False),
        "centre": f.partner("CRP", kind=PartnerKind.RESEARCH_CENTRE, quebec=True),
        "centre_out": f.partner("CRP-ON", kind=PartnerKind.RESEARCH_CENTRE, quebec=False),
        "large": f.partner("GE", kind=PartnerKind.LARGE_ENTERPRISE, quebec=True),
        "other": f.partner("OBNL", kind=PartnerKind.OTHER, quebec=True),
    }
    project = f.project(prog, "P1", lead, participants=[p for p in partners.values() if p != lead])
    period = periods["2019-2020"]
    reports = {key: f.report(p, period) for key, p in partners.items()}
    return period, project, reports


class TestInvestment:
    def test_only_approved_reports_count(self, spending):
        period, project, reports = spending
        f.investment(reports["large"], project, "1000.00")
        for status, key in [
            (ReportStatus.DRAFT, "sme_out"),
            (ReportStatus.SUBMITTED, "centre_out"),
            (ReportStatus.RETURNED, "other"),
        ]:
            report = reports[key]
            report.status, report.comment = status, "x"
            report.save()
            f.investment(report, project, "1.00")

        assert compute(period).partner_investment == Decimal("1000.00")
        provisional = compute(period, provisional=True)
        assert provisional.provisional is True
        # Provisional adds the submitted report only, never drafts or returned ones.
        assert provisional.partner_investment == Decimal("1001.00")

    def test_self_spending_counts_for_research_centres_and_quebec_smes_only(self, spending):
        period, project, reports = spending
        amounts = {
            "sme_qc": "100.00",
            "sme_out": "200.00",
            "centre": "400.00",
            "centre_out": "800.00",
            "large": "1600.00",
            "other": "3200.00",
        }
        for key, amount in amounts.items():
            f.investment(reports[key], project, amount, performer="self")

        figures = compute(period)

        assert figures.partner_investment == Decimal("6300.00")
        assert figures.sme_research_spending == Decimal("1300.00")  # 100 + 400 + 800

    def test_spending_within_smes_or_research_centres_counts_whoever_reports_it(self, spending):
        period, project, reports = spending
        f.investment(reports["large"], project, "10.00", performer="quebec_sme")
        f.investment(reports["large"], project, "20.00", performer="research_centre")
        f.investment(reports["large"], project, "40.00", performer="other")
        f.investment(reports["sme_out"], project, "80.00", performer="research_centre")

        figures = compute(period)

        assert (figures.partner_investment, figures.sme_research_spending) == (
            Decimal("150.00"),
            Decimal("110.00"),
        )

    def test_money_is_exact_to_the_cent(self, spending):
        period, project, reports = spending
        for amount, category in [("0.10", "labour"), ("0.20", "equipment"), ("0.30", "other")]:
            f.investment(reports["large"], project, amount, category=category)
        for performer in ["self", "quebec_sme", "research_centre", "other"]:
            f.investment(reports["centre"], project, "33333333.33", performer=performer)
            f.investment(
                reports["sme_qc"], project, "0.01", category="materials", performer=performer
            )

        figures = compute(period)

        assert figures.partner_investment == Decimal("133333333.96")
        assert str(figures.partner_investment) == "133333333.96"
        assert figures.sme_research_spending == Decimal("100000000.02")
        assert figures.as_json()["partner_investment"] == "133333333.96"

    def test_cumulative_investment_adds_periods_ending_by_this_one(self, num):
        prog, periods, lead = num
        project = f.project(prog, "P1", lead)
        for label, amount, performer in [
            ("2019-2020", "1000.00", "self"),
            ("2020-2021", "3000.00", "other"),
            ("2021-2022", "5000.00", "self"),
        ]:
            f.investment(f.report(lead, periods[label]), project, amount, performer=performer)
        other = f.programme("PSM-IA", name="IA")
        f.investment(
            f.report(lead, f.period(other, "2019-2020")), f.project(other, "IA1", lead), "7.00"
        )

        figures = compute(periods["2020-2021"])

        assert figures.partner_investment == Decimal("3000.00")
        assert figures.cumulative_partner_investment == Decimal("4000.00")
        assert figures.cumulative_sme_research_share == Decimal("0.2500")
        assert figures.as_json()["cumulative_sme_research_share"] == "0.2500"

    def test_the_share_is_null_without_investment(self, num):
        _prog, periods, _lead = num

        figures = compute(periods["2019-2020"])

        assert figures.cumulative_partner_investment == Decimal("0.00")
        assert figures.cumulative_sme_research_share is None
        assert figures.as_json()["cumulative_sme_research_share"] is None


class TestJobs:
    def test_jobs_are_a_stock_of_the_period_never_added_across_periods(self, num):
        prog, periods, lead = num
        project = f.project(prog, "P1", lead)
        f.jobs(f.report(lead, periods["2019-2020"]), project, 10, 4)
        f.jobs(f.report(lead, periods["2020-2021"]), project, 12, 5)
        other = f.partner("B")
        project.participations.create(partner=other, role="participant")
        f.jobs(f.report(other, periods["2020-2021"]), project, 3, 0)
        f.jobs(
            f.report(f.partner("C"), periods["2020-2021"], ReportStatus.SUBMITTED), project, 99, 0
        )

        figures = compute(periods["2020-2021"])

        assert (figures.jobs, figures.jobs_direct, figures.jobs_indirect) == (20, 15, 5)


class TestNewProducts:
    def test_products_count_when_launched_in_the_period_with_programme_technology(self, num):
        prog, periods, lead = num
        project = f.project(prog, "P1", lead)
        report = f.report(lead, periods["2019-2020"])
        auto = f.sector("AUTO", "Automobile", "Automotive")
        comm = f.sector("COMM", "Communications et informations", "Communications and information")
        sante = f.sector("SANTE", "Sciences de la vie et santé", "Life sciences and health")
        f.product(report, project, "First day", D(2019, 4, 1), sante)
        f.product(report, project, "Last day", D(2020, 3, 31), auto)
        f.product(report, project, "Same sector", D(2019, 9, 1), auto)
        f.product(report, project, "Day before", D(2019, 3, 31), comm)
        f.product(report, project, "Day after", D(2020, 4, 1), comm)
        f.product(report, project, "No programme technology", D(2019, 9, 1), comm, False)

        figures = compute(periods["2019-2020"])

        assert figures.new_products == 3
        assert figures.product_sectors == ("AUTO", "SANTE")

    def test_products_of_unapproved_reports_do_not_count(self, num):
        prog, periods, lead = num
        project = f.project(prog, "P1", lead)
        report = f.report(lead, periods["2019-2020"], ReportStatus.SUBMITTED)
        f.product(report, project, "Pending", D(2019, 9, 1))

        assert compute(periods["2019-2020"]).new_products == 0
        assert compute(periods["2019-2020"], provisional=True).new_products == 1


class TestQueryCount:
    CATEGORIES = ["labour", "equipment", "subcontracting", "materials", "other"]
    PERFORMERS = ["self", "quebec_sme", "research_centre", "other"]

    def test_the_query_count_does_not_grow_with_the_lines(self, num, django_assert_max_num_queries):
        prog, periods, lead = num
        period = periods["2019-2020"]
        partners = [f.partner(f"Q{i}", kind=PartnerKind.RESEARCH_CENTRE) for i in range(10)]
        projects = [f.project(prog, f"QP{i}", lead, participants=partners) for i in range(5)]
        reports = [f.report(p, period) for p in partners]
        # 10 reports x 5 projects x 5 categories x 4 performers: 1 000 distinct lines.
        lines = [
            InvestmentLine(report=r, project=p, category=c, performer=perf, amount=Decimal("1.25"))
            for perf in self.PERFORMERS
            for c in self.CATEGORIES
            for p in projects
            for r in reports
        ]
        InvestmentLine.objects.bulk_create(lines[:10])
        with CaptureQueriesContext(connection) as small:
            assert compute(period).partner_investment == Decimal("12.50")

        InvestmentLine.objects.bulk_create(lines[10:])
        with CaptureQueriesContext(connection) as large:
            assert compute(period).partner_investment == Decimal("1250.00")

        assert len(small.captured_queries) == len(large.captured_queries) == 5
        with django_assert_max_num_queries(5):
            compute(period)
