"""Publishing a period's highlights: a frozen snapshot, what changed since, republishing."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portal import publication
from portal.highlights import compute
from portal.models import InvestmentLine, Period, PeriodState, Report, ReportStatus
from portal.roles import PROGRAMME_MANAGERS, REVIEWERS
from tests.test_imports import load_fixtures

pytestmark = pytest.mark.django_db


def staff(username, group):
    user = get_user_model().objects.create_user(
        username, f"{username}@x.example", "x", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def period():
    load_fixtures()
    return Period.objects.select_related("programme").get(
        programme__code="PSM-NUM", label="2019-2020"
    )


def test_publishing_freezes_the_approved_figures(period):
    manager = staff("gestion", PROGRAMME_MANAGERS)

    published = publication.publish(period=period, user=manager, note="Première publication")

    assert published.figures == compute(period).as_json()
    assert published.approved_reports == 2  # ALPHA and BETA; CRIQ's report is returned
    assert (published.published_by, published.note) == (manager, "Première publication")
    period.refresh_from_db()
    assert period.state == PeriodState.PUBLISHED


def test_reviewers_cannot_publish(period):
    with pytest.raises(PermissionDenied):
        publication.publish(period=period, user=staff("revue", REVIEWERS))
    assert not period.publications.exists()


def test_a_change_after_publication_leaves_the_snapshot_and_is_shown_figure_by_figure(period):
    manager = staff("gestion", PROGRAMME_MANAGERS)
    published = publication.publish(period=period, user=manager)
    line = InvestmentLine.objects.get(report__partner__code="BETA", report__period=period)
    line.amount += Decimal("100.00")
    line.save()

    published.refresh_from_db()
    changes = {c.key: (c.published, c.live) for c in publication.changes_since(published)}

    assert published.figures["partner_investment"] == "1235812.35"
    assert changes["partner_investment"] == ("1235812.35", "1235912.35")
    assert changes["sme_research_spending"] == ("1234812.35", "1234912.35")
    assert "projects_in_progress" not in changes
    assert [r.partner.code for r in publication.reports_changed_since(published)] == ["BETA"]


def test_republishing_keeps_every_publication(period):
    manager = staff("gestion", PROGRAMME_MANAGERS)
    first = publication.publish(period=period, user=manager)
    InvestmentLine.objects.filter(report__partner__code="ALPHA", report__period=period).update(
        amount=Decimal("1.00")
    )

    second = publication.publish(period=period, user=manager, note="Révision d'ALPHA")

    assert publication.latest(period) == second
    assert list(period.publications.order_by("published_at")) == [first, second]
    assert first.figures != second.figures


def test_the_preview_says_what_submitted_reports_would_add(period):
    Report.objects.filter(partner__code="CRIQ", period=period).update(status=ReportStatus.SUBMITTED)

    preview = publication.preview(period)

    additions = {c.key: (c.published, c.live) for c in preview.additions()}
    assert preview.submitted_reports == 1
    assert additions["partner_investment"] == ("1235812.35", "1236312.35")
    assert additions["jobs"] == (22, 102)


def test_the_admin_page_previews_publishes_and_lists_the_history(client, period):
    manager = staff("gestion", PROGRAMME_MANAGERS)
    client.force_login(manager)
    url = reverse("admin:portal_period_publish", args=[period.pk])

    page = client.get(url)
    assert page.status_code == 200 and page.context["current"] is None
    assert client.post(url, {"note": "Version officielle"}).status_code == 302
    assert client.post(url, {"note": "Révision"}).status_code == 302

    page = client.get(url)
    history = page.content.decode()
    assert "2019-2020, publié le" in history and "2019-2020, révisé le" in history
    assert period.publications.count() == 2


def test_reviewers_see_the_publication_page_but_cannot_publish(client, period):
    client.force_login(staff("revue", REVIEWERS))
    url = reverse("admin:portal_period_publish", args=[period.pk])

    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 403
    assert not period.publications.exists()


def test_after_publication_a_changed_line_leaves_the_public_page_and_staff_see_the_diff(
    client, period
):
    manager = staff("gestion", PROGRAMME_MANAGERS)
    publication.publish(period=period, user=manager)
    page = reverse("highlights", kwargs={"programme": "PSM-NUM", "period": "2019-2020"})
    assert "1,2\u00a0M$" in client.get(page).content.decode()
    line = InvestmentLine.objects.get(report__partner__code="ALPHA", category="labour")
    line.amount = Decimal("9000000.00")
    line.save()

    public = client.get(page).content.decode()
    assert "1,2\u00a0M$" in public and "9,0\u00a0M$" not in public  # the snapshot
    client.force_login(manager)
    diff = client.get(reverse("admin:portal_period_publish", args=[period.pk]))
    changes = {c.key: (c.published, c.live) for c in diff.context["changes"]}
    assert changes["partner_investment"] == ("1235812.35", "9001244.46")
    assert [r.partner.code for r in diff.context["responsible"]] == ["ALPHA"]
    live = client.get(page, {"version": "live"}).content.decode()
    assert "9,0\u00a0M$" in live
