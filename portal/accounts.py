"""Partner users' accounts: staff invite a person to a partner, who chooses a first password.

Passwords are Django's business (its forms, hashers and views); this module only decides who gets
an account and which e-mail they receive. An invitation's link carries a token like a password
reset's, from its own generator (another salt, its own lifetime): it stops working once a password
is set, and after `INVITATION_MAX_AGE_DAYS` days.
"""

import datetime
import unicodedata

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext as _

from portal.notifications import email_people


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """A password reset's token, with its own salt (a reset token is no invitation and the other
    way round) and its own lifetime in days."""

    key_salt = "portal.accounts.InvitationTokenGenerator"

    @property
    def timeout(self):
        return datetime.timedelta(days=settings.INVITATION_MAX_AGE_DAYS).total_seconds()

    def check_token(self, user, token):
        # Django's check, except that its age limit is PASSWORD_RESET_TIMEOUT, often shorter.
        if not (user and token):
            return False
        try:
            timestamp = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return self._num_seconds(self._now()) - timestamp <= self.timeout


invitation_tokens = InvitationTokenGenerator()


def absolute_url(path, base_url=""):
    """`path` on the portal's public address (PORTAL_URL), else on `base_url` (the request's)."""
    root = (settings.PORTAL_URL or base_url).rstrip("/")
    return f"{root}{path}"


def invitation_link(user, base_url=""):
    """The link with which `user` chooses a first password (in the site's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse(
            "invitation-accept",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": invitation_tokens.make_token(user),
            },
        )
    return absolute_url(path, base_url)


def is_staff_account(user):
    return user.is_staff or user.is_superuser


def same_address(one, other):
    """E-mail addresses compared as Django's password reset compares them."""
    return (
        unicodedata.normalize("NFKC", one).casefold()
        == unicodedata.normalize("NFKC", other).casefold()
    )


def invited_without_password(email):
    """Active partner users with this address who never chose a password: « Mot de passe
    oublié ? » serves them too (Django's reset skips accounts without a usable password), so an
    expired invitation needs no one from staff."""
    users = (
        get_user_model()
        ._default_manager.filter(
            email__iexact=email,
            is_active=True,
            is_staff=False,
            is_superuser=False,
            partners__isnull=False,
        )
        .distinct()
        .order_by("pk")
    )
    return [u for u in users if not u.has_usable_password() and same_address(email, u.email)]


@transaction.atomic
def invite(*, partner, email, first_name="", last_name="", invited_by, base_url=""):
    """Give the person with this e-mail access to `partner`, creating their account if needed,
    and e-mail them (once committed): a link to choose a password, or, when they already have
    one, word that they can now see this organisation. `base_url` (the request's root) builds the
    links when PORTAL_URL is not set. Returns the user."""
    if not invited_by.has_perm("portal.change_partner"):
        raise PermissionDenied(_("Vous n'avez pas la permission d'effectuer cette action."))
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    validate_email(email)
    existing = list(User._default_manager.select_for_update().filter(email__iexact=email))
    if len(existing) > 1:
        raise ValidationError(
            _(
                "Plusieurs comptes correspondent à %(email)s : corrigez-les dans la gestion des "
                "utilisateurs avant d'inviter cette personne."
            )
            % {"email": email}
        )
    if existing:
        user, created = existing[0], False
        if is_staff_account(user):
            raise ValidationError(
                _(
                    "%(email)s est un compte du personnel du programme : le personnel ne peut pas "
                    "être utilisateur d'un partenaire."
                )
                % {"email": email}
            )
        if not user.is_active:
            raise ValidationError(
                _(
                    "Le compte de %(email)s est désactivé : réactivez-le dans la gestion des "
                    "utilisateurs avant de l'inviter."
                )
                % {"email": email}
            )
    else:
        created = True
        user = User(username=email.lower(), email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.full_clean()  # e.g. a username (the address) already taken by another account
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # The same address invited twice at the same moment: the other invitation won.
            raise ValidationError(
                _("%(email)s vient d'être invité par quelqu'un d'autre : réessayez.")
                % {"email": email}
            ) from None
    partner.users.add(user)

    # Who invited whom, in the admin's history of the partner (and of the new account).
    if created:
        LogEntry.objects.log_actions(
            invited_by.pk,
            [user],
            ADDITION,
            _("Compte créé par invitation à %(partner)s.") % {"partner": partner},
            single_object=True,
        )
    LogEntry.objects.log_actions(
        invited_by.pk,
        [partner],
        CHANGE,
        _("Invitation de %(email)s.") % {"email": email},
        single_object=True,
    )

    context = {"partner": partner, "user": user}
    if user.has_usable_password():
        with translation.override(settings.LANGUAGE_CODE):
            login_path = reverse("login")
        context["login_url"] = absolute_url(login_path, base_url)
        email_people([user.email], "partner_access", context)
    else:
        context["link"] = invitation_link(user, base_url)
        context["days"] = settings.INVITATION_MAX_AGE_DAYS
        email_people([user.email], "invitation", context)
    return user
