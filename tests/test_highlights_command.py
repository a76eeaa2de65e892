"""`manage.py highlights`: JSON with exactly the contract's keys, CSV and XLSX, clear errors."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from portal.exports import neutralise
from tests.test_imports import load_fixtures

pytestmark = pytest.mark.django_db

KEYS = {
    "programme",
    "period",
    "start",
    "end",
    "provisional",
    "projects_in_progress",
    "collaborative_projects",
    "partners_involved",
    "partner_investment",
    "sme_research_spending",
    "jobs",
    "jobs_direct",
    "jobs_indirect",
    "new_products",
    "product_sectors",
    "cumulative_partner_investment",
    "cumulative_sme_research_share",
}


def run(*args):
    out = io.StringIO()
    call_command("highlights", *args, stdout=out)
    return out.getvalue()


def test_json_has_exactly_the_contract_keys_and_formats():
    load_fixtures()

    data = json.loads(run("PSM-NUM", "2019-2020"))

    assert set(data) == KEYS
    assert data == {
        "programme": "PSM-NUM",
        "period": "2019-2020",
        "start": "2019-04-01",
        "end": "2020-03-31",
        "provisional": False,
        "projects_in_progress": 2,
        "collaborative_projects": 1,
        "partners_involved": 3,
        "partner_investment": "1235812.35",
        "sme_research_spending": "1234812.35",
        "jobs": 22,
        "jobs_direct": 17,
        "jobs_indirect": 5,
        "new_products": 1,
        "product_sectors": ["SANTE"],
        "cumulative_partner_investment": "1235812.35",
        "cumulative_sme_research_share": "0.9992",
    }


def test_provisional_says_so():
    load_fixtures()

    data = json.loads(run("PSM-NUM", "2019-2020", "--provisional"))

    # The returned report (CRIQ) is not submitted: provisional adds nothing here but says so.
    assert data["provisional"] is True
    assert data["partner_investment"] == "1235812.35"


def test_csv_has_one_row_per_figure_with_both_labels():
    load_fixtures()

    rows = list(csv.DictReader(io.StringIO(run("PSM-NUM", "2019-2020", "--format", "csv"))))

    assert [row["key"] for row in rows] == [
        "programme", "period", "start", "end", "provisional", "projects_in_progress",
        "collaborative_projects", "partners_involved", "partner_investment",
        "sme_research_spending", "jobs", "jobs_direct", "jobs_indirect", "new_products",
        "product_sectors", "cumulative_partner_investment", "cumulative_sme_research_share",
    ]  # fmt: skip
    by_key = {row["key"]: row for row in rows}
    assert by_key["partner_investment"]["value"] == "1235812.35"
    assert by_key["partners_involved"]["label_fr"] == "Partenaires impliqués"
    assert by_key["partners_involved"]["label_en"] == "Partners involved"


def test_xlsx_parses_back_to_the_same_figures(tmp_path):
    load_fixtures()
    path = tmp_path / "figures.xlsx"

    run("PSM-NUM", "2019-2020", "--format", "xlsx", "--output", str(path))

    sheet = load_workbook(path).active
    values = {row[0]: row[3] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(values["partner_investment"])) == Decimal("1235812.35")
    assert values["jobs"] == 22
    assert values["product_sectors"] == "SANTE"


def test_an_unknown_programme_lists_those_that_exist():
    load_fixtures()

    with pytest.raises(CommandError) as error:
        run("PSM-XX", "2019-2020")

    assert "PSM-XX" in str(error.value) and "PSM-IA, PSM-NUM" in str(error.value)


def test_an_unknown_period_lists_those_of_the_programme():
    load_fixtures()

    with pytest.raises(CommandError) as error:
        run("PSM-IA", "2020-2021")

    assert "2020-2021" in str(error.value) and "Périodes existantes : 2019-2020." in str(
        error.value
    )


@pytest.mark.parametrize("text", ["=1+1", "+33", "-2", "@SUM(A1)", "\tx"])
def test_formula_cells_are_neutralised(text):
    assert neutralise(text) == "'" + text
    assert neutralise("Capteur =") == "Capteur ="
    assert neutralise(42) == 42


def test_the_xlsx_workbook_adds_the_rows_behind_each_figure(tmp_path):
    load_fixtures()
    path = tmp_path / "figures.xlsx"

    run("PSM-NUM", "2019-2020", "--format", "xlsx", "--output", str(path))

    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames[0] == "Faits saillants" and len(workbook.sheetnames) > 1
    investments = next(name for name in workbook.sheetnames if name.startswith("Investissements"))
    rows = list(workbook[investments].iter_rows(values_only=True))
    amount = rows[0].index("amount")
    assert sum(Decimal(str(r[amount])) for r in rows[1:]) == Decimal("1235812.35")
