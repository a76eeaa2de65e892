"""The drill-downs: the rows behind each figure, their totals equal to the figures, the exports,
and nobody but staff who may view reports ever sees them."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext
from openpyxl import load_workbook

from portal.highlights import DRILLDOWN_OF, PRODUCTS, compute, figure_rows
from portal.models import Partner, Period
from portal.roles import REVIEWERS
from portal.views.drilldown import MAX_PAGE_SIZE, CappedPaginator
from tests import factories

pytestmark = pytest.mark.django_db

FIGURES = sorted(set(DRILLDOWN_OF.values()))


@pytest.fixture
def staff_client(client, demo):
    client.force_login(get_user_model().objects.get(username="personnel"))
    return client


def url(figure, programme="PSM-NUM", period="2019-2020"):
    return reverse("highlights-drilldown", args=[programme, period, figure])


def exported_csv(client, figure, query=""):
    response = client.get(url(figure) + f"?_export=csv{query}")
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def exported_xlsx(client, figure, query=""):
    response = client.get(url(figure) + f"?_export=xlsx{query}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def demo_period():
    return Period.objects.select_related("programme").get(
        programme__code="PSM-NUM", label="2019-2020"
    )


def statements(response):
    return {line["key"]: line for line in response.context["statements"]}


class DemoTotalsTests:
    """The demo's 2019-2020: each drill-down's total is the published figure."""

    @pytest.fixture
    def figures(self, demo):
        return compute(demo_period())

    @pytest.mark.parametrize(
        "figure, key, expected, shown",
        [
            ("projects", "projects_in_progress", 46, "46"),
            ("projects", "collaborative_projects", 9, "9"),
            ("partners", "partners_involved", 17, "17"),
            ("investments", "partner_investment", Decimal("39286412.50"), "39 286 412,50 $"),
            ("sme_research", "sme_research_spending", Decimal("5912345.67"), "5 912 345,67 $"),
            ("jobs", "jobs", 474, "474"),
            ("products", "new_products", 6, "6"),
        ],
    )
    def test_the_page_says_the_total_equals_the_figure(
        self, staff_client, figures, figure, key, expected, shown
    ):
        response = staff_client.get(url(figure))

        assert response.status_code == 200
        assert getattr(figures, key) == expected
        line = statements(response)[key]
        assert line["equal"]
        assert line["total"].replace("\u00a0", " ") == shown
        assert line["published"] is None  # the demo's publication is the live figure
        assert "égal au chiffre des faits saillants." in response.content.decode()

    def test_the_jobs_page_gives_direct_indirect_and_total(self, staff_client, figures):
        lines = statements(staff_client.get(url("jobs")))

        assert lines["jobs_direct"]["total"] == str(figures.jobs_direct)
        assert lines["jobs_indirect"]["total"] == str(figures.jobs_indirect)
        assert figures.jobs_direct + figures.jobs_indirect == 474
        assert all(line["equal"] for line in lines.values())

    def test_the_products_page_names_the_three_sectors(self, staff_client):
        line = statements(staff_client.get(url("products")))["product_sectors"]

        assert line["equal"]
        assert line["total"] == (
            "Automobile, Communications et informations, Sciences de la vie et santé"
        )

    def test_the_cumulative_investments_reach_the_cumulative_figure(self, staff_client, figures):
        rows = exported_csv(staff_client, "cumulative_investments")

        total = sum(Decimal(row["Montant ($)"]) for row in rows)
        assert total == figures.cumulative_partner_investment

    def test_the_type_filter_gives_the_collaborative_projects(self, staff_client):
        response = staff_client.get(url("projects") + "?type=collaborative_fundamental")

        assert response.context["filtered"]
        assert response.context["shown_count"] == 9
        assert len(exported_csv(staff_client, "projects", "&type=collaborative_fundamental")) == 9

    @pytest.mark.parametrize(
        "figure, rows",
        [("projects", 46), ("partners", 17), ("products", 6)],
    )
    def test_the_exports_have_every_row(self, staff_client, figure, rows):
        assert len(exported_csv(staff_client, figure)) == rows
        assert len(exported_xlsx(staff_client, figure)) == rows

    @pytest.mark.parametrize(
        "figure, expected",
        [("investments", Decimal("39286412.50")), ("sme_research", Decimal("5912345.67"))],
    )
    def test_the_exported_amounts_add_up_to_the_figure(self, staff_client, figure, expected):
        from_csv = sum(Decimal(row["Montant ($)"]) for row in exported_csv(staff_client, figure))
        xlsx_amounts = [row["Montant ($)"] for row in exported_xlsx(staff_client, figure)]

        assert from_csv == expected
        assert all(isinstance(amount, int | float) for amount in xlsx_amounts)  # numbers
        assert round(Decimal(str(sum(xlsx_amounts))), 2) == expected

    def test_the_exported_jobs_add_up_to_474(self, staff_client):
        for rows in (exported_csv(staff_client, "jobs"), exported_xlsx(staff_client, "jobs")):
            direct = sum(int(row["Emplois directs"]) for row in rows)
            indirect = sum(int(row["Emplois indirects"]) for row in rows)
            assert direct + indirect == sum(int(row["Emplois"]) for row in rows) == 474

    def test_the_export_is_named_after_programme_period_and_figure(self, staff_client):
        response = staff_client.get(url("investments") + "?_export=xlsx")

        assert response["Content-Disposition"] == (
            'attachment; filename="PSM-NUM_2019-2020_investments.xlsx"'
        )

    def test_the_export_follows_the_table_sort(self, staff_client):
        amounts = [
            Decimal(row["Montant ($)"])
            for row in exported_csv(staff_client, "investments", "&sort=-amount")
        ]

        assert len(amounts) > 100
        assert amounts == sorted(amounts, reverse=True)

    def test_a_filter_narrows_the_export(self, staff_client):
        partner = Partner.objects.get(code="LOGCAP")
        rows = exported_csv(staff_client, "investments", f"&partner={partner.pk}")

        assert rows
        assert {row["Partenaire"] for row in rows} == {"LOGCAP"}

    def test_the_project_search_narrows_the_lines(self, staff_client):
        rows = exported_csv(staff_client, "investments", "&project=NUM-004")

        assert rows
        assert {row["Projet"] for row in rows} == {"NUM-004"}

    def test_the_provisional_view_adds_the_submitted_reports_and_says_so(self, staff_client):
        provisional = compute(demo_period(), provisional=True)

        response = staff_client.get(url("investments") + "?provisional=1")

        assert response.context["provisional"]
        assert provisional.partner_investment > Decimal("39286412.50")
        assert statements(response)["partner_investment"]["equal"]
        assert "Provisoire" in response.content.decode()
        rows = exported_csv(staff_client, "investments", "&provisional=1")
        assert sum(Decimal(row["Montant ($)"]) for row in rows) == provisional.partner_investment

    def test_a_change_after_publication_is_shown_against_the_published_figure(self, staff_client):
        product = figure_rows(demo_period(), PRODUCTS).first()
        product.pk = None
        product.name = "Un septième produit"
        product.save()

        line = statements(staff_client.get(url("products")))["new_products"]

        assert (line["total"], line["equal"], line["published"]) == ("7", True, "6")

    def test_formula_like_text_is_exported_neutralised(self, staff_client):
        product = figure_rows(demo_period(), PRODUCTS).first()
        product.pk = None
        product.name = "=1+1"
        product.save()

        names_csv = {row["Nom du produit"] for row in exported_csv(staff_client, "products")}
        names_xlsx = {row["Nom du produit"] for row in exported_xlsx(staff_client, "products")}

        assert "'=1+1" in names_csv
        assert "'=1+1" in names_xlsx
        assert "=1+1" not in names_csv | names_xlsx

    @pytest.mark.parametrize("format", ["yaml", "json", "latex", "tsv", ""])
    def test_only_csv_and_xlsx_are_exported(self, staff_client, format):
        response = staff_client.get(url("investments") + f"?_export={format}")

        assert response.status_code == 400

    def test_a_streamed_export_speaks_the_language_of_its_request(self, staff_client):
        with translation.override("en"):
            response = staff_client.get(url("investments") + "?_export=csv")
            amount = str(capfirst(gettext("montant ($)")))
            labour = gettext("main-d'œuvre")

        # The lines are written now, after the view and outside its language.
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

        assert amount != "Montant ($)"
        assert sum(Decimal(row[amount]) for row in rows) == Decimal("39286412.50")
        assert labour in {cell for row in rows for cell in row.values()}

    def test_a_page_never_lists_more_than_500_rows(self):
        assert CappedPaginator(range(1000), 100_000).per_page == MAX_PAGE_SIZE == 500
        assert CappedPaginator(range(1000), 0).per_page == 1

    def test_an_unknown_drilldown_is_not_found(self, staff_client):
        assert staff_client.get(url("partner_investment")).status_code == 404
        assert staff_client.get(url("projects", period="1999-2000")).status_code == 404


class AccessTests:
    """Staff only, always: everyone else gets 404, for the page and for its exports."""

    @pytest.fixture
    def partner_user(self, demo):
        user = get_user_model().objects.create_user("employe", "employe@x.example", "x")
        Partner.objects.get(code="LOGCAP").users.add(user)
        return user

    @pytest.fixture
    def staff_without_view_report(self, demo):
        return get_user_model().objects.create_user(
            "benevole", "benevole@x.example", "x", is_staff=True
        )

    @pytest.fixture
    def staff_member_of_a_partner(self, demo):
        user = get_user_model().objects.create_user(
            "double", "double@x.example", "x", is_staff=True
        )
        user.user_permissions.add(Permission.objects.get(codename="view_report"))
        Partner.objects.get(code="LOGCAP").users.add(user)
        return user

    @pytest.mark.parametrize("figure", FIGURES)
    @pytest.mark.parametrize("query", ["", "?_export=csv", "?_export=xlsx", "?_export=yaml"])
    @pytest.mark.parametrize(
        "who", ["partner_user", "staff_without_view_report", "staff_member_of_a_partner"]
    )
    def test_everyone_but_staff_gets_404(self, client, request, demo, figure, query, who):
        client.force_login(request.getfixturevalue(who))

        assert client.get(url(figure) + query).status_code == 404

    @pytest.mark.parametrize("figure", [*FIGURES, "no-such-figure"])
    def test_an_anonymous_visitor_is_asked_to_sign_in_whether_it_exists_or_not(
        self, client, demo, figure
    ):
        response = client.get(url(figure) + "?_export=csv")

        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")

    @pytest.mark.parametrize("figure", FIGURES)
    def test_staff_who_may_view_reports_see_every_drilldown(self, client, demo, figure):
        reviewer = get_user_model().objects.create_user(
            "revue", "revue@x.example", "x", is_staff=True
        )
        reviewer.groups.add(Group.objects.get(name=REVIEWERS))
        client.force_login(reviewer)

        assert client.get(url(figure)).status_code == 200


def build(size):
    """A programme whose 2019-2020 figures are made of `size` rows in every drill-down."""
    programme = factories.programme(code=f"Q{size}")
    period = factories.period(programme)
    sector = factories.sector()
    for i in range(size):
        partner = factories.partner(f"Q{size}-{i}")
        project = factories.project(programme, f"Q{size}-P{i}", partner)
        report = factories.report(partner, period)
        factories.investment(report, project, "1000.10", performer="quebec_sme")
        factories.jobs(report, project, 2, 1)
        factories.product(report, project, f"Produit {i}", datetime.date(2019, 6, 1), sector)
    return programme


class QueryCountTests:
    @pytest.fixture
    def reviewer_client(self, client):
        reviewer = get_user_model().objects.create_user(
            "revue", "revue@x.example", "x", is_staff=True
        )
        reviewer.groups.add(Group.objects.get(name=REVIEWERS))
        client.force_login(reviewer)
        return client

    @pytest.mark.parametrize("figure", FIGURES)
    def test_the_page_and_its_export_query_the_same_for_10_and_200_rows(
        self, reviewer_client, django_assert_max_num_queries, figure
    ):
        small, large = build(10), build(200)
        query = "?per_page=250&sort=-partner"

        def page(programme, export=""):
            response = reviewer_client.get(url(figure, programme.code) + query + export)
            assert response.status_code == 200
            if response.streaming:
                return b"".join(response.streaming_content)
            return response.content

        with CaptureQueriesContext(connection) as small_page:
            page(small)
        with CaptureQueriesContext(connection) as small_export:
            page(small, "&_export=csv")
        with django_assert_max_num_queries(len(small_page)):
            content = page(large)
        with django_assert_max_num_queries(len(small_export)):
            exported = page(large, "&_export=csv")

        assert content.count(b"/admin/portal/") >= 200
        assert exported.count(b"\n") >= 201


@pytest.mark.django_db
def test_a_drilldown_too_large_for_a_workbook_asks_for_csv(staff_client, settings):
    settings.DRILLDOWN_XLSX_MAX_ROWS = 10

    refused = staff_client.get(url("investments") + "?_export=xlsx")
    csv_export = staff_client.get(url("investments") + "?_export=csv")

    assert refused.status_code == 400
    assert "trop pour un classeur XLSX (maximum 10)" in refused.content.decode()
    assert csv_export.status_code == 200
