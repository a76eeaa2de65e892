"""`manage.py import_data`: the data contract's files, all or nothing, every bad cell named."""

import datetime
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from portal.highlights import highlights_for
from portal.models import (
    Extension,
    InvestmentLine,
    JobLine,
    Participation,
    Partner,
    Period,
    ProductLine,
    Programme,
    Project,
    Report,
    ReportStatus,
    Sector,
)
from portal.resources import RESOURCES
from tests import factories as f

pytestmark = pytest.mark.django_db
D = datetime.date
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
MODELS = [
    Programme,
    Period,
    Extension,
    Sector,
    Partner,
    Project,
    Participation,
    Report,
    InvestmentLine,
    JobLine,
    ProductLine,
]


def write_csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def write_xlsx(tmp_path, name, rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run_import(resource, path, *extra):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_data", resource, str(path), *extra, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue() + str(error)
    return 0, out.getvalue(), err.getvalue()


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def load_fixtures():
    for name in RESOURCES:
        code, out, err = run_import(name, FIXTURES / f"{name}.csv")
        assert code == 0, err


class TestContractFiles:
    def test_the_contract_order_fills_an_empty_database(self):
        load_fixtures()

        figures = highlights_for("PSM-NUM", "2019-2020")

        assert counts() == {
            "Programme": 2,
            "Period": 3,
            "Extension": 1,
            "Sector": 3,
            "Partner": 4,
            "Project": 3,
            "Participation": 4,
            "Report": 5,
            "InvestmentLine": 5,
            "JobLine": 3,
            "ProductLine": 3,
        }
        assert figures.partner_investment == Decimal("1235812.35")
        assert figures.sme_research_spending == Decimal("1234812.35")
        assert (figures.jobs_direct, figures.jobs_indirect) == (17, 5)
        assert (figures.new_products, figures.product_sectors) == (1, ("SANTE",))
        assert (figures.projects_in_progress, figures.partners_involved) == (2, 3)
        period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
        assert (period.extended_deadline, period.extension_reason) == (D(2020, 8, 31), "COVID-19")

    def test_reimporting_the_same_files_changes_nothing(self):
        load_fixtures()
        before = counts()
        history = Report.history.count() + InvestmentLine.history.count()

        for name in RESOURCES:
            code, out, _err = run_import(name, FIXTURES / f"{name}.csv")
            assert code == 0
            assert "0 nouvelles, 0 modifiées" in out

        assert counts() == before
        assert Report.history.count() + InvestmentLine.history.count() == history

    def test_a_changed_cell_updates_the_row_and_leaves_history(self, tmp_path):
        load_fixtures()
        text = (FIXTURES / "investments.csv").read_text().replace("1 234 567,89", "1 234 567,90")

        code, out, _ = run_import("investments", write_csv(tmp_path, "inv.csv", text))

        assert code == 0 and "1 modifiées" in out
        line = InvestmentLine.objects.get(amount=Decimal("1234567.90"))
        assert line.history.first().history_change_reason == "import"
        assert InvestmentLine.objects.count() == 5

    def test_imported_report_statuses_are_recorded_in_the_history(self):
        load_fixtures()

        report = Report.objects.get(partner__code="CRIQ", period__label="2019-2020")

        assert report.status == ReportStatus.RETURNED
        assert report.comment == "Montants à ventiler par catégorie"
        assert report.history.first().history_change_reason == "import"

    def test_xlsx_files_import_like_csv(self, tmp_path):
        path = write_xlsx(
            tmp_path,
            "partners.xlsx",
            [
                ["code", "name", "kind", "quebec"],
                ["XL1", "Classeur inc.", "sme", "oui"],
                ["XL2", "Tableur ltée", "large_enterprise", False],
                ["XL3", "Centre", "research_centre", 1],
            ],
        )

        code, _, err = run_import("partners", path)

        assert code == 0, err
        assert list(Partner.objects.order_by("code").values_list("code", "quebec")) == [
            ("XL1", True),
            ("XL2", False),
            ("XL3", True),
        ]

    def test_xlsx_numbers_and_dates_are_read_as_typed(self, tmp_path):
        call_command(
            "import_data", "programmes", str(FIXTURES / "programmes.csv"), stdout=io.StringIO()
        )
        path = write_xlsx(
            tmp_path,
            "periods.xlsx",
            [
                [
                    "programme",
                    "label",
                    "start",
                    "end",
                    "deadline",
                    "extended_deadline",
                    "extension_reason",
                ],
                [
                    "PSM-NUM",
                    "2030-2031",
                    datetime.datetime(2030, 4, 1),
                    D(2031, 3, 31),
                    "2031-05-31",
                    None,
                    None,
                ],
            ],
        )

        code, _, err = run_import("periods", path)

        assert code == 0, err
        assert Period.objects.get(label="2030-2031").start == D(2030, 4, 1)

    def test_dry_run_validates_and_writes_nothing(self):
        code, out, _ = run_import("programmes", FIXTURES / "programmes.csv", "--dry-run")

        assert code == 0 and "essai" in out
        assert Programme.objects.count() == 0


class TestRoundTrip:
    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_every_resource_exported_then_imported_gives_the_same_figures(self, tmp_path, fmt):
        load_fixtures()
        before = {label: highlights_for("PSM-NUM", label) for label in ("2019-2020", "2020-2021")}
        before_counts = counts()
        files = {}
        for name, resource_class in RESOURCES.items():
            dataset = resource_class().export()
            assert list(dataset.headers) == resource_class.columns()
            path = tmp_path / f"{name}.{fmt}"
            if fmt == "csv":
                path.write_text(dataset.csv, encoding="utf-8")
            else:
                path.write_bytes(dataset.export("xlsx"))
            files[name] = path
        for model in reversed(MODELS):
            model.objects.all().delete()

        for name, path in files.items():
            code, _out, err = run_import(name, path)
            assert code == 0, f"{name}: {err}"

        assert counts() == before_counts
        for label, figures in before.items():
            assert highlights_for("PSM-NUM", label) == figures


class TestBadRows:
    def test_every_bad_cell_is_named_and_nothing_is_imported(self, tmp_path):
        load_fixtures()
        before = counts()
        path = write_csv(
            tmp_path,
            "investments.csv",
            """
period,partner,project,amount,category,performer
2019-2020,ALPHA,NUM-1,"10,00",labour,quebec_sme
2019-2020,ALPHA,NUM-1,douze,labour,self
2019-2020,NOBODY,NUM-1,1.00,labour,self
2019-2020,ALPHA,NOPE,1.00,labour,self
2019-2020,ALPHA,NUM-1,-5.00,equipment,self
2019-2020,ALPHA,NUM-1,1.00,food,self
2019-2020,ALPHA,NUM-1,,materials,self
1999-2000,ALPHA,NUM-1,1.00,other,self
2019-2020,BETA,NUM-1,1.00,other,self
2019-2020,ALPHA,NUM-1,"10,00",labour,quebec_sme
2019-2020,ALPHA,NUM-1,1.005,subcontracting,other
""",
        )

        code, _out, err = run_import("investments", path)

        assert code == 1
        lines = [line for line in err.splitlines() if line.startswith("row ")]
        assert lines == [
            "row 2, column amount: « douze » n'est pas un nombre.",
            "row 3, column partner: partenaire inconnu « NOBODY »",
            "row 4, column project: projet inconnu « NOPE »",
            "row 5, column amount: Assurez-vous que cette valeur est supérieure ou égale à 0.",
            "row 6, column category: « food » n'est pas une valeur permise "
            "(labour, equipment, subcontracting, materials, other)",
            "row 7, column amount: valeur requise",
            "row 8, column period: période inconnue « 1999-2000 » du programme PSM-NUM",
            "row 9, column project: Le partenaire du rapport ne participe pas à ce projet.",
            "row 10, column period: même clé naturelle que la ligne 1 du fichier",
            "row 11, column amount: « 1.005 » a plus de 2 décimales.",
        ]
        assert "rien n'a été importé" in err
        assert counts() == before

    def test_one_bad_row_among_good_ones_imports_nothing(self, tmp_path):
        path = write_csv(
            tmp_path,
            "partners.csv",
            """
code,name,kind,quebec
A1,Alpha,sme,oui
A2,Beta,sme,peut-être
A3,Gamma,research_centre,non
""",
        )

        code, _, err = run_import("partners", path)

        assert code == 1
        assert "row 2, column quebec: « peut-être » n'est pas un booléen" in err
        assert Partner.objects.count() == 0

    def test_cross_column_rules_are_named(self, tmp_path):
        load_fixtures()
        path = write_csv(
            tmp_path,
            "mixed.csv",
            """
programme,period,partner,status,comment
PSM-NUM,2020-2021,BETA,returned,
PSM-NUM,2031-2032,BETA,draft,
PSM-NUM,2020-2021,BETA,lost,
""",
        )

        code, _, err = run_import("reports", path)

        assert code == 1
        assert "row 1, column comment: Le commentaire est requis pour un rapport retourné." in err
        assert "row 2, column period: période inconnue « 2031-2032 » du programme PSM-NUM" in err
        assert "row 3, column status: « lost » n'est pas une valeur permise" in err

    def test_dates_and_extensions_are_checked(self, tmp_path):
        call_command(
            "import_data", "programmes", str(FIXTURES / "programmes.csv"), stdout=io.StringIO()
        )
        path = write_csv(
            tmp_path,
            "periods.csv",
            """
programme,label,start,end,deadline,extended_deadline,extension_reason
PSM-NUM,A,2019-04-01,2020-03-31,2020-05-31,2020-05-01,Trop tôt
PSM-NUM,B,2019-04-01,2020-03-31,2020-05-31,2020-08-31,
PSM-NUM,C,01/04/2019,2020-03-31,2020-05-31,,
PSM-NUM,D,2020-04-01,2019-03-31,2020-05-31,,
""",
        )

        code, _, err = run_import("periods", path)

        assert code == 1
        assert (
            "row 1, column extended_deadline: doit suivre la date limite de la colonne deadline"
            in err
        )
        assert "row 2, column extension_reason: requis quand la date est prolongée" in err
        assert "row 3, column start: « 01/04/2019 » n'est pas une date AAAA-MM-JJ." in err
        assert "row 4, column end: la fin précède le début" in err
        assert Period.objects.count() == 0


class TestFileProblems:
    def test_missing_and_unknown_columns_are_one_clear_message(self, tmp_path):
        path = write_csv(tmp_path, "p.csv", "code,name,kind,province\nA,B,sme,QC\n")

        code, _, err = run_import("partners", path)

        assert code == 1
        assert "colonnes manquantes : quebec" in err
        assert "colonnes inconnues : province" in err

    def test_an_unknown_resource_lists_the_known_ones(self, tmp_path):
        code, _, err = run_import("budgets", write_csv(tmp_path, "b.csv", "a\n1\n"))

        assert code == 1
        assert "Ressource inconnue « budgets »" in err and "investments" in err

    def test_a_binary_file_is_refused(self, tmp_path):
        path = tmp_path / "photo.csv"
        path.write_bytes(bytes(range(256)) * 4)

        code, _, err = run_import("partners", path)

        assert code == 1
        assert "ni un CSV en UTF-8 ni un classeur XLSX" in err

    def test_a_broken_xlsx_is_refused(self, tmp_path):
        path = tmp_path / "broken.xlsx"
        path.write_bytes(b"PK\x03\x04 not really a zip")

        code, _, err = run_import("partners", path)

        assert code == 1
        assert "XLSX" in err

    def test_a_missing_file_is_named(self, tmp_path):
        code, _, err = run_import("partners", tmp_path / "absent.csv")

        assert code == 1 and "Fichier introuvable" in err

    @pytest.mark.parametrize(
        "args, expected",
        [
            (["budgets", "x.csv"], "Ressource inconnue"),
            (["partners", "absent.csv"], "Fichier introuvable"),
        ],
    )
    def test_the_command_line_prints_one_line_and_no_traceback(self, tmp_path, args, expected):
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
        done = subprocess.run(
            [sys.executable, "manage.py", "import_data", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert done.returncode != 0
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_french_amounts_and_booleans_are_accepted(tmp_path):
    prog = f.programme()
    period = f.period(prog)
    alpha = f.partner("ALPHA")
    project = f.project(prog, "NUM-1", alpha)
    f.report(alpha, period)
    path = write_csv(
        tmp_path,
        "inv.csv",
        "period,partner,project,amount,category,performer\n"
        '2019-2020,ALPHA,NUM-1,"1 234,56",labour,self\n'
        "2019-2020,ALPHA,NUM-1,1\u00a0000\u202f000.5,equipment,self\n"
        '2019-2020,ALPHA,NUM-1,"2,345.10",materials,self\n',
    )

    code, _, err = run_import("investments", path)

    assert code == 0, err
    assert sorted(
        InvestmentLine.objects.filter(project=project).values_list("amount", flat=True)
    ) == [
        Decimal("1234.56"),
        Decimal("2345.10"),
        Decimal("1000000.50"),
    ]


def test_sectors_and_participations_round_trip_by_code():
    sector = f.sector("SANTE", "Sciences de la vie et santé", "Life sciences and health")
    dataset = RESOURCES["sectors"]().export()

    assert dataset.dict == [{"code": "SANTE", "name_fr": sector.name_fr, "name_en": sector.name_en}]


@pytest.mark.parametrize("written", ["20190401", "2019-W14-1", "2019-4-1", "2019-04-01T00:00"])
def test_dates_are_refused_unless_written_yyyy_mm_dd(tmp_path, written):
    call_command("import_data", "programmes", str(FIXTURES / "programmes.csv"))
    path = write_csv(
        tmp_path,
        "periods.csv",
        "programme,label,start,end,deadline,extended_deadline,extension_reason\n"
        f"PSM-NUM,2030-2031,{written},2031-03-31,2031-05-31,,\n",
    )
    stderr = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_data", "periods", str(path), stderr=stderr)

    assert f"row 1, column start: « {written} » n'est pas une date AAAA-MM-JJ." in stderr.getvalue()


def test_control_characters_of_a_cell_are_written_as_codes_in_the_messages(tmp_path):
    path = write_csv(tmp_path, "sectors.csv", "code,name_fr,name_en\nX\x1b[31mY,Nom,Name\n")
    call_command("import_data", "sectors", str(path))  # a code may hold them: it is imported
    bad = write_csv(
        tmp_path,
        "partners.csv",
        "code,name,kind,quebec\nP1,Nom,\x1b[2Jsme,true\n",
    )
    stderr = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_data", "partners", str(bad), stderr=stderr)

    assert "\x1b" not in stderr.getvalue()
    assert "\\u001b[2Jsme" in stderr.getvalue()
