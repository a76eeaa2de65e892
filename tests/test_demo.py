"""`manage.py load_demo`: the published 2019-2020 highlights, the open collection, idempotence."""

import datetime
import io
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from portal import demo
from portal.highlights import highlights_for
from portal.models import (
    Partner,
    Period,
    PeriodState,
    ProductLine,
    Programme,
    Project,
    ProjectStatus,
    Report,
    ReportStatus,
)
from portal.resources import RESOURCES

pytestmark = pytest.mark.django_db

# The demo's two passwords would otherwise cost a second of PBKDF2 on each load.
FAST_HASHING = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
TENTH_OF_A_MILLION = Decimal("100000")


def load_demo(**options):
    out = io.StringIO()
    with FAST_HASHING:
        call_command("load_demo", force=True, stdout=out, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module (a few seconds) in a transaction rolled back at the
    end; each test runs in a savepoint within it (pytest-django's usual per-test transaction),
    so what one test writes is gone for the next. Returns the command's output."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo()
        transaction.set_rollback(True)


def millions(amount):
    """An amount the way the highlights page writes it: in millions, to one decimal."""
    tenths = (amount / TENTH_OF_A_MILLION).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return tenths * TENTH_OF_A_MILLION


def row_counts():
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models(include_auto_created=True)
    }


def all_rows():
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
    }


def test_approved_2019_2020_reports_give_the_published_figures(loaded):
    figures = highlights_for("PSM-NUM", "2019-2020")

    assert figures.projects_in_progress == 46
    assert figures.collaborative_projects == 9
    assert figures.partners_involved == 17
    assert (figures.jobs, figures.jobs_direct, figures.jobs_indirect) == (474, 312, 162)
    assert figures.new_products == 6
    assert figures.product_sectors == ("AUTO", "COMM", "SANTE")
    assert figures.partner_investment == Decimal("39286412.50")
    assert millions(figures.partner_investment) == Decimal("39300000")
    assert figures.sme_research_spending == Decimal("5912345.67")
    assert millions(figures.sme_research_spending) == Decimal("5900000")


def test_the_2019_2020_collection_was_extended_to_august_for_covid_19(loaded):
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")

    assert period.extended_deadline == datetime.date(2020, 8, 31)
    assert period.extension_reason == "COVID-19"
    assert period.period_extension.partner is None  # the whole period, every partner
    assert period.state == PeriodState.PUBLISHED


def test_the_programme_has_its_published_targets(loaded):
    programme = Programme.objects.get(code="PSM-NUM")
    assert programme.name == "Le numérique de demain"
    assert programme.government_aid == Decimal("26750000.00")
    assert programme.investment_target == Decimal("160500000.00")
    assert "commercialisation" in programme.objectives


def test_the_definitions_have_distractors_to_exclude(loaded):
    projects = Project.objects.filter(programme__code="PSM-NUM")
    assert projects.filter(status=ProjectStatus.PLANNED).exists()
    assert projects.filter(status=ProjectStatus.CANCELLED).exists()
    assert projects.filter(start__gt=datetime.date(2020, 3, 31)).exists()
    approved_products = ProductLine.objects.filter(
        report__period__programme__code="PSM-NUM",
        report__period__label="2019-2020",
        report__status=ReportStatus.APPROVED,
    )
    assert approved_products.count() > 6
    assert Report.objects.filter(
        period__programme__code="PSM-NUM",
        period__label="2019-2020",
        status=ReportStatus.SUBMITTED,
        investments__isnull=False,
    ).exists()


def test_the_provisional_view_adds_the_submitted_report(loaded):
    approved = highlights_for("PSM-NUM", "2019-2020")
    provisional = highlights_for("PSM-NUM", "2019-2020", provisional=True)

    assert provisional.provisional
    assert provisional.partner_investment == approved.partner_investment + Decimal("1184250.00")
    assert provisional.jobs == approved.jobs + 20
    assert provisional.new_products == approved.new_products + 1


def test_each_year_gives_its_planned_totals_although_ia_shares_a_label(loaded):
    for year in demo.NUM_YEARS:
        figures = highlights_for("PSM-NUM", year.label)
        assert figures.partner_investment == year.investment
        assert figures.sme_research_spending == year.sme_research
        assert (figures.jobs_direct, figures.jobs_indirect) == year.jobs
    assert Period.objects.filter(label="2021-2022").count() == 2


def test_figures_grow_toward_the_investment_target(loaded):
    years = [highlights_for("PSM-NUM", year.label) for year in demo.NUM_YEARS]

    assert [y.jobs for y in years] == sorted(y.jobs for y in years)
    assert [y.partner_investment for y in years] == sorted(y.partner_investment for y in years)
    assert Decimal("130000000") < years[-1].cumulative_partner_investment < Decimal("160500000")


def test_some_later_reports_are_still_draft_or_submitted(loaded):
    later = Report.objects.filter(
        period__programme__code="PSM-NUM", period__label__in=["2020-2021", "2021-2022"]
    )
    assert later.filter(status=ReportStatus.SUBMITTED).exists()
    assert later.filter(status=ReportStatus.DRAFT).exists()


def test_the_second_programme_collects_today_and_the_partner_user_has_a_draft(loaded):
    today = timezone.localdate()
    user = get_user_model().objects.get(username=demo.PARTNER_USERNAME)
    partner = Partner.objects.for_user(user).get()

    period = Period.objects.get(programme__code="PSM-IA", state=PeriodState.OPEN)

    assert period.end < today <= period.deadline_for(partner)
    assert period.deadline - today >= datetime.timedelta(weeks=4)
    report = Report.objects.get(period=period, partner=partner)
    assert report.status == ReportStatus.DRAFT
    assert Report.objects.filter(period__programme__code="PSM-NUM", partner=partner).exists()


def test_staff_have_submitted_reports_to_review(loaded):
    staff = get_user_model().objects.get(username=demo.STAFF_USERNAME)

    assert staff.is_staff and staff.is_superuser
    assert Report.objects.filter(
        period__programme__code="PSM-IA",
        period__state=PeriodState.OPEN,
        status=ReportStatus.SUBMITTED,
    ).exists()


@pytest.mark.parametrize(
    "today, label, deadline",
    [
        (datetime.date(2026, 11, 27), "2025-2026", datetime.date(2026, 12, 31)),
        (datetime.date(2027, 2, 10), "2025-2026", datetime.date(2027, 3, 31)),
        (datetime.date(2027, 4, 1), "2026-2027", datetime.date(2027, 5, 31)),
    ],
)
def test_the_open_year_is_the_last_complete_one_with_a_deadline_weeks_away(today, label, deadline):
    open_year = demo.ia_programme(today).years[-1]

    assert (open_year.label, open_year.deadline, open_year.state) == (
        label,
        deadline,
        PeriodState.OPEN,
    )
    assert open_year.end < today < open_year.deadline


def test_running_twice_changes_no_row(loaded):
    counts, rows = row_counts(), all_rows()

    output = load_demo()

    assert row_counts() == counts
    assert all_rows() == rows
    for name in RESOURCES:
        assert re.search(rf"^  {name} : \d+ lignes \(0 nouvelles, 0 modifiées, ", output, re.M)


def test_it_prints_the_demo_credentials_and_they_work(loaded):
    for username, password in [
        (demo.STAFF_USERNAME, demo.STAFF_PASSWORD),
        (demo.PARTNER_USERNAME, demo.PARTNER_PASSWORD),
    ]:
        assert f"identifiant « {username} », mot de passe « {password} »" in loaded
        with FAST_HASHING:
            assert get_user_model().objects.get(username=username).check_password(password)


@override_settings(DEBUG=False)
def test_it_refuses_when_debug_is_off_without_force():
    counts = row_counts()

    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", stdout=io.StringIO())

    assert row_counts() == counts


@override_settings(DEBUG=True)
def test_it_runs_without_force_when_debug_is_on():
    out = io.StringIO()

    with FAST_HASHING:
        call_command("load_demo", stdout=out)

    assert "Données de démonstration chargées" in out.getvalue()
    assert Programme.objects.filter(code="PSM-NUM").exists()


def test_once_loads_nothing_when_the_demo_is_there_but_prints_the_accounts(loaded):
    counts = row_counts()

    output = load_demo(once=True)

    assert row_counts() == counts
    assert "déjà chargée" in output
    assert f"identifiant « {demo.STAFF_USERNAME} »" in output


def test_the_demo_publishes_2019_2020_with_the_published_figures(loaded):
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")

    (published,) = period.publications.all()

    assert published.figures["projects_in_progress"] == 46
    assert published.figures["partner_investment"] == "39286412.50"
    assert published.approved_reports == period.reports.filter(status="approved").count()
