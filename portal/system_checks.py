"""Deployment checks of our own, beside Django's (`manage.py check --deploy`): the mistakes that
would put the portal online half-working rather than refuse to start."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def production_settings(app_configs, **kwargs):
    problems = []
    if settings.SECURE_SSL_REDIRECT and not getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        problems.append(
            Warning(
                "SECURE_SSL_REDIRECT is on but SECURE_PROXY_SSL_HEADER is not set: behind a "
                "reverse proxy that ends TLS, every request would be redirected to itself (and "
                "no HSTS header sent).",
                hint="Set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (the proxy must "
                "set that header), or SECURE_SSL_REDIRECT=0 when the proxy redirects to HTTPS.",
                id="psm.W001",
            )
        )
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and settings.TRUSTED_PROXY_COUNT < 1:
        problems.append(
            Warning(
                "SECURE_PROXY_SSL_HEADER says a reverse proxy is in front, but "
                "TRUSTED_PROXY_COUNT is 0: every person would have the proxy's address, and five "
                "failed sign-ins by anyone would lock a username out for everyone.",
                hint="Set TRUSTED_PROXY_COUNT to the number of proxies that append to "
                "X-Forwarded-For (1 for one nginx).",
                id="psm.W004",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(
            Warning(
                "The database is not PostgreSQL: SQLite is for development (one writer at a "
                "time, one host).",
                hint="Set DATABASE_URL=postgres://...",
                id="psm.W002",
            )
        )
    if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "locmem.EmailBackend")):
        problems.append(
            Warning(
                "E-mails are not sent: invitations, password resets, receipts and reminders "
                "would never reach anyone.",
                hint="Set EMAIL_HOST (and EMAIL_HOST_USER, EMAIL_HOST_PASSWORD).",
                id="psm.W003",
            )
        )
    return problems
