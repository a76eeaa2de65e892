"""The read-only JSON API: published highlights only, the contract's keys, ETag and caching."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from portal import publication as publishing
from portal.models import InvestmentLine, Period, Publication, ReportStatus
from tests.test_highlights_command import KEYS

pytestmark = pytest.mark.django_db

LIST = "/api/highlights/"
DETAIL = "/api/highlights/PSM-NUM/2019-2020.json"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def period(demo):
    return Period.objects.select_related("programme").get(
        programme__code="PSM-NUM", label="2019-2020"
    )


@pytest.fixture
def staff(client, demo):
    user = get_user_model().objects.get(username="personnel")
    client.force_login(user)
    return user


def republish_with_a_changed_line(period, user):
    line = InvestmentLine.objects.filter(
        report__period=period, report__status=ReportStatus.APPROVED
    ).first()
    InvestmentLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("1000000.00"))
    return publishing.publish(period=period, user=user)


class TestList:
    def test_it_lists_the_published_periods_with_their_detail_url(self, client, demo):
        response = client.get(LIST)
        entries = {(entry["programme"], entry["period"]): entry for entry in response.json()}

        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert ("PSM-NUM", "2019-2020") in entries
        assert ("PSM-NUM", "2020-2021") in entries
        assert ("PSM-NUM", "2021-2022") not in entries  # closed, never published
        entry = entries["PSM-NUM", "2019-2020"]
        assert set(entry) == {"programme", "period", "published_at", "url"}
        assert entry["url"] == "http://testserver/api/highlights/PSM-NUM/2019-2020.json"
        assert client.get(entry["url"]).status_code == 200

    def test_it_gives_the_latest_publication_date(self, client, period, staff):
        latest = republish_with_a_changed_line(period, staff)

        entries = {(e["programme"], e["period"]): e for e in client.get(LIST).json()}

        assert entries["PSM-NUM", "2019-2020"]["published_at"] == latest.published_at.isoformat()

    def test_it_answers_304_to_a_current_etag(self, client, demo):
        etag = client.get(LIST)["ETag"]

        assert client.get(LIST, headers={"if-none-match": etag}).status_code == 304


class TestDetail:
    def test_it_has_exactly_the_keys_of_the_highlights_command(self, client, period):
        data = client.get(DETAIL).json()

        assert set(data) == KEYS
        assert data == publishing.latest(period).figures
        assert data["partner_investment"] == "39286412.50"
        assert data["jobs"] == 474

    def test_it_serves_the_publication_not_the_live_figures_even_to_staff(
        self, client, period, staff
    ):
        published = publishing.latest(period).figures
        InvestmentLine.objects.filter(report__period=period).update(amount=Decimal("1.00"))

        assert client.get(DETAIL).json() == published
        assert client.get(f"{DETAIL}?version=live").json() == published

    @pytest.mark.parametrize(
        "url",
        [
            "/api/highlights/PSM-NUM/2021-2022.json",  # closed, not published
            "/api/highlights/PSM-NUM/1999-2000.json",
            "/api/highlights/NOPE/2019-2020.json",
        ],
    )
    def test_unpublished_or_unknown_is_a_json_404_for_everyone(self, client, staff, url):
        for logged_in in (True, False):
            if not logged_in:
                client.logout()
            response = client.get(url)

            assert response.status_code == 404
            assert response["Content-Type"] == "application/json"
            assert set(response.json()) == {"detail"}

    def test_it_is_cacheable_with_an_etag_and_its_publication_date(self, client, period):
        response = client.get(DETAIL)

        assert response["ETag"].startswith('"')
        assert response["Cache-Control"] in ("public, max-age=300", "max-age=300, public")
        assert response["Last-Modified"]

    def test_a_current_etag_gets_304_without_a_body(self, client, demo):
        etag = client.get(DETAIL)["ETag"]

        response = client.get(DETAIL, headers={"if-none-match": etag})

        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag

    def test_a_stale_etag_gets_the_document(self, client, demo):
        response = client.get(DETAIL, headers={"if-none-match": '"stale"'})

        assert response.status_code == 200
        assert set(response.json()) == KEYS

    def test_a_republish_changes_the_etag_and_the_content(self, client, period, staff):
        before = client.get(DETAIL)

        republish_with_a_changed_line(period, staff)
        after = client.get(DETAIL, headers={"if-none-match": before["ETag"]})

        assert after.status_code == 200
        assert after["ETag"] != before["ETag"]
        assert Decimal(after.json()["partner_investment"]) == (
            Decimal(before.json()["partner_investment"]) + Decimal("1000000.00")
        )

    def test_the_body_is_served_from_the_cache_once_rendered(self, client, period):
        first = client.get(DETAIL)
        # Publications are never edited; one edited behind the API's back shows the cache at work.
        Publication.objects.filter(pk=publishing.latest(period).pk).update(figures={})

        second = client.get(DETAIL)

        assert second.content == first.content
        assert set(second.json()) == KEYS

    def test_head_is_allowed(self, client, demo):
        response = client.head(DETAIL)

        assert response.status_code == 200
        assert response["ETag"]


class TestReadOnly:
    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    @pytest.mark.parametrize("url", [LIST, DETAIL])
    def test_anything_but_get_and_head_is_405(self, client, demo, method, url):
        assert getattr(client, method)(url).status_code == 405
