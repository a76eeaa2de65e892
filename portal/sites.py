"""The admin site: staff only, and never a partner's user, whatever flags their account has."""

from django.contrib import admin


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request):
        # A partner's own staff could otherwise review their organisation's reports.
        return super().has_permission(request) and not request.user.partners.exists()
