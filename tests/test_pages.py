"""The highlights pages: the yearly one-pager (FR/EN) and the programme's periods side by side."""

import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from portal import publication
from portal.models import Extension, Partner, Period, PeriodState, Programme, Publication
from tests import factories as make

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
PAGE_FR = "/fr-ca/highlights/PSM-NUM/2019-2020/"
PAGE_EN = "/en/highlights/PSM-NUM/2019-2020/"
UNPUBLISHED_FR = "/fr-ca/highlights/PSM-NUM/2021-2022/"


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.get(username="personnel"))
    return client


@pytest.fixture
def partner_client(client):
    user = get_user_model().objects.get(username="partenaire")
    assert Partner.objects.filter(users=user).exists()
    client.force_login(user)
    return client


def text(response):
    return response.content.decode()


@pytest.mark.usefixtures("demo")
class OnePagerTests:
    def test_the_demo_page_in_french_shows_the_published_figures(self, client):
        page = text(client.get(PAGE_FR))
        assert "Faits saillants 2019-2020" in page
        assert "Du 1er avril 2019 au 31 mars 2020" in page
        for figure in ("46", "474", "17", "9", "6", f"39,3{NBSP}M$", f"5,9{NBSP}M$"):
            assert f'<span class="tile-value">{figure}</span>' in page
        for label in (
            "Projets numériques en cours de réalisation",
            "En investissements par les partenaires",
            "Partenaires impliqués dans le développement de produits numériques",
            "Projets collaboratifs de développement fondamental",
            "Investis dans des centres de recherche publics et dans les PME québécoises",
            "Nouveaux produits",
            "Emplois",
        ):
            assert label in page

    def test_it_names_the_sectors_of_the_new_products(self, client):
        page = text(client.get(PAGE_FR))
        for sector in (
            "Automobile",
            "Communications et informations",
            "Sciences de la vie et santé",
        ):
            assert f'<span class="chip">{sector}</span>' in page

    def test_it_gives_the_programme_context(self, client):
        page = text(client.get(PAGE_FR))
        assert f"26,75{NBSP}millions de dollars" in page
        assert f"160,5{NBSP}millions de dollars" in page
        assert "Ministère de l&#x27;Économie et de l&#x27;Innovation" in page
        assert "Accélérer la commercialisation de solutions numériques" in page

    def test_the_footnote_is_made_from_the_extension(self, client):
        page = text(client.get(PAGE_FR))
        assert (
            "La cueillette des données a exceptionnellement bénéficié d&#x27;une extension "
            "jusqu&#x27;au 31 août 2020, en raison de la COVID-19." in page
        )

    def test_a_period_without_extension_has_no_footnote(self, client):
        assert 'class="footnote"' not in text(client.get("/fr-ca/highlights/PSM-Q/2020-2021/"))

    def test_it_shows_progress_toward_each_target(self, client):
        page = text(client.get(PAGE_FR))
        assert page.count('role="progressbar"') == 3
        assert f"160,5{NBSP}M$" in page

    def test_a_target_left_empty_has_no_bar(self, client):
        Programme.objects.filter(code="PSM-NUM").update(jobs_target=None)
        assert text(client.get(PAGE_FR)).count('role="progressbar"') == 2

    def test_the_english_page_uses_english_formats(self, client):
        page = text(client.get(PAGE_EN))
        assert "$39.3M" in page
        assert "$5.9M" in page
        assert "April 1, 2019 to March 31, 2020" in page
        assert f"$26.75{NBSP}million" in page
        for sector in ("Automotive", "Communications and information", "Life sciences and health"):
            assert sector in page
        assert "August 31, 2020" in page
        assert "because of COVID-19" in page

    def test_the_bare_path_redirects_to_a_language(self, client):
        response = client.get("/highlights/PSM-NUM/2019-2020/")
        assert response.status_code == 302
        assert response["Location"] == PAGE_FR

    def test_it_says_when_it_was_published(self, client):
        page = text(client.get(PAGE_FR))
        assert "Publié le " in page
        assert "révisé le" not in page
        assert "Provisoire" not in page

    def test_a_republication_reads_as_a_revision(self, client):
        period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
        first = period.publications.get()
        Publication.objects.filter(pk=first.pk).update(published_at="2020-09-15T12:00:00Z")
        staff = get_user_model().objects.get(username="personnel")
        publication.publish(period=period, user=staff, note="Correction d'un rapport")
        page = text(client.get(PAGE_FR))
        assert "Publié le 15 septembre 2020" in page
        assert "révisé le " in page
        assert "Correction d&#x27;un rapport" in page

    def test_everyone_gets_the_exports_of_a_published_period(self, client):
        page = text(client.get(PAGE_FR))
        for fmt in ("csv", "xlsx", "json", "pdf"):
            assert f'href="{PAGE_FR}export.{fmt}"' in page

    def test_the_public_gets_no_drilldown(self, client):
        assert "/rows/" not in text(client.get(PAGE_FR))

    def test_it_offers_the_other_language(self, client):
        page = text(client.get(PAGE_FR))
        assert 'action="/i18n/setlang/"' in page
        assert 'value="en"' in page


@pytest.mark.usefixtures("demo")
class AccessTests:
    def test_the_unpublished_period_is_unpublished_in_the_demo(self):
        period = Period.objects.get(programme__code="PSM-NUM", label="2021-2022")
        assert period.state == PeriodState.CLOSED
        assert not period.publications.exists()

    @pytest.mark.parametrize(
        "path", [UNPUBLISHED_FR, "/fr-ca/highlights/PSM-IA/2025-2026/", "/en" + UNPUBLISHED_FR[6:]]
    )
    def test_the_public_gets_404_for_an_unpublished_period(self, client, path):
        assert client.get(path).status_code == 404

    def test_a_partner_user_gets_404_for_an_unpublished_period(self, partner_client):
        assert partner_client.get(UNPUBLISHED_FR).status_code == 404

    def test_a_partner_user_sees_the_published_period(self, partner_client):
        response = partner_client.get(PAGE_FR)
        assert response.status_code == 200
        assert "/rows/" not in text(response)

    def test_a_partner_user_cannot_ask_for_live_figures(self, partner_client):
        assert "Provisoire" not in text(partner_client.get(PAGE_FR + "?version=live"))

    def test_unknown_programme_or_period_is_404(self, client):
        assert client.get("/fr-ca/highlights/NOPE/2019-2020/").status_code == 404
        assert client.get("/fr-ca/highlights/PSM-NUM/1999-2000/").status_code == 404

    def test_staff_see_an_unpublished_period_marked_provisional(self, staff_client):
        response = staff_client.get(UNPUBLISHED_FR)
        assert response.status_code == 200
        assert "Provisoire — chiffres non publiés" in text(response)
        assert "Publié le" not in text(response)

    def test_staff_see_the_published_figures_and_may_ask_for_live_ones(self, staff_client):
        page = text(staff_client.get(PAGE_FR))
        assert "Provisoire" not in page
        assert f'href="{PAGE_FR}?version=live"' in page
        live = text(staff_client.get(PAGE_FR + "?version=live"))
        assert "Provisoire — chiffres non publiés" in live
        assert f'href="{PAGE_FR}"' in live

    def test_each_staff_tile_links_to_its_drilldown(self, staff_client):
        page = text(staff_client.get(PAGE_FR))
        for drilldown in (
            "projects",
            "partners",
            "investments",
            "sme_research",
            "jobs",
            "products",
        ):
            assert f'href="{PAGE_FR}rows/{drilldown}/"' in page


@pytest.mark.usefixtures("demo")
class ProgrammePageTests:
    def test_the_public_sees_published_periods_only(self, client):
        page = text(client.get("/fr-ca/highlights/PSM-NUM/"))
        assert "2019-2020" in page
        assert "2020-2021" in page
        assert "2021-2022" not in page
        assert "provisoire" not in page.lower()
        assert "<svg" in page

    def test_it_shows_each_period_figures_side_by_side(self, client):
        page = text(client.get("/fr-ca/highlights/PSM-NUM/"))
        assert f'<td class="num">39,3{NBSP}M$</td>' in page
        assert '<td class="num">474</td>' in page

    def test_staff_also_see_unpublished_periods_marked_provisional(self, staff_client):
        page = text(staff_client.get("/fr-ca/highlights/PSM-NUM/"))
        assert "/fr-ca/highlights/PSM-NUM/2021-2022/" in page
        assert "provisoire" in page
        assert 'class="chart-bar provisional"' in page

    def test_a_partner_user_sees_published_periods_only(self, partner_client):
        assert "2021-2022" not in text(partner_client.get("/fr-ca/highlights/PSM-NUM/"))

    def test_an_unknown_programme_is_404(self, client):
        assert client.get("/fr-ca/highlights/NOPE/").status_code == 404

    def test_the_english_page(self, client):
        page = text(client.get("/en/highlights/PSM-NUM/"))
        assert "Digital Tomorrow" in page
        assert "$39.3M" in page


# An investment line is unique per (report, project, category, performer).
KINDS_OF_LINE = list(
    itertools.product(
        ("labour", "equipment", "subcontracting", "materials", "other"),
        ("self", "quebec_sme", "research_centre", "other"),
    )
)


def build(lines_per_partner, partners):
    """A programme with two periods (the first published), `partners` partners, each leading a
    project and reporting `lines_per_partner` investment lines, a job line and a product in each."""
    # Its own codes: the module's demo may be loaded alongside.
    programme = make.programme("PSM-Q")
    first = make.period(programme, "2019-2020")
    second = make.period(programme, "2020-2021")
    Extension.objects.create(period=first, new_deadline="2020-08-31", reason="COVID-19")
    sectors = [make.sector("AUTO"), make.sector("SANTE", "Santé", "Health")]
    for number in range(partners):
        partner = make.partner(f"Q-P{number}")
        project = make.project(programme, f"Q-PRJ{number}", partner)
        for period in (first, second):
            report = make.report(partner, period)
            for line, (category, performer) in enumerate(KINDS_OF_LINE[:lines_per_partner]):
                make.investment(report, project, Decimal("1000.10") + line, category, performer)
            make.jobs(report, project, 3, 1)
            make.product(report, project, "Produit", period.start, sectors[number % 2])
    staff = get_user_model().objects.create_user("q-staff", is_staff=True, password=None)
    staff.user_permissions.add(Permission.objects.get(codename="view_report"))
    staff.user_permissions.add(Permission.objects.get(codename="publish_highlights"))
    publication.publish(period=first, user=staff)
    return staff


# The same ceilings for 2 partners × 1 line and 30 partners × 12 lines. The public one-pager:
# period, extensions (prefetched), latest publication, publication history, sectors. Staff add the
# session, user, permissions and partner check, and the live rollup's five aggregates. The
# programme page: programme, periods, publications (prefetched), plus a live rollup per
# unpublished period for staff (it grows with the periods, never with the lines).
@pytest.mark.parametrize(("lines", "partners"), [(1, 2), (12, 30)])
class QueryCountTests:
    def test_the_public_one_pager(self, client, django_assert_max_num_queries, lines, partners):
        build(lines, partners)
        with django_assert_max_num_queries(5):
            response = client.get("/fr-ca/highlights/PSM-Q/2019-2020/")
        assert response.status_code == 200

    def test_the_staff_live_page(self, client, django_assert_max_num_queries, lines, partners):
        client.force_login(build(lines, partners))
        with django_assert_max_num_queries(15):
            response = client.get("/fr-ca/highlights/PSM-Q/2020-2021/")
        assert "Provisoire" in text(response)

    def test_the_public_programme_page(
        self, client, django_assert_max_num_queries, lines, partners
    ):
        build(lines, partners)
        with django_assert_max_num_queries(3):
            response = client.get("/fr-ca/highlights/PSM-Q/")
        assert response.status_code == 200

    def test_the_staff_programme_page(self, client, django_assert_max_num_queries, lines, partners):
        client.force_login(build(lines, partners))
        with django_assert_max_num_queries(13):
            response = client.get("/fr-ca/highlights/PSM-Q/")
        assert "provisoire" in text(response)
