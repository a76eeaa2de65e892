"""The admin site: staff only, and never a partner's user, whatever flags their account has."""

from django.contrib import admin


class PortalAdminSite(admin.AdminSite):
    # The admin's own templates: the portal's registration/ templates share their names.
    password_change_template = "admin/password_change_form.html"
    password_change_done_template = "admin/password_change_done.html"

    def has_permission(self, request):
        # A partner's own staff could otherwise review their organisation's reports.
        return super().has_permission(request) and not request.user.partners.exists()
