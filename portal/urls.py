"""The partner portal and the highlights pages (under a language prefix), and the read-only JSON
API (without one)."""

from django.urls import path

from portal.views import api, downloads, drilldown, pages, partner

partner_urls = [
    path("", partner.home, name="portal-home"),
    path("partners/", partner.choose, name="partner-choose"),
    path("partner/<str:partner>/", partner.dashboard, name="partner-dashboard"),
    path(
        "partner/<str:partner>/reports/<str:programme>/<str:period>/",
        partner.report,
        name="partner-report",
    ),
]

highlights = [
    path("<str:programme>/", pages.programme_page, name="highlights-programme"),
    path("<str:programme>/<str:period>/", pages.highlights_page, name="highlights"),
    path(
        "<str:programme>/<str:period>/export.<str:format>",
        downloads.export,
        name="highlights-export",
    ),
    path(
        "<str:programme>/<str:period>/rows/<str:figure>/",
        drilldown.drilldown,
        name="highlights-drilldown",
    ),
]

api_urls = [
    path("", api.published_list, name="api-highlights"),
    path("<str:programme>/<str:period>.json", api.published_detail, name="api-highlights-detail"),
]
