"""Downloads of the annual figures: CSV, XLSX, JSON and PDF parse back to the figures shown."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.templatetags.static import static
from django.utils import translation
from openpyxl import load_workbook

from portal import publication as publishing
from portal.exports import DRILLDOWN_SHEETS, FIGURES_SHEET
from portal.models import InvestmentLine, Partner, Period, ReportStatus, Sector
from portal.views.downloads import static_fetcher

pytestmark = pytest.mark.django_db

PUBLISHED = "/fr-ca/highlights/PSM-NUM/2019-2020/export.{}"
UNPUBLISHED = "/fr-ca/highlights/PSM-NUM/2021-2022/export.{}"
MONEY = ("partner_investment", "sme_research_spending", "cumulative_partner_investment")
SHEETS = [title for _drilldown, title, _columns in DRILLDOWN_SHEETS]


@pytest.fixture(autouse=True)
def same_language_afterwards():
    """A request under /en/ leaves English active in this thread: later tests expect French."""
    language = translation.get_language()
    yield
    translation.activate(language)


@pytest.fixture
def published(demo):
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
    return publishing.latest(period)


@pytest.fixture
def staff(client, demo):
    client.force_login(get_user_model().objects.get(username="personnel"))
    return client


@pytest.fixture
def partner_user(client, demo):
    client.force_login(get_user_model().objects.get(username="partenaire"))
    return client


def download(client, format, url=PUBLISHED, **params):
    response = client.get(url.format(format), params)
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def as_csv_value(value):
    """A figure of the JSON document the way the CSV writes it."""
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def csv_figures(content):
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    return {row["key"]: row["value"] for row in rows}


def workbook(content):
    return load_workbook(io.BytesIO(content), read_only=True)


def sheet_rows(book, title):
    """The sheet's rows as dictionaries keyed by its header."""
    header, *rows = book[title].values
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_figures(book):
    return {row["key"]: row["value"] for row in sheet_rows(book, FIGURES_SHEET)}


def raise_an_approved_amount():
    """Change the published period's data afterwards: the live figures move, the snapshot not."""
    line = InvestmentLine.objects.filter(
        report__period__programme__code="PSM-NUM",
        report__period__label="2019-2020",
        report__status=ReportStatus.APPROVED,
    ).first()
    InvestmentLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("1000000.00"))


class TestPublicDownloads:
    def test_csv_parses_back_to_the_publication(self, client, published):
        figures = csv_figures(download(client, "csv"))

        assert figures == {key: as_csv_value(value) for key, value in published.figures.items()}
        assert figures["partner_investment"] == "39286412.50"

    def test_json_is_the_publication_document(self, client, published):
        assert json.loads(download(client, "json")) == published.figures

    def test_the_public_workbook_has_the_figures_sheet_only_with_numbers_as_numbers(
        self, client, published
    ):
        book = workbook(download(client, "xlsx"))
        figures = xlsx_figures(book)

        assert book.sheetnames == [FIGURES_SHEET]
        assert figures["projects_in_progress"] == 46
        assert figures["jobs"] == 474
        assert Decimal(str(figures["partner_investment"])) == Decimal("39286412.50")
        for key, value in published.figures.items():
            if key in MONEY or key == "cumulative_sme_research_share":
                assert Decimal(str(figures[key])) == Decimal(value), key
            elif isinstance(value, int) and not isinstance(value, bool):
                assert figures[key] == value, key
            else:
                assert figures[key] == as_csv_value(value), key

    def test_the_workbook_has_french_and_english_labels(self, client, published):
        rows = sheet_rows(workbook(download(client, "xlsx")), FIGURES_SHEET)
        labels = {row["key"]: (row["label_fr"], row["label_en"]) for row in rows}

        assert labels["jobs"] == ("Emplois", "Jobs")
        assert labels["partners_involved"] == ("Partenaires impliqués", "Partners involved")

    def test_the_file_is_named_after_programme_and_period(self, client, published):
        response = client.get(PUBLISHED.format("xlsx"))

        assert response["Content-Disposition"] == (
            'attachment; filename="PSM-NUM_2019-2020_faits-saillants.xlsx"'
        )
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")

    def test_the_public_gets_the_snapshot_when_approved_data_changed_since(self, client, published):
        raise_an_approved_amount()

        figures = json.loads(download(client, "json", version="live"))

        assert figures == published.figures

    def test_an_unknown_format_is_404(self, staff):
        assert staff.get(PUBLISHED.format("yaml")).status_code == 404
        assert staff.get(PUBLISHED.format("xls")).status_code == 404


class TestUnpublishedPeriods:
    @pytest.mark.parametrize("format", ["csv", "xlsx", "json", "pdf"])
    def test_anonymous_users_get_404(self, client, demo, format):
        assert client.get(UNPUBLISHED.format(format)).status_code == 404

    @pytest.mark.parametrize("format", ["csv", "xlsx", "json", "pdf"])
    def test_partner_users_get_404(self, partner_user, format):
        assert partner_user.get(UNPUBLISHED.format(format)).status_code == 404

    def test_an_unknown_period_is_404(self, staff):
        assert staff.get("/fr-ca/highlights/PSM-NUM/1999-2000/export.csv").status_code == 404

    def test_staff_get_the_live_figures(self, staff):
        figures = json.loads(download(staff, "json", url=UNPUBLISHED))

        assert figures["period"] == "2021-2022"
        assert figures["provisional"] is False


class TestStaffWorkbook:
    def test_it_has_one_sheet_per_drilldown_after_the_figures(self, staff, published):
        book = workbook(download(staff, "xlsx"))

        assert book.sheetnames == [FIGURES_SHEET, *SHEETS]

    def test_the_drilldown_sheets_add_up_to_the_figures(self, staff, published):
        book = workbook(download(staff, "xlsx"))
        figures = published.figures

        def total(title, column):
            cents = sum(Decimal(str(row[column])) for row in sheet_rows(book, title))
            return cents.quantize(Decimal("0.01"))

        assert total("Investissements", "amount") == Decimal("39286412.50")
        assert total("Investissements", "amount") == Decimal(figures["partner_investment"])
        assert total("PME et centres de recherche", "amount") == Decimal(
            figures["sme_research_spending"]
        )
        assert total("Emplois", "direct") == figures["jobs_direct"]
        assert total("Emplois", "indirect") == figures["jobs_indirect"]
        assert total("Emplois", "direct") + total("Emplois", "indirect") == 474
        assert len(sheet_rows(book, "Projets")) == figures["projects_in_progress"] == 46
        collaborative = [
            row for row in sheet_rows(book, "Projets") if row["type"] == "collaborative_fundamental"
        ]
        assert len(collaborative) == figures["collaborative_projects"]
        assert len(sheet_rows(book, "Partenaires")) == figures["partners_involved"]
        products = sheet_rows(book, "Nouveaux produits")
        assert len(products) == figures["new_products"]
        assert sorted({row["sector"] for row in products}) == figures["product_sectors"]

    def test_drilldown_rows_carry_codes_names_and_amounts(self, staff, published):
        row = sheet_rows(workbook(download(staff, "xlsx")), "Investissements")[0]

        assert set(row) == {
            "period",
            "partner",
            "partner_name",
            "project",
            "category",
            "performer",
            "amount",
        }
        assert row["period"] == "2019-2020"
        assert isinstance(row["amount"], float | int)

    def test_staff_see_the_live_figures_when_they_ask(self, staff, published):
        raise_an_approved_amount()

        published_figures = xlsx_figures(workbook(download(staff, "xlsx")))
        live = xlsx_figures(workbook(download(staff, "xlsx", version="live")))

        assert Decimal(str(published_figures["partner_investment"])) == Decimal("39286412.50")
        assert Decimal(str(live["partner_investment"])) == Decimal("40286412.50")

    def test_staff_downloads_are_not_kept_by_shared_caches(self, staff, published):
        response = staff.get(PUBLISHED.format("xlsx"))

        assert "private" in response["Cache-Control"]
        assert "no-store" in response["Cache-Control"]


class TestFormulaNeutralisation:
    def test_text_cells_that_a_spreadsheet_would_run_begin_with_an_apostrophe(
        self, staff, published
    ):
        Partner.objects.filter(code="AEROSTL").update(name='=HYPERLINK("http://x","y")')
        book = workbook(download(staff, "xlsx"))

        partners = {row["code"]: row for row in sheet_rows(book, "Partenaires")}
        lines = [row for row in sheet_rows(book, "Investissements") if row["partner"] == "AEROSTL"]
        assert partners["AEROSTL"]["name"] == '\'=HYPERLINK("http://x","y")'
        assert lines and {row["partner_name"] for row in lines} == {partners["AEROSTL"]["name"]}
        # Numbers are not text: they stay numbers, whatever their sign.
        assert all(isinstance(row["amount"], float | int) for row in lines)

    @pytest.mark.parametrize("start", ["=", "+", "-", "@"])
    def test_csv_and_xlsx_neutralise_every_formula_start(self, staff, published, start):
        Sector.objects.filter(code="AUTO").update(code=f"{start}AUTO")

        csv_value = csv_figures(download(staff, "csv", version="live"))["product_sectors"]
        book = workbook(download(staff, "xlsx", version="live"))
        xlsx_value = xlsx_figures(book)["product_sectors"]
        products = sheet_rows(book, "Nouveaux produits")

        assert csv_value.startswith(f"'{start}AUTO")
        assert xlsx_value.startswith(f"'{start}AUTO")
        assert f"'{start}AUTO" in {row["sector"] for row in products}


def pdf_text(content):
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    # French typography: no-break and narrow no-break spaces inside « 39,3 M$ ».
    return text.replace("\u00a0", " ").replace("\u202f", " ")


class TestPdf:
    def test_the_one_pager_shows_the_published_figures(self, client, published):
        response = client.get(PUBLISHED.format("pdf"))
        text = pdf_text(response.content)

        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            'attachment; filename="PSM-NUM_2019-2020_faits-saillants.pdf"'
        )
        assert "39,3 M$" in text
        assert "46" in text
        assert "474" in text

    def test_it_fits_on_one_page(self, client, published):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(download(client, "pdf")))

        assert len(reader.pages) == 1

    def test_the_english_one_pager_writes_english_numbers(self, client, published):
        text = pdf_text(download(client, "pdf", url="/en/highlights/PSM-NUM/2019-2020/export.{}"))

        assert "$39.3M" in text


class TestStaticFetcher:
    def test_static_files_are_read_from_disk(self):
        fetcher = static_fetcher("http://testserver/")

        response = fetcher("http://testserver/static/admin/css/base.css")

        assert response.content_type == "text/css"
        assert b"body" in response.read()

    def test_collected_files_with_hashed_names_are_read_too(self, settings, tmp_path):
        settings.STATIC_ROOT = tmp_path
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
            },
        }
        call_command("collectstatic", "--noinput", verbosity=0)
        url = static("admin/css/base.css")

        response = static_fetcher("http://testserver/")(f"http://testserver{url}")

        assert url != "/static/admin/css/base.css"
        assert response.content_type == "text/css"
        assert b"body" in response.read()

    def test_nothing_else_is_fetched(self):
        fetcher = static_fetcher("http://testserver/")

        for url in (
            "http://example.org/static/admin/css/base.css",
            "http://testserver/admin/",
            "file:///etc/passwd",
            "http://testserver/static/../../etc/passwd",
        ):
            with pytest.raises(Exception):  # noqa: B017, PT011 (WeasyPrint catches any error)
                fetcher(url)
