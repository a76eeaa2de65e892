"""The staff's registry in the admin: every list and form opens, imports are all or nothing."""

import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import Partner
from tests.test_imports import load_fixtures

pytestmark = pytest.mark.django_db
MODELS = [
    "programme",
    "period",
    "extension",
    "sector",
    "partner",
    "project",
    "participation",
    "report",
    "investmentline",
    "jobline",
    "productline",
]


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("personnel", "p@example.org", "x")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_every_list_search_and_form_opens(staff, model):
    load_fixtures()

    assert staff.get(reverse(f"admin:portal_{model}_changelist")).status_code == 200
    assert staff.get(reverse(f"admin:portal_{model}_changelist"), {"q": "école"}).status_code == 200
    assert staff.get(reverse(f"admin:portal_{model}_add")).status_code == 200


@pytest.mark.parametrize("model", ["report", "investmentline", "project"])
def test_a_change_page_opens_with_its_history(staff, model):
    load_fixtures()
    instance = apps.get_model("portal", model).objects.first()

    assert staff.get(reverse(f"admin:portal_{model}_change", args=[instance.pk])).status_code == 200
    history = staff.get(reverse(f"admin:portal_{model}_history", args=[instance.pk]))
    assert history.status_code == 200


def upload(staff, text):
    return staff.post(
        reverse("admin:portal_partner_import"),
        {
            "format": "0",
            "resource": "0",
            "import_file": SimpleUploadedFile("partners.csv", text.encode(), "text/csv"),
        },
    )


def test_an_admin_import_with_a_bad_row_imports_nothing(staff):
    response = upload(staff, "code,name,kind,quebec\nA1,Alpha,sme,oui\nA2,Beta,sme,peut-être\n")

    assert response.status_code == 200
    assert "peut-être" in response.content.decode()
    assert Partner.objects.count() == 0


def test_an_admin_import_confirms_then_writes(staff):
    response = upload(
        staff, "code,name,kind,quebec\nA1,Alpha,sme,oui\nA2,Beta,research_centre,non\n"
    )
    assert response.status_code == 200
    form = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', response.content.decode()))
    assert "import_file_name" in form, "the confirmation form is shown"

    done = staff.post(reverse("admin:portal_partner_process_import"), form)

    assert done.status_code == 302
    assert list(Partner.objects.order_by("code").values_list("code", "quebec")) == [
        ("A1", True),
        ("A2", False),
    ]


def test_an_admin_export_uses_the_contract_columns(staff):
    load_fixtures()

    response = staff.post(
        reverse("admin:portal_partner_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"partnerresource_{c}": "on" for c in ["code", "name", "kind", "quebec"]},
        },
    )

    assert response.status_code == 200
    assert response.content.decode().splitlines()[0] == "code,name,kind,quebec"
