"""The highlights pages (under a language prefix) and the read-only JSON API (without one)."""

from django.urls import path

from portal.views import api, downloads, drilldown, pages

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
