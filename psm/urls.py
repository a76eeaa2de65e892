"""Every URL needs a signed-in person (portal.middleware.LoginRequiredMiddleware) except the views
marked @login_not_required: the highlights and their downloads, the API, the language switch, the
sign-in and password-reset pages, and the health check (tests/test_production.py lists them)."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from portal.urls import api_urls, highlights, partner_urls
from portal.views import errors

urlpatterns = [
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/highlights/", include(api_urls)),
    path("healthz", errors.health, name="health"),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("highlights/", include(highlights)),
    path("accounts/", include("portal.account_urls")),
    path("", include(partner_urls)),
)

handler500 = "portal.views.errors.server_error"
