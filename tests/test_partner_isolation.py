"""Isolation: every partner URL, given another partner's objects, answers 404 and changes nothing.

A matrix of every partner view (GET and POST) × every foreign object a URL or a form can name.
"""

import datetime

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.models import InvestmentLine, PartnerKind, Report
from tests import factories as make
from tests.forms_support import form_data

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def two_partners():
    """Alpha (Marie's) and Beta (Paul's), each with a report in an open period; a third
    programme only Beta takes part in."""
    today = timezone.localdate()
    deadline = today + datetime.timedelta(days=20)
    shared_programme = make.programme("PSM-A", start=D(2019, 4, 1), end=D(2030, 3, 31))
    beta_programme = make.programme("PSM-B", start=D(2019, 4, 1), end=D(2030, 3, 31))
    period = make.period(shared_programme, "2024-2025", deadline=deadline)
    beta_period = make.period(beta_programme, "2024-2025", deadline=deadline)
    alpha = make.partner("ALPHA", kind=PartnerKind.SME)
    beta = make.partner("BETA")
    users = get_user_model().objects
    marie = users.create_user("marie", email="marie@alpha.example", password="x")
    paul = users.create_user("paul", email="paul@beta.example", password="x")
    alpha.users.add(marie)
    beta.users.add(paul)
    alpha_project = make.project(shared_programme, "A-1", alpha, start=D(2020, 1, 1))
    beta_project = make.project(shared_programme, "B-1", beta, start=D(2020, 1, 1))
    beta_only = make.project(beta_programme, "B-2", beta, start=D(2020, 1, 1))
    for partner, project, per in (
        (alpha, alpha_project, period),
        (beta, beta_project, period),
        (beta, beta_only, beta_period),
    ):
        report = make.report(partner, per, status="draft")
        make.investment(report, project, "1000")
        make.jobs(report, project, 2, 1)
    return {
        "marie": marie,
        "alpha": alpha,
        "beta": beta,
        "period": period,
        "beta_period": beta_period,
        "alpha_project": alpha_project,
        "beta_project": beta_project,
    }


def snapshot():
    """Row counts of every portal table and history table, and every line amount."""
    counts = {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("portal").get_models()
    }
    counts["amounts"] = sorted(InvestmentLine.objects.values_list("pk", "amount"))
    counts["reports"] = sorted(Report.objects.values_list("pk", "status", "version"))
    return counts


# (name, partner code, programme code, period label): each names something Marie may not see.
FOREIGN = [
    ("another partner", "BETA", "PSM-A", "2024-2025"),
    ("another partner's own programme", "BETA", "PSM-B", "2024-2025"),
    ("a programme her partner is not part of", "ALPHA", "PSM-B", "2024-2025"),
    ("a partner that does not exist", "GAMMA", "PSM-A", "2024-2025"),
    ("a period that does not exist", "ALPHA", "PSM-A", "1999-2000"),
]


def dashboard_url(partner, _programme, _period):
    return f"/fr-ca/partner/{partner}/"


def report_url(partner, programme, period):
    return f"/fr-ca/partner/{partner}/reports/{programme}/{period}/"


VIEWS = {"dashboard": dashboard_url, "report": report_url}
# Every view × every foreign object its URL can name (the dashboard names only a partner).
MATRIX = [
    (view, method, foreign)
    for view, url in VIEWS.items()
    for method in ("get", "post")
    for foreign in FOREIGN
    if view == "report" or foreign[2:] == ("PSM-A", "2024-2025")
]


@pytest.mark.parametrize(
    ("view", "method", "foreign"), MATRIX, ids=[f"{v}-{m}-{f[0]}" for v, m, f in MATRIX]
)
def test_every_partner_view_answers_404_for_foreign_objects(
    client, two_partners, view, method, foreign
):
    client.force_login(two_partners["marie"])
    # A real, valid form of Marie's own report, posted to the foreign URL.
    own = form_data(client.get(report_url("ALPHA", "PSM-A", "2024-2025")))
    own["action"] = "submit"
    before = snapshot()

    _name, partner, programme, period = foreign
    target = VIEWS[view](partner, programme, period)
    response = client.get(target) if method == "get" else client.post(target, own)

    assert response.status_code == 404
    assert snapshot() == before


def test_the_dashboard_is_read_only(client, two_partners):
    client.force_login(two_partners["marie"])
    assert client.post("/fr-ca/partner/ALPHA/").status_code == 405


def test_the_matrix_covers_every_partner_url():
    """A new partner URL must be added to the matrix above."""
    from portal.urls import partner_urls

    names = {pattern.name for pattern in partner_urls}
    assert names == {"portal-home", "partner-choose", "partner-dashboard", "partner-report"}
    assert set(VIEWS) == {"dashboard", "report"}


def test_a_form_naming_another_partners_project_changes_nothing(client, two_partners):
    """Fields for Beta's project, slipped into Marie's own form, are ignored."""
    client.force_login(two_partners["marie"])
    url = report_url("ALPHA", "PSM-A", "2024-2025")
    data = form_data(client.get(url))
    beta = two_partners["beta_project"].pk
    data.update(
        {
            f"inv-{beta}-TOTAL_FORMS": "1",
            f"inv-{beta}-INITIAL_FORMS": "0",
            f"inv-{beta}-0-category": "labour",
            f"inv-{beta}-0-performer": "self",
            f"inv-{beta}-0-amount": "666",
            f"jobs-{beta}-direct": "66",
            f"jobs-{beta}-indirect": "6",
            "action": "save",
        }
    )
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 302
    assert snapshot() == before  # nothing changed on her own report either: same values
    assert not InvestmentLine.objects.filter(amount=666).exists()


def test_the_outsider_sees_only_their_own_partner(client, two_partners):
    client.force_login(two_partners["marie"])
    page = client.get("/fr-ca/partner/ALPHA/").content.decode()
    assert "A-1" in page
    assert "B-1" not in page and "B-2" not in page
    chooser = client.get("/fr-ca/partners/").content.decode()
    assert "/fr-ca/partner/ALPHA/" in chooser and "/fr-ca/partner/BETA/" not in chooser


def test_an_anonymous_visitor_is_sent_to_sign_in_and_nothing_changes(client, two_partners):
    before = snapshot()
    for target in (
        "/fr-ca/partner/ALPHA/",
        report_url("ALPHA", "PSM-A", "2024-2025"),
        "/fr-ca/partners/",
    ):
        response = client.post(target, {"version": "1", "action": "submit"})
        assert response.status_code == 302
        assert response.url.startswith("/fr-ca/accounts/login/")
    assert snapshot() == before
