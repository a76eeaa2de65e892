"""Settings of the PSM portal: one module, every value read from the environment.

Unset, everything falls back to a development setup (SQLite in the project folder, DEBUG on), so a
newcomer can just check out the code and run it. See README.md, "Configuration".
"""

import os
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.getenv(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def env_list(name, default=""):
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.getenv(name)
    return int(value) if value else default


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: never used once DEBUG is off.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# HTTPS. In production the portal sits behind a reverse proxy that ends TLS: it must say so in a
# header (SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https), which Django trusts only when set,
# and TRUSTED_PROXY_COUNT says how many proxies append to X-Forwarded-For (the client's address,
# for the sign-in lockout), read only from a peer within TRUSTED_PROXIES (portal/security.py).
# Unset, both mean "no proxy": the header and X-Forwarded-For are ignored.
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER is a header and its value, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
TRUSTED_PROXIES = env_list(
    "TRUSTED_PROXIES", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = env_bool(
    "SECURE_COOKIES", not DEBUG
)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# The directive only; listing a domain in browsers' preload lists is a separate, manual request.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)

# Sessions live in the database (shared by every host of the portal; Django's default engine),
# and end after SESSION_IDLE_TIMEOUT seconds without a request (portal.middleware).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT", 3600)

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # django.contrib.admin with the portal's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "import_export",
    "simple_history",
    "axes",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.SessionIdleTimeoutMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Deny by default: every view needs a signed-in person unless marked @login_not_required.
    "portal.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy: scripts and style sheets from the portal only (no inline script, no
# eval, nothing from another site). Style *attributes* are allowed: a few templates of the admin
# and its add-ons set one, and an attribute can neither run code nor load anything (img-src and
# font-src stay 'self').
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "psm.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.partners",
            ],
        },
    },
]

WSGI_APPLICATION = "psm.wsgi.application"

# SQLite in the project folder unless DATABASE_URL says otherwise (postgres://... in production).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
# PostgreSQL connection pool (psycopg_pool), one per server process; on by default in production.
# With CONN_HEALTH_CHECKS (above) Django has the pool check each connection as it is taken, so that
# a restarted database costs no request an error once it is back.
# A sync worker uses one connection at a time: as many as its threads.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0 if DEBUG else env_int("GUNICORN_THREADS", 1))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env_int("DB_POOL_MIN_SIZE", 1), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_int("DB_POOL_TIMEOUT", 10),  # seconds a request waits for a connection
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The first hasher stores new passwords (portal/hashers.py); the others still check older ones.
PASSWORD_HASHERS = [
    "portal.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: it refuses a locked-out sign-in before the password is read.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in lockout (django-axes): LOGIN_FAILURE_LIMIT failed sign-ins with one username from one
# address lock that pair out for LOGIN_LOCKOUT_MINUTES. The pair, not the username alone, so that
# nobody can lock a colleague out from elsewhere, and not the address alone, so that a whole
# organisation behind one address is not locked out by one person. Staff unlock in the admin
# (« Tentatives d'accès »); choosing a new password by e-mail unlocks too.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip"
AXES_USERNAME_CALLABLE = "portal.security.lockout_username"
AXES_LOCKOUT_CALLABLE = "portal.views.accounts.locked_out"
AXES_VERBOSE = False

# Accounts: partner users sign in on the portal's own pages; staff go on to the admin.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal-home"
LOGOUT_REDIRECT_URL = "login"
# Password-reset links expire after this many seconds (Django's default is 3 days).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
# An invitation's link (to set a first password) expires after this many days.
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7)

LANGUAGE_CODE = "fr-ca"
LANGUAGES = [("fr-ca", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Montreal"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: printed on the console unless an SMTP host is configured.
EMAIL_HOST = os.getenv("EMAIL_HOST", "")
EMAIL_BACKEND = os.getenv(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds: a stalled SMTP server never holds a request
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "PSM <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who receives the server's error reports (« Name <address> », comma-separated).
ADMINS = [parseaddr(address) for address in env_list("ADMINS")]

# django-import-export: only staff with the model's permissions import or export in the admin.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# Upload caps for bulk files (bytes and data rows), shared by the command and the admin.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 50 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 200_000)
# No page takes a file but the admin's imports (portal.uploads, IMPORT_MAX_FILE_BYTES): a file
# posted anywhere else is dropped unread, never stored.
FILE_UPLOAD_HANDLERS = [
    "portal.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Django's 1 000 fields would refuse a report with a few hundred lines in the admin's inlines.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Drill-down XLSX exports are built whole: above this many rows, CSV (streamed) is required.
DRILLDOWN_XLSX_MAX_ROWS = env_int("DRILLDOWN_XLSX_MAX_ROWS", 100_000)

# Backups (manage.py backup / restore, make backup / restore).
BACKUP_DIR = Path(os.getenv("BACKUP_DIR", BASE_DIR / "backups"))

# Data-quality checks (portal/checks.py): a partner's investment or jobs changing by more than this
# share from last year, and an investment line above this amount, are flagged for review.
CHECK_CHANGE_SHARE = os.getenv("CHECK_CHANGE_SHARE", "0.5")
CHECK_AMOUNT_THRESHOLD = os.getenv("CHECK_AMOUNT_THRESHOLD", "5000000")

# Reminders (manage.py send_reminders): days before each partner's deadline, and days after it.
REMINDER_DAYS_BEFORE = [int(d) for d in env_list("REMINDER_DAYS_BEFORE", "30,7,1")]
REMINDER_DAYS_OVERDUE = [int(d) for d in env_list("REMINDER_DAYS_OVERDUE", "1,7,14,30")]
# The portal's public address, for links in e-mails (e.g. https://psm.example.org).
PORTAL_URL = os.getenv("PORTAL_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
    # WeasyPrint warns about every screen-only CSS rule of the one-pager it ignores in a PDF.
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}},
}
