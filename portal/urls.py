"""The partner portal and the highlights pages (under a language prefix), and the read-only JSON
API (without one).

Codes and labels in addresses (partner, programme, period, figure) are `<code:...>`: any text but
a slash or a NUL character. No code holds a NUL, and PostgreSQL refuses one even in a query (a
server error): such an address matches nothing, a 404.
"""

from django.urls import path, register_converter

from portal.views import api, downloads, drilldown, pages, partner


class CodeConverter:
    regex = r"[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(CodeConverter, "code")

partner_urls = [
    path("", partner.home, name="portal-home"),
    path("partners/", partner.choose, name="partner-choose"),
    path("partner/<code:partner>/", partner.dashboard, name="partner-dashboard"),
    path(
        "partner/<code:partner>/reports/<code:programme>/<code:period>/",
        partner.report,
        name="partner-report",
    ),
]

highlights = [
    path("<code:programme>/", pages.programme_page, name="highlights-programme"),
    path("<code:programme>/<code:period>/", pages.highlights_page, name="highlights"),
    path(
        "<code:programme>/<code:period>/export.<code:format>",
        downloads.export,
        name="highlights-export",
    ),
    path(
        "<code:programme>/<code:period>/rows/<code:figure>/",
        drilldown.drilldown,
        name="highlights-drilldown",
    ),
]

api_urls = [
    path("", api.published_list, name="api-highlights"),
    path("<code:programme>/<code:period>.json", api.published_detail, name="api-highlights-detail"),
]
