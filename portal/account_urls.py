"""Accounts: Django's own sign-in, sign-out, password change and reset views, in the portal's look."""

from django.urls import include, path

urlpatterns = [
    path("", include("django.contrib.auth.urls")),
]
