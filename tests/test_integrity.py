"""What the registry and the admin must not do to data already reported."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from portal.highlights import highlights_for
from portal.models import (
    InvestmentLine,
    Participation,
    Partner,
    Period,
    ProductLine,
    Project,
    Report,
)
from portal.resources import RESOURCES
from tests.test_imports import load_fixtures, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("personnel", "p@example.org", "x")
    client.force_login(user)
    return client


def inline_management(prefix, total=1):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


class TestReportLinesInTheAdmin:
    def test_adding_a_report_with_a_line_on_a_foreign_project_is_refused(self, staff):
        load_fixtures()
        gamma = Partner.objects.get(code="GAMMA")
        num_period = Period.objects.get(programme__code="PSM-NUM", label="2020-2021")
        data = {
            "partner": gamma.pk,
            "period": num_period.pk,
            **inline_management("investments"),
            "investments-0-project": Project.objects.get(code="IA-1").pk,
            "investments-0-amount": "5.00",
            "investments-0-category": "labour",
            "investments-0-performer": "self",
            **inline_management("jobs", 0),
            **inline_management("products", 0),
        }

        response = staff.post(reverse("admin:portal_report_add"), data)

        assert response.status_code == 200
        assert "appartient pas au programme" in response.content.decode()
        assert not Report.objects.filter(partner=gamma, period=num_period).exists()

    def test_only_draft_reports_can_be_deleted(self, staff):
        load_fixtures()
        approved = Report.objects.get(partner__code="ALPHA", period__label="2019-2020")
        draft = Report.objects.get(partner__code="ALPHA", period__label="2020-2021")

        assert (
            staff.post(
                reverse("admin:portal_report_delete", args=[approved.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        staff.post(reverse("admin:portal_report_delete", args=[draft.pk]), {"post": "yes"})

        assert Report.objects.filter(pk=approved.pk).exists()
        assert not Report.objects.filter(pk=draft.pk).exists()


class TestRegistryChanges:
    def test_a_project_with_lines_cannot_move_to_another_programme(self, tmp_path):
        load_fixtures()
        before = highlights_for("PSM-NUM", "2019-2020")
        text = tmp_path / "p.csv"
        text.write_text(
            "code,programme,title,type,objective,sector,lead_partner,start,end,status\n"
            "NUM-1,PSM-IA,Capteurs intelligents,product_development,Commercialiser un capteur,"
            "SANTE,ALPHA,2019-01-01,,active\n",
            encoding="utf-8",
        )

        code, _, err = run_import("projects", text)

        assert code == 1
        assert "row 1, column programme: Des rapports ont déjà des lignes sur ce projet" in err
        assert highlights_for("PSM-NUM", "2019-2020") == before

    def test_the_lead_partner_changes_only_if_its_lines_keep_a_participation(self, tmp_path):
        load_fixtures()
        path = write_csv(
            tmp_path,
            "p.csv",
            "code,programme,title,type,objective,sector,lead_partner,start,end,status\n"
            'NUM-2,PSM-NUM,Jumeau numérique,collaborative_fundamental,"Modéliser, simuler, valider",'
            "AUTO,ALPHA,2019-06-01,2020-02-28,completed\n",
        )
        project = Project.objects.get(code="NUM-2")
        # CRIQ leads NUM-2 with no participation row and has reported no line on it: allowed.
        code, _, err = run_import("projects", path)
        assert code == 0, err
        project.refresh_from_db()
        assert project.lead_partner.code == "ALPHA"

        # BETA reported lines on NUM-2 through its participation: removing it is refused.
        beta = Participation.objects.get(project=project, partner__code="BETA")
        assert "BETA a déclaré des lignes" in beta.deletion_problem()

    def test_a_participation_that_lines_depend_on_cannot_be_deleted_in_the_admin(self, staff):
        load_fixtures()
        beta = Participation.objects.get(project__code="NUM-2", partner__code="BETA")
        idle = Participation.objects.get(project__code="IA-1", partner__code="BETA")

        refused = staff.post(
            reverse("admin:portal_participation_delete", args=[beta.pk]), {"post": "yes"}
        )
        staff.post(reverse("admin:portal_participation_delete", args=[idle.pk]), {"post": "yes"})

        assert refused.status_code == 403
        assert Participation.objects.filter(pk=beta.pk).exists()
        assert not Participation.objects.filter(pk=idle.pk).exists()

    def test_the_project_inline_refuses_to_delete_a_participation_with_lines(self, staff):
        load_fixtures()
        project = Project.objects.get(code="NUM-2")
        beta = Participation.objects.get(project=project, partner__code="BETA")
        change = staff.get(reverse("admin:portal_project_change", args=[project.pk]))
        data = {
            key: value
            for key, value in change.context["adminform"].form.initial.items()
            if value is not None
        }
        data.update(
            {
                "programme": project.programme_id,
                "sector": project.sector_id,
                "lead_partner": project.lead_partner_id,
                "start": "2019-06-01",
                "end": "2020-02-28",
                "participations-TOTAL_FORMS": "1",
                "participations-INITIAL_FORMS": "1",
                "participations-MIN_NUM_FORMS": "0",
                "participations-MAX_NUM_FORMS": "1000",
                "participations-0-id": beta.pk,
                "participations-0-project": project.pk,
                "participations-0-partner": beta.partner_id,
                "participations-0-role": "participant",
                "participations-0-DELETE": "on",
            }
        )

        response = staff.post(reverse("admin:portal_project_change", args=[project.pk]), data)

        assert response.status_code == 200
        assert "BETA a déclaré des lignes" in response.content.decode()
        assert Participation.objects.filter(pk=beta.pk).exists()


class TestAdminReadsFilesLikeTheCommand:
    def upload(self, staff, text):
        return staff.post(
            reverse("admin:portal_partner_import"),
            {
                "format": "0",
                "resource": "0",
                "import_file": SimpleUploadedFile("partners.csv", text.encode(), "text/csv"),
            },
        )

    def test_spaces_around_headers_and_trailing_empty_rows_are_tolerated(self, staff):
        response = self.upload(staff, "code, name , kind,quebec\nA1,Alpha,sme,oui\n,,,\n")

        assert response.status_code == 200
        assert "import_file_name" in response.content.decode()  # the confirmation step

    def test_wrong_columns_are_named_without_a_traceback(self, staff):
        response = self.upload(staff, "code,nom,kind,quebec\nA1,Alpha,sme,oui\n")

        page = response.content.decode()
        assert "colonnes manquantes : name" in page
        assert "Traceback" not in page and 'File "' not in page
        assert not Partner.objects.filter(code="A1").exists()

    @override_settings(IMPORT_MAX_ROWS=1)
    def test_the_row_cap_applies(self, staff):
        response = self.upload(staff, "code,name,kind,quebec\nA1,Alpha,sme,oui\nA2,B,sme,non\n")

        assert (
            "Trop de lignes : plus de 1 lignes de données, le maximum." in response.content.decode()
        )
        assert Partner.objects.count() == 0


class TestFileShapes:
    def test_short_rows_are_padded_and_their_missing_cells_named(self, tmp_path):
        path = write_csv(tmp_path, "p.csv", "code,name,kind,quebec\nA1,Alpha,sme\nA2,Beta\n")

        code, _, err = run_import("partners", path)

        assert code == 1
        assert "row 1, column quebec: valeur requise" in err
        assert "row 2, column kind: valeur requise" in err

    def test_an_enormous_cell_is_a_clear_message(self, tmp_path):
        path = write_csv(
            tmp_path, "p.csv", "code,name,kind,quebec\nA1," + "x" * 200_000 + ",sme,oui\n"
        )

        code, _, err = run_import("partners", path)

        assert code == 1 and "Ce CSV est illisible" in err


class TestFormulaCells:
    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_formula_like_text_is_exported_as_text_and_comes_back_unchanged(self, tmp_path, fmt):
        load_fixtures()
        ProductLine.objects.filter(name="Capteur X").update(name='=HYPERLINK("http://x","y")')
        dataset = RESOURCES["products"]().export()
        assert "'=HYPERLINK" in dataset.csv
        path = tmp_path / f"products.{fmt}"
        if fmt == "csv":
            path.write_text(dataset.csv, encoding="utf-8")
        else:
            path.write_bytes(dataset.export("xlsx"))
        ProductLine.objects.all().delete()

        code, _, err = run_import("products", path)

        assert code == 0, err
        assert ProductLine.objects.filter(name='=HYPERLINK("http://x","y")').count() == 1

    def test_the_admin_export_neutralises_formulas(self, staff):
        load_fixtures()
        Partner.objects.filter(code="ALPHA").update(name="=1+1")

        response = staff.post(
            reverse("admin:portal_partner_export"),
            {
                "format": "0",
                "resource": "0",
                **{f"partnerresource_{c}": "on" for c in ["code", "name", "kind", "quebec"]},
            },
        )

        assert "ALPHA,'=1+1,sme,true" in response.content.decode()


def test_provisional_adds_submitted_reports_and_only_them(tmp_path):
    load_fixtures()
    path = write_csv(
        tmp_path,
        "reports.csv",
        "programme,period,partner,status,comment\nPSM-NUM,2019-2020,CRIQ,submitted,\n",
    )
    call_command("import_data", "reports", str(path), stdout=io.StringIO())
    criq = InvestmentLine.objects.filter(report__partner__code="CRIQ")

    approved = highlights_for("PSM-NUM", "2019-2020")
    provisional = highlights_for("PSM-NUM", "2019-2020", provisional=True)

    assert provisional.partner_investment - approved.partner_investment == sum(
        criq.values_list("amount", flat=True)
    )
    assert provisional.jobs - approved.jobs == 80  # CRIQ's 40 + 40, now submitted
    assert (approved.provisional, provisional.provisional) == (False, True)


def test_the_period_deadline_is_the_latest_extension():
    load_fixtures()
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")

    assert period.deadline_for(Partner.objects.get(code="ALPHA")) == datetime.date(2020, 8, 31)
