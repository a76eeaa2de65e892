"""Sign-in lockout (issue #6, django-axes): 5 failures with one username from one address lock
that pair out for 15 minutes, with a page in the person's language; the client's address is read
behind the configured number of proxies; staff unlock, and so does a new password."""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from portal.roles import REVIEWERS
from portal.security import client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "Bon-mot-de-passe-2026"


@pytest.fixture
def person(db):
    return get_user_model().objects.create_user(
        "marie@alpha.example", "marie@alpha.example", PASSWORD
    )


def sign_in(client, password, username="marie@alpha.example", language="fr-ca", **extra):
    return client.post(
        f"/{language}/accounts/login/", {"username": username, "password": password}, **extra
    )


def signed_in(client):
    return "_auth_user_id" in client.session


def lock(client, username="marie@alpha.example", **extra):
    responses = [sign_in(client, "faux", username=username, **extra) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    return responses[-1]


def test_five_failures_lock_the_username_from_that_address_with_a_clear_page(client, person):
    locked = lock(client)

    page = locked.content.decode()
    assert "Connexion bloquée pour le moment" in page
    assert "Après 5 essais manqués" in page
    assert "dans 15 minutes" in page
    assert reverse("password_reset") in page


def test_the_right_password_is_refused_while_locked(client, person):
    lock(client)

    response = sign_in(client, PASSWORD)

    assert response.status_code == 429
    assert not signed_in(client)


def test_the_page_is_in_the_persons_language(client, person):
    for _ in range(4):
        sign_in(client, "faux", language="en")

    response = sign_in(client, "faux", language="en")

    assert response.status_code == 429
    assert "Sign-in blocked for now" in response.content.decode()


def test_the_lock_is_of_the_pair_not_of_the_username_nor_of_the_address(client, person):
    get_user_model().objects.create_user("jean@alpha.example", "jean@alpha.example", PASSWORD)
    lock(client)

    from_elsewhere = sign_in(client, PASSWORD, REMOTE_ADDR="198.51.100.9")
    client.logout()
    colleague = sign_in(client, PASSWORD, username="jean@alpha.example")

    assert from_elsewhere.status_code == 302
    assert colleague.status_code == 302 and signed_in(client)


def test_the_lock_ends_after_fifteen_minutes(client, person):
    lock(client)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=16))

    response = sign_in(client, PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_a_success_clears_the_failures(client, person):
    for _ in range(4):
        sign_in(client, "faux")
    assert sign_in(client, PASSWORD).status_code == 302
    client.logout()

    responses = [sign_in(client, "faux").status_code for _ in range(4)]

    assert responses == [200, 200, 200, 200]


def test_the_admin_sign_in_is_protected_too(client):
    get_user_model().objects.create_user("eva", "eva@psm.example", PASSWORD, is_staff=True)
    url = reverse("admin:login")
    codes = [
        client.post(
            url, {"username": "eva", "password": "faux", "next": "/fr-ca/admin/"}
        ).status_code
        for _ in range(5)
    ]
    after = client.post(url, {"username": "eva", "password": PASSWORD, "next": "/fr-ca/admin/"})

    assert codes == [200, 200, 200, 200, 429]
    assert after.status_code == 429


# --- The client's address -------------------------------------------------------------------------


def request_from(peer, forwarded=None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        (0, "203.0.113.7", None, "203.0.113.7"),
        (0, "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # no proxy: the header is anyone's
        (1, "10.0.0.1", "203.0.113.7", "203.0.113.7"),
        (1, "10.0.0.1", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # what the client wrote: ignored
        (2, "10.0.0.1", "1.2.3.4, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "10.0.0.1", "203.0.113.7", "10.0.0.1"),  # fewer entries than proxies: the peer
        (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
        (1, "203.0.113.50", "198.51.100.1", "203.0.113.50"),  # a peer that is not a proxy
        (1, "::ffff:10.0.0.1", "203.0.113.7", "203.0.113.7"),  # a dual-stack socket's peer
        (1, "10.0.0.1", "2001:db8:1:2:aaaa::7", "2001:db8:1:2::"),  # IPv6: its /64
        (0, "2001:db8:1:2:bbbb::9", None, "2001:db8:1:2::"),
        (0, "::1", None, "::1"),
    ],
)
def test_the_client_address_is_read_behind_the_configured_proxies(
    settings, proxies, peer, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_ip(request_from(peer, forwarded)) == expected


def test_behind_a_proxy_a_forged_forwarded_for_does_not_escape_the_lock(client, person, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        forged = f"192.0.2.{n}, 203.0.113.7"  # the client forges a new first entry each time
        response = sign_in(client, "faux", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forged)

    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    other = sign_in(client, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert other.status_code == 302  # another person behind the same proxy is not locked out


# --- Unlocking ----------------------------------------------------------------------------------


def test_a_reviewer_unlocks_in_the_admin(client, person):
    lock(client)
    reviewer = get_user_model().objects.create_user("eva", "eva@psm.example", is_staff=True)
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    staff = client.__class__()
    staff.force_login(reviewer)
    changelist = reverse("admin:axes_accessattempt_changelist")
    listing = staff.get(changelist)
    assert listing.status_code == 200
    assert "marie@alpha.example" in listing.content.decode()

    staff.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [AccessAttempt.objects.get().pk],
            "post": "yes",
        },
    )

    assert not AccessAttempt.objects.exists()
    assert sign_in(client, PASSWORD).status_code == 302


def test_a_partner_user_cannot_reach_the_lockouts(client, person):
    client.force_login(person)

    response = client.get(reverse("admin:axes_accessattempt_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_choosing_a_new_password_by_email_unlocks(client, person):
    lock(client)

    client.post(reverse("password_reset"), {"email": "marie@alpha.example"})
    link = re.search(r"https?://[^/\s]+(/\S+/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Nouveau-mot-2026!", "new_password2": "Nouveau-mot-2026!"},
    )

    assert not AccessAttempt.objects.filter(username="marie@alpha.example").exists()
    assert sign_in(client, "Nouveau-mot-2026!").status_code == 302


def test_walking_through_ones_own_ipv6_network_gives_no_new_attempts(client, person):
    codes = [
        sign_in(client, "faux", REMOTE_ADDR=f"2001:db8:1:2::{n}").status_code for n in range(1, 6)
    ]

    assert codes == [200, 200, 200, 200, 429]
