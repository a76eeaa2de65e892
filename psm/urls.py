from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from portal.urls import api_urls, highlights, partner_urls

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/highlights/", include(api_urls)),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("highlights/", include(highlights)),
    path("accounts/", include("portal.account_urls")),
    path("", include(partner_urls)),
)
