"""Accounts (under /<language>/accounts/): Django's sign-in, sign-out, password change and reset
views in the portal's look (templates/registration/), and the invitation's link.

The paths and names are those of django.contrib.auth.urls; the reset views are the portal's. Every
page here but the password change is public (Django marks its views @login_not_required)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from portal.views import accounts

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "invitation/<uidb64>/<token>/",
        accounts.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
]
