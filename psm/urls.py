from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal.urls import api_urls, highlights

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/highlights/", include(api_urls)),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("highlights/", include(highlights)),
    # Until the partner portal exists, the admin is the home page.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
)
