from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with the portal's site (portal/sites.py)."""

    default = False
    default_site = "portal.sites.PortalAdminSite"


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = _("Portail PSM")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from portal import middleware, system_checks  # noqa: F401 (registers the checks)

        user_logged_in.connect(middleware.note_sign_in, dispatch_uid="portal.note_sign_in")
