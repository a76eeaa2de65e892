"""Production settings (issue #6): `check --deploy` under the production environment, what those
settings resolve to, the database pool, the security headers, deny-by-default, the session's idle
timeout, the error pages in the person's language, and an e-mail failure that loses nothing."""

import json
import os
import secrets
import smtplib
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.mail.backends.base import BaseEmailBackend
from django.db import OperationalError, connection
from django.template import engines
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone, translation

from portal.middleware import ACTIVITY_WRITE_SECONDS, EXPIRED_POST, LAST_ACTIVITY, MAX_KEPT_BYTES
from portal.models import InvestmentLine, Report, ReportStatus
from tests.forms_support import form_data
from tests.partner_world import complete, fill, report_url, save

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def production_env(**overrides):
    """The environment of README's production deployment; a value None removes the variable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "DB_", "EMAIL_"))
        and key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "psm.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://psm.example.org",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
            "TRUSTED_PROXY_COUNT": "1",
            "DATABASE_URL": "postgres://psm@db.example.org:5432/psm",
            "EMAIL_HOST": "smtp.example.org",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_deploy(**overrides):
    return manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(**overrides))


# --- check --deploy --------------------------------------------------------------------------------


def test_check_deploy_passes_under_the_production_settings():
    result = check_deploy()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DEBUG": "1"}, "security.W018"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_COOKIES": "0"}, "security.W012"),
        ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"SECRET_KEY": "short"}, "security.W009"),
        ({"SECURE_PROXY_SSL_HEADER": None}, "psm.W001"),
        ({"TRUSTED_PROXY_COUNT": "0"}, "psm.W004"),
        ({"DATABASE_URL": None}, "psm.W002"),
        ({"EMAIL_HOST": None}, "psm.W003"),
    ],
)
def test_check_deploy_fails_on_each_missing_piece(overrides, expected):
    result = check_deploy(**overrides)

    assert result.returncode != 0
    assert expected in result.stderr


def test_the_server_refuses_to_start_without_a_secret_key():
    result = check_deploy(SECRET_KEY=None)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def resolved_settings(**overrides):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({name: getattr(s, name, None) for name in %r}, default=str))"
    )
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_AGE",
        "SESSION_ENGINE",
        "MIDDLEWARE",
        "DATABASES",
        "STORAGES",
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_TIME",
        "AXES_LOCKOUT_PARAMETERS",
        "EMAIL_BACKEND",
    ]
    env = production_env(**overrides)
    env["DJANGO_SETTINGS_MODULE"] = "psm.settings"
    result = subprocess.run(
        [sys.executable, "-c", code % names],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_resolve_to_a_hardened_portal():
    values = resolved_settings()

    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_AGE"] == 3600
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    assert "portal.middleware.LoginRequiredMiddleware" in values["MIDDLEWARE"]
    assert "csp.middleware.CSPMiddleware" in values["MIDDLEWARE"]
    assert values["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    database = values["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] == 1  # a sync worker, one thread
    assert values["AXES_FAILURE_LIMIT"] == 5
    assert values["AXES_COOLOFF_TIME"] == "0:15:00"
    assert values["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_the_environment_tunes_the_pool_and_the_idle_timeout():
    values = resolved_settings(
        GUNICORN_THREADS="8", SESSION_IDLE_TIMEOUT="900", LOGIN_LOCKOUT_MINUTES="30"
    )

    assert values["DATABASES"]["default"]["OPTIONS"]["pool"]["max_size"] == 8
    assert values["SESSION_COOKIE_AGE"] == 900
    assert values["AXES_COOLOFF_TIME"] == "0:30:00"

    without_pool = resolved_settings(DB_POOL_MAX_SIZE="0", DB_CONN_MAX_AGE="60")
    database = without_pool["DATABASES"]["default"]
    assert "pool" not in database.get("OPTIONS", {})
    assert database["CONN_MAX_AGE"] == 60


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the pool is PostgreSQL's (DATABASE_URL=postgres://)"
)
def test_the_pool_reuses_its_connections_against_postgresql():
    """Under production settings, two requests' worth of queries, the connection closed in
    between as at the end of a request, run on one server connection taken from the pool."""
    params = connection.settings_dict
    url = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    env = production_env(DATABASE_URL=f"{url}/{params['NAME']}")
    env["DJANGO_SETTINGS_MODULE"] = "psm.settings"
    code = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "pids = []\n"
        "for _ in range(3):\n"
        "    with connection.cursor() as cursor:\n"
        "        cursor.execute('SELECT pg_backend_pid()')\n"
        "        pids.append(cursor.fetchone()[0])\n"
        "    connection.close()\n"
        "print(connection.pool is not None, len(set(pids)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1"]


# --- Headers, HTTPS and the Content-Security-Policy -------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    response = client.get(reverse("login"))

    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_template_holds_an_inline_script_or_an_event_handler():
    """What the policy would block: written nowhere in our templates (the browser tests also
    fail on any violation reported while they walk the pages)."""
    import re

    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (inline_script, handler):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert offenders == []


@pytest.fixture
def https_settings(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    return settings


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_and_https_gets_hsts(client, https_settings):
    plain = client.get("/fr-ca/accounts/login/")
    through_the_proxy = client.get("/fr-ca/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/fr-ca/accounts/login/"
    assert through_the_proxy.status_code == 200
    assert through_the_proxy["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains")


@pytest.mark.django_db
def test_the_health_check_answers_over_plain_http(client, https_settings):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_the_health_check_says_when_the_database_is_unreachable(client):
    with mock.patch.object(
        connection, "cursor", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/healthz")

    assert response.status_code == 503


# --- Deny by default -------------------------------------------------------------------------------

PUBLIC = {
    "set_language",
    "health",
    "api-highlights",
    "api-highlights-detail",
    "highlights-programme",
    "highlights",
    "highlights-export",
    "portal-home",
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "invitation-accept",
    "admin:login",
}


def url_patterns(resolver=None, namespace=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            yield from url_patterns(
                pattern, f"{namespace}:{inner}" if namespace and inner else inner or namespace
            )
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield name, pattern


def test_only_the_listed_pages_are_public():
    public = {
        name
        for name, pattern in url_patterns()
        if not getattr(pattern.callback, "login_required", True)
    }

    assert public == PUBLIC


@pytest.mark.django_db
def test_every_other_page_sends_an_anonymous_visitor_to_sign_in(client):
    checked = 0
    for name, pattern in url_patterns():
        if not name or name in PUBLIC:
            continue
        try:
            url = reverse(name, kwargs=dict.fromkeys(pattern.pattern.converters, "1"))
        except NoReverseMatch:  # a regular expression's groups (a few of the admin's)
            continue
        response = client.get(url)
        sign_in = reverse("admin:login" if name.startswith("admin:") else "login")
        assert response.status_code == 302, (name, url, response.status_code)
        assert response.url.startswith(sign_in + "?next="), (name, response.url)
        checked += 1
    assert checked > 100  # the admin's pages and the portal's


# --- The session's idle timeout -----------------------------------------------------------------


def session_row(client):
    return Session.objects.get(session_key=client.session.session_key)


def test_a_request_pushes_the_expiry_back_at_most_once_a_minute(partner_client, world):
    dashboard = f"/fr-ca/partner/{world.alpha.code}/"
    partner_client.get(dashboard)  # remembers the partner in the session: written
    before = session_row(partner_client).expire_date
    partner_client.get(dashboard)
    assert session_row(partner_client).expire_date == before  # active a moment ago: no write

    session = partner_client.session
    session[LAST_ACTIVITY] = int(time.time()) - ACTIVITY_WRITE_SECONDS
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timezone.timedelta(seconds=120)
    )
    partner_client.get(dashboard)

    expiry = session_row(partner_client).expire_date
    assert expiry > timezone.now() + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_after_the_idle_timeout_the_next_page_asks_to_sign_in_again(partner_client, world):
    Session.objects.filter(session_key=partner_client.session.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )

    response = partner_client.get(f"/fr-ca/partner/{world.alpha.code}/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- Error pages -----------------------------------------------------------------------------------


def test_a_save_while_the_database_is_down_gets_a_503_in_the_persons_language(
    partner_client, world
):
    partner_client.raise_request_exception = False
    for language, text in (("fr-ca", "momentanément indisponible"), ("en", "temporarily")):
        with mock.patch(
            "portal.reporting.save_report", side_effect=OperationalError("server closed")
        ):
            response = save(
                partner_client, world, url=report_url(world, language=language), **complete(world)
            )

        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert text in response.content.decode()
        assert 'lang="%s"' % ("en" if language == "en" else "fr-CA") in response.content.decode()
    assert not Report.objects.filter(partner=world.alpha).exists()
    assert InvestmentLine.objects.count() == 0


def test_any_other_error_is_a_500_page_that_says_nothing_was_half_written(partner_client, world):
    partner_client.raise_request_exception = False
    with mock.patch("portal.reporting.save_report", side_effect=RuntimeError("bug")):
        response = save(partner_client, world, **complete(world))

    assert response.status_code == 500
    assert "Une erreur est survenue sur le serveur" in response.content.decode()
    assert "bug" not in response.content.decode() and "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_a_form_without_its_security_token_gets_a_page_in_french():
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("login"), {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert "Cette page a expiré" in response.content.decode()


@pytest.mark.parametrize("name", ["400.html", "403.html", "404.html", "500.html", "503.html"])
def test_error_pages_render_in_both_languages_without_a_request(name):
    for language in ("fr-ca", "en"):
        with translation.override(language):
            html = engines["django"].get_template(name).render({})
        assert "<h1" in html and "{%" not in html


class FailingSMTP(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the SMTP server is down")


def test_a_submission_stands_when_the_receipt_cannot_be_sent(
    partner_client, world, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.test_production.FailingSMTP"

    with django_capture_on_commit_callbacks(execute=True):
        response = save(partner_client, world, action="submit", **complete(world))

    assert response.status_code == 302
    assert Report.objects.get(partner=world.alpha).status == ReportStatus.SUBMITTED
    assert "SMTPServerDisconnected" in caplog.text


# --- A form posted after the session ended ------------------------------------------------------


def end_session(client):
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )


def post_after_the_session_ended(client, world):
    url = report_url(world)
    data = fill(world, form_data(client.get(url)), **complete(world))
    data["action"] = "save"
    end_session(client)
    return url, client.post(url, data)


def sign_in_again(client, next_url):
    """The sign-in page the expired post was sent to, filled in as a person does."""
    data = form_data(client.get(next_url), form_id="login-form")
    data.update({"username": "marie", "password": "pw-Alpha-2026"})
    return client.post(next_url, data)


def test_what_was_typed_when_the_session_ended_is_shown_again_after_signing_in(
    partner_client, world
):
    url, expired = post_after_the_session_ended(partner_client, world)
    assert expired.status_code == 302
    assert expired.url == f"{reverse('login')}?next={url}"
    assert not Report.objects.filter(partner=world.alpha).exists()  # nothing saved

    assert sign_in_again(partner_client, expired.url).url == url
    page = partner_client.get(url)

    html = page.content.decode()
    assert "Votre session avait expiré" in html
    assert 'value="12 345,67"' in html and 'value="Produit Alpha"' in html
    assert not Report.objects.filter(partner=world.alpha).exists()  # still not saved
    data = form_data(page)
    data["action"] = "save"
    assert partner_client.post(url, data).status_code == 302
    amounts = sorted(InvestmentLine.objects.values_list("amount", flat=True))
    assert [str(a) for a in amounts] == ["1000.50", "12345.67"]


def test_what_was_typed_is_shown_once(partner_client, world):
    url, expired = post_after_the_session_ended(partner_client, world)
    sign_in_again(partner_client, expired.url)
    partner_client.get(url)

    again = partner_client.get(url).content.decode()

    assert "Votre session avait expiré" not in again and "12 345,67" not in again


def test_a_report_saved_meanwhile_is_not_overwritten_by_what_was_kept(partner_client, world):
    url, expired = post_after_the_session_ended(partner_client, world)
    colleague = Client()
    colleague.force_login(world.colleague)
    save(colleague, world, own_amounts=[("materials", "other", "5")])
    sign_in_again(partner_client, expired.url)

    page = partner_client.get(url).content.decode()

    assert "Quelqu'un a enregistré ce rapport pendant que vous le modifiiez" in page
    assert "12 345,67" in page  # what they typed, as text, to copy
    assert [str(a) for a in InvestmentLine.objects.values_list("amount", flat=True)] == ["5.00"]


@pytest.mark.parametrize(
    "url",
    [
        "/fr-ca/highlights/PSM%00NUM/",
        "/fr-ca/highlights/PSM-NUM/2019%002020/",
        "/fr-ca/highlights/PSM-NUM/2019-2020/export.c%00sv",
        "/api/highlights/PSM-NUM/2019-2020%00.json",
        "/fr-ca/partner/ALPHA%00/",
    ],
)
def test_a_nul_character_in_an_address_is_a_404_not_a_server_error(partner_client, url):
    assert partner_client.get(url).status_code == 404


def test_passwords_are_stored_with_argon2id_and_older_ones_upgraded_at_sign_in(client, world):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    world.user.password = PBKDF2PasswordHasher().encode("pw-Alpha-2026", "sel-de-test-1234")
    world.user.save(update_fields=["password"])

    response = client.post(reverse("login"), {"username": "marie", "password": "pw-Alpha-2026"})

    assert response.status_code == 302
    world.user.refresh_from_db()
    assert world.user.password.startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")


def test_an_anonymous_post_keeps_nothing(client, world):
    before = Session.objects.count()

    response = client.post(report_url(world), {"inv-1-TOTAL_FORMS": "1", "x": "y" * 10_000})

    assert response.status_code == 302
    assert Session.objects.count() == before  # no session written for nobody's work


def test_what_one_person_typed_is_not_shown_to_the_next_one_on_that_browser(partner_client, world):
    url, expired = post_after_the_session_ended(partner_client, world)
    data = form_data(partner_client.get(expired.url), form_id="login-form")
    data.update({"username": "jean", "password": "pw-Jean-2026"})
    partner_client.post(expired.url, data)  # Jean, Marie's colleague, signs in there

    page = partner_client.get(url).content.decode()

    assert "Votre session avait expiré" not in page and "12 345,67" not in page
    assert EXPIRED_POST not in partner_client.session


def test_a_post_too_big_to_keep_is_not_kept(partner_client, world):
    url = report_url(world)
    end_session(partner_client)

    partner_client.post(url, {"action": "save", "note": "x" * (MAX_KEPT_BYTES + 1)})

    assert EXPIRED_POST not in partner_client.session
