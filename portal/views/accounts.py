"""Accounts: Django's sign-in and password views, plus the invitation's first password and the
page of a locked-out sign-in.

Three views differ from Django's: the password reset (its e-mail also reaches a person invited
who never chose a password, and its link uses PORTAL_URL), its confirmation (a new password also
lifts a sign-in lockout: the person has just proved they hold the address), and the invitation's
page, which is that confirmation with the invitation's token, signing the person in at the end.
"""

from axes.helpers import get_cool_off
from axes.utils import reset as reset_lockouts
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import accounts


class PasswordResetForm(auth_forms.PasswordResetForm):
    def get_users(self, email):
        yield from super().get_users(email)
        yield from accounts.invited_without_password(email)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm

    @property
    def extra_email_context(self):
        return {"portal_url": settings.PORTAL_URL.rstrip("/")}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        reset_lockouts(username=form.user.get_username())
        return response


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): HTTP 429 and a page in
    the person's language saying until when, and how to get in sooner."""
    context = {
        "until": timezone.localtime() + get_cool_off(request),
        "minutes": int(get_cool_off(request).total_seconds() // 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "registration/locked_out.html", context, status=429)


class InvitationAcceptView(PasswordResetConfirmView):
    """The invitation's link: choose a first password (Django's SetPasswordForm), then signed in.

    Like Django's reset, the token moves to the session and the page reloads without it in its
    address, so it never leaks through a Referer header."""

    template_name = "registration/invitation_accept.html"
    token_generator = accounts.invitation_tokens
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("portal-home")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request, _("Votre mot de passe est enregistré. Bienvenue dans le portail.")
        )
        return response
