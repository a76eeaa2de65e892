"""Accounts: sign-in, sign-out, password change and reset in the portal's pages, and invitations
(staff invite a person to a partner; the link lets them choose a first password, once, in time)."""

import datetime
import re

import pytest
from django import forms
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse

from portal import accounts
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "Rapport-annuel-2024"
NEW_PASSWORD = "Faits-saillants-2025"
INVITATION_LINK = re.compile(r"http://testserver(/fr-ca/accounts/invitation/[^/\s]+/[^/\s]+/)")
RESET_LINK = re.compile(r"http://testserver(/fr-ca/accounts/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def alpha():
    return factories.partner("ALPHA")


@pytest.fixture
def beta():
    return factories.partner("BETA")


@pytest.fixture
def marie(alpha):
    user = User.objects.create_user("marie@alpha.example", "marie@alpha.example", PASSWORD)
    alpha.users.add(user)
    return user


def staff_member(username, *permissions):
    user = User.objects.create_user(username, f"{username}@psm.example", PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    return user


@pytest.fixture
def coordinator():
    return staff_member("coordo", "view_partner", "change_partner")


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def invite_url(partner):
    return reverse("admin:portal_partner_invite", args=[partner.pk])


def invite_julie(partner, coordinator):
    return accounts.invite(
        partner=partner,
        email="julie@alpha.example",
        invited_by=coordinator,
        base_url="http://testserver/",
    )


def invite(client, partner, email, capture, **names):
    with capture(execute=True):
        return client.post(invite_url(partner), {"email": email, **names})


# Signing in and out ---------------------------------------------------------------------------


def test_the_sign_in_page_speaks_french(client):
    response = client.get("/fr-ca/accounts/login/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr-CA">' in page
    assert '<label class="form-label" for="id_username">Nom d’utilisateur</label>' in page
    assert 'action="/fr-ca/accounts/login/"' in page
    assert '<a href="/fr-ca/accounts/password_reset/">Mot de passe oublié ?</a>' in page


def test_the_sign_in_page_speaks_english(client):
    response = client.get("/en/accounts/login/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert '<label class="form-label" for="id_password">Password</label>' in page
    assert 'action="/en/accounts/login/"' in page
    assert 'href="/en/accounts/password_reset/"' in page


def test_a_partner_user_signs_in_and_lands_on_their_dashboard(client, marie):
    response = client.post(
        reverse("login"), {"username": "marie@alpha.example", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain == [("/fr-ca/", 302), ("/fr-ca/partner/ALPHA/", 302)]
    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(marie.pk)


def test_staff_who_sign_in_on_the_portal_go_on_to_the_admin(client, coordinator):
    response = sign_in(client, "coordo", PASSWORD)

    assert response["Location"] == "/fr-ca/"
    assert client.get("/fr-ca/")["Location"] == reverse("admin:index")


def test_a_wrong_password_is_refused_in_french(client, marie):
    response = sign_in(client, "marie@alpha.example", "pas-le-bon")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "Saisissez un nom d’utilisateur et un mot de passe valides." in page
    assert "_auth_user_id" not in client.session


def test_sign_out_is_a_post_that_ends_the_session(client, marie):
    client.force_login(marie)

    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == "/fr-ca/accounts/login/"
    assert "_auth_user_id" not in client.session
    dashboard = client.get("/fr-ca/partner/ALPHA/")
    assert dashboard.status_code == 302
    assert dashboard["Location"].startswith("/fr-ca/accounts/login/?next=")


# Passwords ------------------------------------------------------------------------------------


def test_a_password_change_replaces_the_old_password(client, marie):
    sign_in(client, "marie@alpha.example", PASSWORD)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/fr-ca/accounts/password_change/done/"
    assert client.get(response["Location"]).status_code == 200
    client.post(reverse("logout"))
    assert sign_in(client, "marie@alpha.example", PASSWORD).status_code == 200  # refused
    assert "_auth_user_id" not in client.session
    assert sign_in(client, "marie@alpha.example", NEW_PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(marie.pk)


def test_a_wrong_old_password_is_marked_on_its_field(client, marie):
    client.force_login(marie)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pas-le-bon",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    field = re.search(r"<input[^>]*id=\"id_old_password\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="id_old_password_error"' in field
    assert "is-invalid" in field
    assert '<div class="invalid-feedback d-block" id="id_old_password_error">' in page
    assert 'role="alert"' in page
    assert "Votre ancien mot de passe est incorrect." in page
    marie.refresh_from_db()
    assert marie.check_password(PASSWORD)


def test_a_password_reset_sends_one_email_whose_link_sets_a_new_password(client, marie, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "MARIE@alpha.example"})

    assert response.status_code == 302
    assert response["Location"] == "/fr-ca/accounts/password_reset/done/"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["marie@alpha.example"]
    link = RESET_LINK.search(mailoutbox[0].body).group(1)

    hidden = client.get(link)  # the token moves to the session, out of the address
    assert hidden.status_code == 302
    assert hidden["Location"].endswith("/set-password/")
    assert client.get(hidden["Location"]).status_code == 200
    done = client.post(
        hidden["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert done["Location"] == "/fr-ca/accounts/reset/done/"
    marie.refresh_from_db()
    assert marie.check_password(NEW_PASSWORD)
    assert "Ce lien de réinitialisation n'est plus valide" in client.get(link).content.decode()


def test_a_reset_link_uses_the_portal_address_when_set(client, marie, mailoutbox, settings):
    settings.PORTAL_URL = "https://psm.example.org/"

    client.post(reverse("password_reset"), {"email": "marie@alpha.example"})

    assert "https://psm.example.org/fr-ca/accounts/reset/" in mailoutbox[0].body


def test_an_expired_reset_link_is_refused(client, marie, mailoutbox, settings, monkeypatch):
    client.post(reverse("password_reset"), {"email": "marie@alpha.example"})
    link = RESET_LINK.search(mailoutbox[0].body).group(1)
    later = datetime.datetime.now() + datetime.timedelta(
        seconds=settings.PASSWORD_RESET_TIMEOUT + 5
    )
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)

    response = client.get(link)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Ce lien de réinitialisation n'est plus valide : il a expiré ou a déjà servi." in page
    assert 'href="/fr-ca/accounts/password_reset/"' in page
    assert "new_password1" not in page


def test_a_reset_for_an_unknown_address_sends_nothing(client, marie, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "personne@ailleurs.example"})

    assert response.status_code == 302
    assert mailoutbox == []


# Invitations ----------------------------------------------------------------------------------


def test_staff_invite_a_new_person_who_gets_one_link(
    client, alpha, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)

    response = invite(
        client,
        alpha,
        "Julie.Tremblay@Alpha.example",
        django_capture_on_commit_callbacks,
        first_name="Julie",
        last_name="Tremblay",
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:portal_partner_change", args=[alpha.pk])
    julie = User.objects.get(email__iexact="julie.tremblay@alpha.example")
    assert julie.username == "julie.tremblay@alpha.example"
    assert (julie.first_name, julie.last_name) == ("Julie", "Tremblay")
    assert not julie.has_usable_password()
    assert not julie.is_staff
    assert list(julie.partners.all()) == [alpha]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["Julie.Tremblay@alpha.example"]
    assert mailoutbox[0].subject == "Invitation au portail PSM — Partenaire ALPHA"
    assert INVITATION_LINK.search(mailoutbox[0].body)
    assert "expire dans 7 jours" in mailoutbox[0].body
    assert LogEntry.objects.filter(
        user=coordinator, object_id=str(alpha.pk), action_flag=CHANGE
    ).exists()
    assert LogEntry.objects.filter(
        user=coordinator, object_id=str(julie.pk), action_flag=ADDITION
    ).exists()


def test_the_invitation_link_sets_a_password_and_signs_in(
    client, alpha, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        julie = invite_julie(alpha, coordinator)
    link = INVITATION_LINK.search(mailoutbox[0].body).group(1)

    hidden = client.get(link)
    assert hidden.status_code == 302
    form_url = hidden["Location"]
    assert form_url.endswith("/set-password/") and form_url not in link
    page = client.get(form_url)
    assert page.status_code == 200
    assert "julie@alpha.example" in page.content.decode()
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )

    assert response.redirect_chain[0] == ("/fr-ca/", 302)
    assert response.redirect_chain[-1] == ("/fr-ca/partner/ALPHA/", 302)
    assert response.status_code == 200
    assert "Votre mot de passe est enregistré." in response.content.decode()
    assert client.session["_auth_user_id"] == str(julie.pk)
    julie.refresh_from_db()
    assert julie.check_password(NEW_PASSWORD)


def test_an_invitation_link_works_once(
    client, alpha, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite_julie(alpha, coordinator)
    link = INVITATION_LINK.search(mailoutbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    client.post(reverse("logout"))

    again = client.get(link)

    assert again.status_code == 200
    assert "Ce lien d'invitation a expiré ou a déjà servi." in again.content.decode()
    assert "new_password1" not in again.content.decode()
    refused = client.post(
        form_url, {"new_password1": "Autre-2026-x", "new_password2": "Autre-2026-x"}
    )
    assert "Ce lien d'invitation a expiré ou a déjà servi." in refused.content.decode()
    assert User.objects.get(username="julie@alpha.example").check_password(NEW_PASSWORD)


def test_an_expired_invitation_is_refused_in_the_persons_language(
    client,
    alpha,
    coordinator,
    mailoutbox,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        julie = invite_julie(alpha, coordinator)
    link = INVITATION_LINK.search(mailoutbox[0].body).group(1)
    later = datetime.datetime.now() + datetime.timedelta(
        days=settings.INVITATION_MAX_AGE_DAYS, seconds=5
    )
    monkeypatch.setattr(accounts.invitation_tokens, "_now", lambda: later)

    french = client.get(link)
    english = client.get(link.replace("/fr-ca/", "/en/"))

    assert french.status_code == english.status_code == 200
    assert "Ce lien d'invitation a expiré ou a déjà servi." in french.content.decode()
    assert 'href="/fr-ca/accounts/password_reset/"' in french.content.decode()
    assert '<html lang="en">' in english.content.decode()
    assert 'href="/en/accounts/password_reset/"' in english.content.decode()
    julie.refresh_from_db()
    assert not julie.has_usable_password()


def test_an_invitation_lives_its_own_days_not_the_reset_timeout(
    alpha, coordinator, settings, monkeypatch
):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    settings.INVITATION_MAX_AGE_DAYS = 7
    julie = invite_julie(alpha, coordinator)
    token = accounts.invitation_tokens.make_token(julie)
    now = datetime.datetime.now()

    monkeypatch.setattr(
        accounts.invitation_tokens, "_now", lambda: now + datetime.timedelta(days=6)
    )
    assert accounts.invitation_tokens.check_token(julie, token)
    monkeypatch.setattr(
        accounts.invitation_tokens, "_now", lambda: now + datetime.timedelta(days=8)
    )
    assert not accounts.invitation_tokens.check_token(julie, token)


def test_an_invitation_token_is_no_reset_token(alpha, coordinator):
    julie = invite_julie(alpha, coordinator)

    assert not default_token_generator.check_token(
        julie, accounts.invitation_tokens.make_token(julie)
    )
    assert not accounts.invitation_tokens.check_token(
        julie, default_token_generator.make_token(julie)
    )


def test_an_invited_person_whose_link_expired_can_use_the_password_reset(
    client, alpha, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite_julie(alpha, coordinator)

    client.post(reverse("password_reset"), {"email": "julie@alpha.example"})

    assert len(mailoutbox) == 2
    assert mailoutbox[1].to == ["julie@alpha.example"]
    assert RESET_LINK.search(mailoutbox[1].body)


def test_an_existing_user_invited_to_a_second_partner_is_told_of_the_access(
    client, alpha, beta, marie, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)

    response = invite(client, beta, "MARIE@alpha.example", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert User.objects.filter(email__iexact="marie@alpha.example").count() == 1
    assert set(marie.partners.all()) == {alpha, beta}
    marie.refresh_from_db()
    assert marie.check_password(PASSWORD)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["marie@alpha.example"]
    assert mailoutbox[0].subject == "Accès au portail PSM : Partenaire BETA"
    assert "http://testserver/fr-ca/accounts/login/" in mailoutbox[0].body
    assert "/accounts/invitation/" not in mailoutbox[0].body


def test_staff_cannot_be_invited_to_a_partner(
    client, alpha, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    reviewer = staff_member("evaluateur", "view_report")
    client.force_login(coordinator)

    response = invite(client, alpha, "evaluateur@psm.example", django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert (
        "evaluateur@psm.example est un compte du personnel du programme : le personnel ne peut "
        "pas être utilisateur d&#x27;un partenaire." in response.content.decode()
    )
    assert not reviewer.partners.exists()
    assert not alpha.users.exists()
    assert mailoutbox == []
    assert not LogEntry.objects.exists()


def test_a_bad_address_is_refused_on_its_field(client, alpha, coordinator, mailoutbox):
    client.force_login(coordinator)

    response = client.post(invite_url(alpha), {"email": "pas une adresse"})

    assert response.status_code == 200
    assert User.objects.count() == 1
    assert mailoutbox == []


def test_the_invite_page_lists_the_partners_users(client, alpha, marie, coordinator):
    client.force_login(coordinator)

    response = client.get(invite_url(alpha))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="partner-users"' in page
    assert "marie@alpha.example" in page
    change = client.get(reverse("admin:portal_partner_change", args=[alpha.pk]))
    assert f'href="{invite_url(alpha)}"' in change.content.decode()


def test_staff_without_the_change_permission_get_403(client, alpha, mailoutbox):
    client.force_login(staff_member("lecteur", "view_partner"))

    assert client.get(invite_url(alpha)).status_code == 403
    assert client.post(invite_url(alpha), {"email": "julie@alpha.example"}).status_code == 403
    assert not User.objects.filter(email="julie@alpha.example").exists()
    change = client.get(reverse("admin:portal_partner_change", args=[alpha.pk]))
    assert invite_url(alpha) not in change.content.decode()


def test_a_partner_user_cannot_reach_the_invite_page(client, alpha, marie, mailoutbox):
    # Even with staff flags and the permission: a partner's user never enters the admin.
    marie.is_staff = True
    marie.save()
    marie.user_permissions.add(Permission.objects.get(codename="change_partner"))
    client.force_login(marie)

    response = client.post(invite_url(alpha), {"email": "julie@alpha.example"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not User.objects.filter(email="julie@alpha.example").exists()
    assert mailoutbox == []


# The admin's own account pages ----------------------------------------------------------------


def test_the_admin_sign_in_and_password_change_keep_the_admins_templates(client, coordinator):
    login = client.get(reverse("admin:login"))
    assert login.status_code == 200
    assert "admin/login.html" in [t.name for t in login.templates]

    client.force_login(coordinator)
    change = client.get(reverse("admin:password_change"))
    assert change.status_code == 200
    assert "admin/password_change_form.html" in [t.name for t in change.templates]
    assert "portal/base.html" not in [t.name for t in change.templates]
    done = client.get(reverse("admin:password_change_done"))
    assert done.status_code == 200
    assert "portal/base.html" not in [t.name for t in done.templates]


# The form field include -----------------------------------------------------------------------


class SampleForm(forms.Form):
    name = forms.CharField(label="Nom", help_text="Tel qu'affiché.")
    kind = forms.ChoiceField(label="Type", choices=[("a", "A"), ("b", "B")])
    agreed = forms.BooleanField(label="D'accord")
    size = forms.ChoiceField(
        label="Taille", choices=[("s", "S"), ("m", "M")], widget=forms.RadioSelect
    )


def render_field(form, name):
    return render_to_string("portal/_field.html", {"field": form[name]})


def test_the_field_include_gives_each_widget_its_bootstrap_class_and_label():
    form = SampleForm()

    name = render_field(form, "name")
    assert '<label class="form-label" for="id_name">Nom</label>' in name
    assert 'class="form-control"' in name
    assert 'aria-describedby="id_name_helptext"' in name
    assert 'id="id_name_helptext"' in name
    assert 'class="form-select"' in render_field(form, "kind")
    agreed = render_field(form, "agreed")
    assert 'class="form-check-input"' in agreed
    assert '<label class="form-check-label" for="id_agreed">' in agreed
    size = render_field(form, "size")
    assert "<legend" in size
    assert size.count('class="form-check-input"') == 2
    assert '<label class="form-check-label" for="id_size_1">M</label>' in size


def test_the_field_include_links_errors_to_their_input():
    form = SampleForm(data={"name": "", "kind": "z"})
    form.is_valid()

    name = render_field(form, "name")
    assert 'aria-invalid="true"' in name
    assert 'aria-describedby="id_name_helptext id_name_error"' in name
    assert 'id="id_name_error"' in name
    assert 'class="form-control is-invalid"' in name
    size = render_field(form, "size")
    assert '<fieldset aria-describedby="id_size_error">' in size
    assert 'id="id_size_error"' in size
