"""The partner portal: the dashboard, the yearly report form, saving, submitting, deadlines, the
no-lost-update rule, the receipt, through the test client as a partner's user sees them."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from portal import publication, reporting, workflow
from portal.models import (
    Extension,
    InvestmentLine,
    JobLine,
    PeriodState,
    ProductLine,
    Report,
    ReportStatus,
)
from portal.templatetags.psm_format import long_date
from tests import factories as make
from tests.forms_support import form_data
from tests.partner_world import complete, fill, report_url, save

pytestmark = pytest.mark.django_db
D = datetime.date


def text(response):
    """The page's HTML with no-break spaces as plain spaces (money is grouped with them)."""
    return response.content.decode().replace("\u00a0", " ").replace("\u202f", " ")


def the_report(world):
    return Report.objects.get(partner=world.alpha, period=world.period)


# --- Home and dashboard ---------------------------------------------------------------------------


def test_home_sends_each_person_where_they_work(client, world):
    assert client.get("/fr-ca/").url == reverse("login")
    client.force_login(world.user)
    assert client.get("/fr-ca/").url == "/fr-ca/partner/ALPHA/"
    client.force_login(world.reviewer)
    assert client.get("/fr-ca/").url == "/fr-ca/admin/"


def test_a_member_of_two_partners_chooses_then_switches(client, world):
    world.beta.users.add(world.user)
    client.force_login(world.user)
    assert client.get("/fr-ca/").url == "/fr-ca/partners/"
    page = client.get("/fr-ca/partners/").content.decode()
    assert "/fr-ca/partner/ALPHA/" in page and "/fr-ca/partner/BETA/" in page
    client.get("/fr-ca/partner/BETA/")
    assert client.get("/fr-ca/").url == "/fr-ca/partner/BETA/"  # the last one used
    dashboard = client.get("/fr-ca/partner/BETA/").content.decode()
    assert "P-FOREIGN" in dashboard and "Changer d'organisation" in dashboard


def test_the_dashboard_lists_the_partners_projects_and_reports(partner_client, world):
    response = partner_client.get("/fr-ca/partner/ALPHA/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "P-OWN" in page and "P-SHARED" in page
    assert "P-FOREIGN" not in page
    projects = response.context["projects"]
    roles = {row.record.code: row.get_cell("role") for row in projects.rows}
    assert roles == {"P-OWN": "Principal", "P-SHARED": "Participant"}
    rows = {row.period.label: row for row in response.context["reports"].data}
    assert set(rows) == {world.period.label, world.last_period.label}
    current = rows[world.period.label]
    assert current.window.editable and current.report is None
    assert "Commencer le rapport" in page
    assert response.context["next_report"].period == world.period
    assert rows[world.last_period.label].window.editable is False


def test_the_dashboard_shows_an_extension_and_its_reason(partner_client, world):
    Extension.objects.create(
        period=world.period,
        partner=world.alpha,
        new_deadline=world.period.deadline + datetime.timedelta(days=30),
        reason="Changement de système comptable",
    )
    page = partner_client.get("/fr-ca/partner/ALPHA/").content.decode()
    assert "Changement de système comptable" in page
    row = partner_client.get("/fr-ca/partner/ALPHA/").context["reports"].data[0]
    assert row.window.deadline == world.period.deadline + datetime.timedelta(days=30)


def test_the_dashboard_says_what_is_left_to_do(partner_client, world):
    save(
        partner_client, world, own_amounts=[("labour", "self", "100")], jobs={world.own: ("1", "0")}
    )
    row = partner_client.get("/fr-ca/partner/ALPHA/").context["reports"].data[0]
    assert [item.project for item in row.blocking] == [world.shared]
    assert "P-SHARED : emplois non déclarés" in row.blocking[0].message


# --- The report form ------------------------------------------------------------------------------


def test_opening_the_report_page_creates_nothing(partner_client, world):
    response = partner_client.get(report_url(world))
    assert response.status_code == 200
    assert Report.objects.count() == 0
    assert [section.project.code for section in response.context["forms"].sections] == [
        "P-OWN",
        "P-SHARED",
    ]


def test_french_and_plain_amounts_are_saved_to_the_cent(partner_client, world):
    response = save(
        partner_client,
        world,
        own_amounts=[
            ("labour", "self", "12 345,67"),
            ("equipment", "self", "1234.56"),
            ("materials", "self", "2\u00a0500"),
        ],
    )

    assert response.status_code == 302
    report = the_report(world)
    assert report.status == ReportStatus.DRAFT and report.version == 1
    amounts = dict(InvestmentLine.objects.values_list("category", "amount"))
    assert amounts == {
        "labour": Decimal("12345.67"),
        "equipment": Decimal("1234.56"),
        "materials": Decimal("2500.00"),
    }
    page = partner_client.get(report_url(world))
    assert "Le brouillon est enregistré." in page.content.decode()
    assert page.context["forms"].total == Decimal("16080.23")
    # Saved amounts are shown the way they are typed in French.
    shown = {v for k, v in form_data(page).items() if k.endswith("-amount")}
    assert {"12 345,67", "1 234,56", "2 500,00"} <= shown


def test_english_amounts_are_read_on_the_english_page(partner_client, world):
    url = report_url(world, language="en")
    response = save(partner_client, world, url=url, own_amounts=[("labour", "self", "1,234.56")])
    assert response.status_code == 302
    assert InvestmentLine.objects.get().amount == Decimal("1234.56")
    assert form_data(partner_client.get(url))[f"inv-{world.own.pk}-0-amount"] == "1,234.56"


def test_an_ambiguous_amount_is_refused_next_to_its_field(partner_client, world):
    response = save(partner_client, world, own_amounts=[("labour", "self", "250,000")])

    assert response.status_code == 200
    assert Report.objects.count() == 0
    page = response.content.decode()
    field_id = f"id_inv-{world.own.pk}-0-amount"
    assert f'id="{field_id}_error"' in page
    assert f'aria-describedby="{field_id}_error"' in page
    assert 'aria-invalid="true"' in page
    assert "« 250,000 » est ambigu : écrivez 250000 ou 250,00." in page
    assert f'href="#{field_id}"' in page  # the summary links to the field
    assert "1 erreur à corriger" in page


def test_errors_are_in_the_language_of_the_page(partner_client, world):
    url = report_url(world, language="en")
    response = save(partner_client, world, url=url, own_amounts=[("labour", "self", "douze")])
    page = response.content.decode()
    assert "“douze” is not a number." in page
    assert "n'est pas un nombre" not in page


def test_a_negative_amount_and_an_incomplete_line_are_refused(partner_client, world):
    response = save(
        partner_client,
        world,
        own_amounts=[("labour", "self", "-5"), ("", "self", "10")],
    )
    errors = response.context["forms"].sections[0].investments.errors
    assert errors[0] == {"amount": ["Un montant ne peut pas être négatif."]}
    assert "category" in errors[1]
    assert Report.objects.count() == 0


def test_the_same_category_and_performer_twice_is_refused(partner_client, world):
    response = save(
        partner_client,
        world,
        own_amounts=[("labour", "self", "10"), ("labour", "self", "20")],
    )
    errors = response.context["forms"].sections[0].investments.errors
    assert "additionnez les montants" in errors[1]["performer"][0]
    assert Report.objects.count() == 0


def test_a_product_launched_outside_the_period_is_refused(partner_client, world):
    before = (world.period.start - datetime.timedelta(days=1)).isoformat()
    response = save(partner_client, world, products=[("Vieux produit", before)])
    errors = response.context["forms"].sections[0].products.errors
    assert "est lancé entre le" in errors[0]["launch_date"][0]
    assert ProductLine.objects.count() == 0


def test_blank_jobs_are_missing_not_zero(partner_client, world):
    save(partner_client, world, jobs={world.own: ("", ""), world.shared: ("0", "0")})

    assert list(JobLine.objects.values_list("project__code", "direct", "indirect")) == [
        ("P-SHARED", 0, 0)
    ]
    page = partner_client.get(report_url(world)).content.decode()
    assert "P-OWN : emplois non déclarés (indiquez 0 s&#x27;il n&#x27;y en a pas)." in page


def test_one_job_count_without_the_other_is_refused(partner_client, world):
    response = save(partner_client, world, jobs={world.own: ("4", "")})
    assert response.context["forms"].sections[0].jobs.errors == {
        "indirect": ["Indiquez aussi ce nombre (0 s'il n'y en a pas)."]
    }
    assert Report.objects.count() == 0


def test_a_saved_line_is_deleted_with_its_box(partner_client, world):
    save(partner_client, world, own_amounts=[("labour", "self", "10"), ("equipment", "self", "20")])
    url = report_url(world)
    data = form_data(partner_client.get(url))
    assert data[f"inv-{world.own.pk}-0-category"] == "equipment"  # saved lines in key order
    data[f"inv-{world.own.pk}-0-DELETE"] = "on"
    data["action"] = "save"
    partner_client.post(url, data)
    assert list(InvestmentLine.objects.values_list("category", flat=True)) == ["labour"]


def test_saving_unchanged_lines_changes_nothing(partner_client, world):
    save(partner_client, world, **complete(world))
    report = the_report(world)
    history = (report.history.count(), InvestmentLine.history.count())
    url = report_url(world)
    data = form_data(partner_client.get(url))
    data["action"] = "save"
    partner_client.post(url, data)
    report.refresh_from_db()
    assert report.version == 1
    assert (report.history.count(), InvestmentLine.history.count()) == history


def test_last_years_lines_are_offered_and_ignored_when_left_blank(partner_client, world):
    last = make.report(world.alpha, world.last_period)
    make.investment(last, world.own, "500", "subcontracting", "research_centre")
    make.jobs(last, world.own, 7, 2)

    page = partner_client.get(report_url(world))
    data = form_data(page)
    pk = world.own.pk
    assert data[f"inv-{pk}-0-category"] == "subcontracting"
    assert data[f"inv-{pk}-0-performer"] == "research_centre"
    assert data[f"inv-{pk}-0-amount"] == ""
    assert "L'an dernier : 7 emplois directs, 2 indirects." in page.content.decode()
    data["action"] = "save"
    partner_client.post(report_url(world), data)
    assert InvestmentLine.objects.filter(report__period=world.period).count() == 0


def test_adding_rows_without_javascript_keeps_what_was_typed(partner_client, world):
    url = report_url(world)
    data = fill(world, form_data(partner_client.get(url)), own_amounts=[("labour", "self", "10")])
    data["action"] = f"add:inv-{world.own.pk}"
    response = partner_client.post(url, data)

    assert response.url == f"{url}?more=inv-{world.own.pk}#inv-{world.own.pk}"
    assert InvestmentLine.objects.get().amount == Decimal("10.00")
    more = partner_client.get(response.url)
    assert more.context["forms"].sections[0].investments.total_form_count() == 4


# --- Submission, review, the receipt --------------------------------------------------------------


def test_submitting_locks_the_report_and_e_mails_a_receipt(
    partner_client, world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = save(partner_client, world, action="submit", **complete(world))

    assert response.status_code == 302
    report = the_report(world)
    assert report.status == ReportStatus.SUBMITTED
    assert report.submitted_by == world.user and report.submitted_at is not None
    assert [sorted(m.to) for m in mailoutbox] == [["jean@alpha.example", "marie@alpha.example"]]
    assert mailoutbox[0].subject.startswith("Accusé de réception : rapport")
    assert "2 ligne(s) d'investissement, 2 ligne(s) d'emplois et 1 nouveau(x)" in mailoutbox[0].body

    page = partner_client.get(report_url(world))
    assert page.context["forms"] is None
    assert "Lecture seule." in page.content.decode()
    assert "12 345,67 $" in text(page)


def test_a_read_only_report_refuses_a_post(partner_client, world):
    url = report_url(world)
    tab = fill(world, form_data(partner_client.get(url)), **complete(world))  # an open tab
    save(partner_client, world, action="submit", **complete(world))

    tab[f"inv-{world.own.pk}-0-amount"] = "999"
    tab["action"] = "save"
    response = partner_client.post(url, tab)

    assert response.status_code == 409
    page = text(response)
    assert "en cours d&#x27;évaluation" in page
    assert "Ce que vous aviez saisi (rien n'a été enregistré)" in page
    assert "999 $" in page  # what she typed is shown, not lost
    assert not InvestmentLine.objects.filter(amount=Decimal("999")).exists()
    assert the_report(world).status == ReportStatus.SUBMITTED


def test_submission_is_refused_while_jobs_are_missing(partner_client, world):
    values = complete(world)
    values["jobs"] = {world.own: ("3", "1")}
    response = save(partner_client, world, action="submit", **values)

    assert response.status_code == 302
    report = the_report(world)
    assert report.status == ReportStatus.DRAFT  # the draft is saved, not submitted
    assert InvestmentLine.objects.count() == 2
    page = partner_client.get(report_url(world)).content.decode()
    assert "le rapport n&#x27;a pas pu être soumis" in page
    assert "P-SHARED : emplois non déclarés" in page


def test_a_returned_report_shows_the_comment_and_can_be_resubmitted_after_the_deadline(
    partner_client, world
):
    save(partner_client, world, action="submit", **complete(world))
    report = the_report(world)
    workflow.report_return(
        report=report, reviewer=world.reviewer, comment="Ventilez la sous-traitance."
    )
    world.period.deadline = timezone.localdate() - datetime.timedelta(days=1)
    world.period.save()

    page = partner_client.get(report_url(world))
    assert "Ventilez la sous-traitance." in page.content.decode()
    assert page.context["window"].editable
    response = save(
        partner_client,
        world,
        action="submit",
        own_amounts=[("equipment", "quebec_sme", "1000.50"), ("labour", "self", "7")],
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    assert InvestmentLine.objects.get(category="labour").amount == Decimal("7.00")


def test_after_the_deadline_a_draft_is_read_only_and_says_until_when(partner_client, world):
    save(partner_client, world, own_amounts=[("labour", "self", "10")])
    url = report_url(world)
    stale_form = form_data(partner_client.get(url))
    world.period.deadline = timezone.localdate() - datetime.timedelta(days=1)
    world.period.save()

    page = partner_client.get(url)
    assert page.context["forms"] is None
    text = page.content.decode()
    assert "La date limite de remise est passée" in text
    assert "jusqu&#x27;au" in text
    stale_form[f"inv-{world.own.pk}-0-amount"] = "99"
    stale_form["action"] = "submit"
    partner_client.post(url, stale_form)
    report = the_report(world)
    assert report.status == ReportStatus.DRAFT
    assert InvestmentLine.objects.get().amount == Decimal("10.00")


def test_the_partners_own_extension_keeps_the_report_open(partner_client, world):
    world.period.deadline = timezone.localdate() - datetime.timedelta(days=1)
    world.period.save()
    Extension.objects.create(
        period=world.period,
        partner=world.alpha,
        new_deadline=timezone.localdate() + datetime.timedelta(days=5),
        reason="Fusion d'entreprises",
    )
    page = partner_client.get(report_url(world))
    assert page.context["window"].editable
    assert "Fusion d&#x27;entreprises" in page.content.decode()
    assert save(partner_client, world, action="submit", **complete(world)).status_code == 302
    assert the_report(world).status == ReportStatus.SUBMITTED


def test_a_closed_period_is_read_only(partner_client, world):
    world.period.state = PeriodState.CLOSED
    world.period.save()
    page = partner_client.get(report_url(world))
    assert page.context["forms"] is None
    assert "a fermé la collecte de la période" in page.content.decode()


def test_an_approved_report_shows_how_it_enters_the_published_highlights(partner_client, world):
    save(partner_client, world, action="submit", **complete(world))
    report = the_report(world)
    workflow.report_approve(report=report, reviewer=world.reviewer)

    before = partner_client.get(report_url(world)).content.decode()
    assert "à leur prochaine publication" in before
    assert "parmi les" not in before  # nothing unpublished is shown to partners

    manager = get_user_model().objects.create_superuser("chef", "chef@psm.example", "x")
    publication.publish(period=world.period, user=manager)
    after = text(partner_client.get(report_url(world)))
    assert "votre 1 nouveau produit est compté parmi les 1 du programme" in after
    assert "vos 4 emplois sont comptés parmi les 4 du programme" in after
    assert "13 346,17" in after


# --- No lost update -------------------------------------------------------------------------------


def test_a_stale_version_is_refused_and_shows_what_changed(client, world):
    client.force_login(world.user)
    url = report_url(world)
    save(client, world, own_amounts=[("labour", "self", "100")])
    mine = form_data(client.get(url))  # version 1, in Marie's tab

    # Jean saves first, from his own tab.
    other = type(client)()
    other.force_login(world.colleague)
    theirs = form_data(other.get(url))
    theirs[f"inv-{world.own.pk}-0-amount"] = "150"
    theirs["action"] = "save"
    assert other.post(url, theirs).status_code == 302

    mine[f"inv-{world.own.pk}-0-amount"] = "120"
    mine["action"] = "save"
    response = client.post(url, mine)

    assert response.status_code == 409
    assert InvestmentLine.objects.get().amount == Decimal("150.00")
    page = response.content.decode()
    assert "Vos modifications n'ont pas été enregistrées" in page
    assert "vous aviez ouvert la version 1, la version actuelle est la 2" in page
    assert "montant ($) 100,00 → 150,00" in page and "(jean)" in page
    # What she typed is shown; the form shows the report as it is now, and her next save
    # (typed again over Jean's figures) is a deliberate choice.
    assert "le partenaire lui-même : 120 $" in page
    again = form_data(response)
    assert again[f"inv-{world.own.pk}-0-amount"] == "150,00"
    assert again["version"] == "2"
    again[f"inv-{world.own.pk}-0-amount"] = "120"
    again["action"] = "save"
    assert client.post(url, again).status_code == 302
    assert InvestmentLine.objects.get().amount == Decimal("120.00")


def test_a_save_after_a_submission_elsewhere_is_refused(client, world):
    client.force_login(world.user)
    url = report_url(world)
    save(client, world, **complete(world))
    tab = form_data(client.get(url))
    reporting.submit_report(
        report=the_report(world),
        user=world.colleague,
        projects=list(reporting.report_projects(world.alpha, world.period)),
    )
    tab["action"] = "save"
    response = client.post(url, tab, follow=True)
    assert "Le rapport a été soumis le" in response.content.decode()
    assert the_report(world).status == ReportStatus.SUBMITTED
    assert the_report(world).submitted_by == world.colleague


def test_the_version_is_checked_in_the_saving_transaction(world):
    empty = reporting.lines_token(reporting.Lines())
    first = reporting.save_report(
        partner=world.alpha,
        period=world.period,
        user=world.user,
        version=0,
        token=empty,
        entries={},
    )
    assert first.report.version == 1
    with pytest.raises(reporting.StaleReport):
        reporting.save_report(
            partner=world.alpha,
            period=world.period,
            user=world.colleague,
            version=0,
            token=empty,
            entries={},
        )


def test_only_the_partners_users_save_its_report(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        reporting.save_report(
            partner=world.alpha,
            period=world.period,
            user=world.outsider,
            version=0,
            token=reporting.lines_token(reporting.Lines()),
            entries={},
        )
    assert Report.objects.count() == 0


# --- Query counts ---------------------------------------------------------------------------------


def _more_projects(world, count):
    for index in range(count):
        project = make.project(world.programme, f"P-X{index:02d}", world.alpha, start=D(2019, 5, 1))
        report, _ = Report.objects.get_or_create(partner=world.alpha, period=world.period)
        make.investment(report, project, "10")
        make.jobs(report, project, 1, 1)
        make.product(report, project, f"Produit {index}", world.period.start)


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["dashboard", "report"])
def test_page_queries_do_not_grow_with_the_projects(
    partner_client, world, page, django_assert_max_num_queries
):
    url = "/fr-ca/partner/ALPHA/" if page == "dashboard" else report_url(world)
    _more_projects(world, 2)
    partner_client.get(url)  # the session remembers the partner once, on the first visit
    few = _queries(partner_client, url)
    _more_projects_start = 2
    for index in range(_more_projects_start, _more_projects_start + 10):
        project = make.project(world.programme, f"P-Y{index:02d}", world.alpha, start=D(2019, 5, 1))
        report = Report.objects.get(partner=world.alpha, period=world.period)
        make.investment(report, project, "10")
        make.jobs(report, project, 1, 1)
        make.product(report, project, f"Produit Y{index}", world.period.start)
    with django_assert_max_num_queries(few):
        assert partner_client.get(url).status_code == 200
    assert few <= 18


def test_a_stale_page_with_errors_is_refused_as_stale_not_validated(client, world):
    client.force_login(world.user)
    url = report_url(world)
    save(client, world, own_amounts=[("labour", "self", "100")])
    mine = form_data(client.get(url))
    other = type(client)()
    other.force_login(world.colleague)
    theirs = form_data(other.get(url))
    theirs[f"inv-{world.own.pk}-0-amount"] = "200"
    theirs["action"] = "save"
    other.post(url, theirs)

    mine[f"inv-{world.own.pk}-0-amount"] = "150"
    mine[f"jobs-{world.own.pk}-direct"] = "abc"
    mine["action"] = "save"
    response = client.post(url, mine)

    assert response.status_code == 409
    assert response.context["forms"].errors_count == 0
    assert InvestmentLine.objects.get().amount == Decimal("200.00")
    # The form now shows the report as it is; resaving it keeps Jean's 200.
    fresh = form_data(response)
    assert fresh["version"] == "2"
    assert fresh[f"inv-{world.own.pk}-0-amount"] == "200,00"
    assert "main-d&#x27;œuvre / le partenaire lui-même : 150 $" in response.content.decode()


def test_a_line_added_by_a_colleague_makes_the_page_stale(client, world):
    client.force_login(world.user)
    url = report_url(world)
    save(client, world, own_amounts=[("labour", "self", "100")])
    mine = form_data(client.get(url))
    reporting.save_report(
        partner=world.alpha,
        period=world.period,
        user=world.colleague,
        version=1,
        token=mine["token"],
        entries={
            world.own.pk: reporting.ProjectEntry(
                investments=[
                    {"category": "labour", "performer": "self", "amount": Decimal("100")},
                    {"category": "equipment", "performer": "self", "amount": Decimal("5")},
                ]
            )
        },
    )
    mine["action"] = "save"
    response = client.post(url, mine)
    assert response.status_code == 409
    assert response.context["forms"].errors_count == 0
    assert InvestmentLine.objects.count() == 2


def test_a_line_changed_by_staff_or_an_import_makes_the_page_stale(client, world):
    client.force_login(world.user)
    url = report_url(world)
    save(client, world, own_amounts=[("labour", "self", "100")])
    mine = form_data(client.get(url))
    make.jobs(the_report(world), world.shared, 4, 4)  # as the admin or an import would

    mine["action"] = "save"
    response = client.post(url, mine)

    assert response.status_code == 409
    assert "Quelqu'un a modifié les lignes de ce rapport" in response.content.decode()
    assert JobLine.objects.filter(project=world.shared, direct=4).exists()


@pytest.mark.parametrize(("total", "initial"), [("-1", "1"), ("0", "1"), ("1", "0")])
def test_form_counts_that_do_not_match_the_report_are_refused(
    partner_client, world, total, initial
):
    save(partner_client, world, own_amounts=[("labour", "self", "100")])
    url = report_url(world)
    data = form_data(partner_client.get(url))
    data[f"inv-{world.own.pk}-TOTAL_FORMS"] = total
    data[f"inv-{world.own.pk}-INITIAL_FORMS"] = initial
    data["action"] = "save"
    response = partner_client.post(url, data)

    assert response.status_code == 400
    assert "Le formulaire ne correspond plus au rapport" in response.content.decode()
    assert InvestmentLine.objects.get().amount == Decimal("100.00")


def test_a_flood_of_rows_is_refused_quickly(partner_client, world):
    url = report_url(world)
    data = form_data(partner_client.get(url))
    for prefix in ("inv", "prod"):
        for project in (world.own, world.shared):
            data[f"{prefix}-{project.pk}-TOTAL_FORMS"] = "100000"
    data["action"] = "save"
    response = partner_client.post(url, data)
    assert response.status_code == 400
    assert len(response.content) < 100_000
    assert Report.objects.count() == 0


@pytest.mark.parametrize("typed", ["١٢٣", "１２３", "1e5", "NaN", "Infinity", "12.345"])
def test_amounts_people_do_not_mean_are_refused(partner_client, world, typed):
    response = save(partner_client, world, own_amounts=[("labour", "self", typed)])
    assert response.status_code == 200
    assert "amount" in response.context["forms"].sections[0].investments.errors[0]
    assert Report.objects.count() == 0


def test_enter_in_a_field_saves_the_draft(partner_client, world):
    """The form's default button (the first submit button) is « save », not « add a row »."""
    import re

    page = partner_client.get(report_url(world)).content.decode()
    form = page[page.index('id="report-form"') :]
    first = re.search(r'<button type="submit"[^>]*>', form).group(0)
    assert 'value="save"' in first


def test_a_closed_period_says_until_when_the_report_was_open(partner_client, world):
    Extension.objects.create(
        period=world.period,
        new_deadline=world.period.deadline + datetime.timedelta(days=3),
        reason="Grève",
    )
    world.period.state = PeriodState.CLOSED
    world.period.save()
    page = partner_client.get(report_url(world))
    assert page.context["forms"] is None
    assert "a fermé la collecte" in page.content.decode()
    assert page.context["window"].reason.endswith(
        f"(date limite : {long_date(world.period.deadline + datetime.timedelta(days=3))})."
    )


def test_a_project_that_became_reportable_since_the_page_loaded_does_not_block(
    partner_client, world
):
    url = report_url(world)
    data = fill(world, form_data(partner_client.get(url)), own_amounts=[("labour", "self", "5")])
    make.project(world.programme, "P-NEW", world.alpha, start=D(2019, 5, 1))
    data["action"] = "save"
    response = partner_client.post(url, data)
    assert response.status_code == 302
    assert InvestmentLine.objects.get().amount == Decimal("5.00")


def test_save_and_submit_happen_in_one_transaction(world, mailoutbox):
    """« Soumettre » saves and submits under one lock; a refused submission keeps the draft."""
    empty = reporting.lines_token(reporting.Lines())
    entries = {
        world.own.pk: reporting.ProjectEntry(
            investments=[{"category": "labour", "performer": "self", "amount": Decimal("9")}],
            jobs={"direct": 1, "indirect": 0},
        )
    }
    saved = reporting.save_report(
        partner=world.alpha,
        period=world.period,
        user=world.user,
        version=0,
        token=empty,
        entries=entries,
        submit=True,
    )
    assert saved.refused == (
        "Projet P-SHARED : emplois non déclarés (indiquez 0 s'il n'y en a pas).",
    )
    assert the_report(world).status == ReportStatus.DRAFT
    assert InvestmentLine.objects.get().amount == Decimal("9.00")


def test_dashboard_queries_do_not_grow_with_past_reports(partner_client, world):
    """Past periods cost no query per row (only the open ones work out what is left to do)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def past(label):
        period = make.period(world.programme, label, state=PeriodState.PUBLISHED)
        make.report(world.alpha, period)

    url = "/fr-ca/partner/ALPHA/"
    past("2015-2016")
    partner_client.get(url)
    with CaptureQueriesContext(connection) as few:
        partner_client.get(url)
    for year in range(2010, 2015):
        past(f"{year}-{year + 1}")
    with CaptureQueriesContext(connection) as many:
        response = partner_client.get(url)
    assert len(response.context["reports"].data) == 8
    assert len(many) == len(few)
