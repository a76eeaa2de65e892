"""The staff's registry in the Django admin, with import and export through the contract's resources.

Report statuses are read-only here: they change through portal.workflow (review actions come with
the staff review issue). Imports in the admin are all or nothing, like `import_data`.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from portal import resources
from portal.models import (
    Extension,
    InvestmentLine,
    JobLine,
    Participation,
    Partner,
    Period,
    ProductLine,
    Programme,
    Project,
    Report,
    Sector,
)


class ContractAdmin(ImportExportModelAdmin):
    """Import/export through the contract's resources; a file with one bad row imports nothing."""

    show_full_result_count = False
    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return kwargs


class HistoryContractAdmin(ContractAdmin, SimpleHistoryAdmin):
    pass


class PeriodInline(admin.TabularInline):
    model = Period
    extra = 0
    fields = ("label", "start", "end", "deadline", "state")
    show_change_link = True


@admin.register(Programme)
class ProgrammeAdmin(ContractAdmin):
    resource_classes = [resources.ProgrammeResource]
    list_display = (
        "code",
        "name",
        "funder",
        "government_aid",
        "investment_target",
        "jobs_target",
        "start",
        "end",
    )
    search_fields = ("code", "name", "name_en", "funder")
    inlines = [PeriodInline]


class ExtensionInline(admin.TabularInline):
    model = Extension
    extra = 0
    fields = ("partner", "new_deadline", "reason", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")
    autocomplete_fields = ("partner",)


@admin.register(Period)
class PeriodAdmin(ContractAdmin):
    resource_classes = [resources.PeriodResource]
    list_display = ("__str__", "programme", "label", "start", "end", "deadline", "state")
    list_filter = ("programme", "state")
    list_select_related = ("programme",)
    search_fields = ("label", "programme__code")
    inlines = [ExtensionInline]

    def save_formset(self, request, form, formset, change):
        # Who granted an extension is the staff member who saved it.
        for extension in formset.save(commit=False):
            if isinstance(extension, Extension) and extension.granted_by_id is None:
                extension.granted_by = request.user
            extension.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(Extension)
class ExtensionAdmin(SimpleHistoryAdmin):
    list_display = ("period", "partner", "new_deadline", "reason", "granted_by", "granted_at")
    list_filter = ("period__programme", "period")
    list_select_related = ("period__programme", "partner", "granted_by")
    search_fields = ("reason", "partner__code", "partner__name")
    autocomplete_fields = ("period", "partner")
    readonly_fields = ("granted_by", "granted_at")
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        if obj.granted_by_id is None:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Sector)
class SectorAdmin(ContractAdmin):
    resource_classes = [resources.SectorResource]
    list_display = ("code", "name_fr", "name_en")
    search_fields = ("code", "name_fr", "name_en")


@admin.register(Partner)
class PartnerAdmin(HistoryContractAdmin):
    resource_classes = [resources.PartnerResource]
    list_display = ("code", "name", "kind", "quebec")
    list_filter = ("kind", "quebec")
    search_fields = ("code", "name")
    filter_horizontal = ("users",)


class ParticipationInline(admin.TabularInline):
    model = Participation
    extra = 0
    autocomplete_fields = ("partner",)


@admin.register(Project)
class ProjectAdmin(HistoryContractAdmin):
    resource_classes = [resources.ProjectResource]
    list_display = (
        "code",
        "title",
        "programme",
        "type",
        "sector",
        "lead_partner",
        "start",
        "end",
        "status",
    )
    list_filter = ("programme", "status", "type", "sector")
    list_select_related = ("programme", "sector", "lead_partner")
    search_fields = ("code", "title", "lead_partner__code", "lead_partner__name")
    autocomplete_fields = ("programme", "sector", "lead_partner")
    date_hierarchy = "start"
    inlines = [ParticipationInline]


@admin.register(Participation)
class ParticipationAdmin(ContractAdmin):
    resource_classes = [resources.ParticipationResource]
    list_display = ("project", "partner", "role")
    list_filter = ("role", "project__programme")
    list_select_related = ("project", "partner")
    search_fields = ("project__code", "partner__code", "partner__name")
    autocomplete_fields = ("project", "partner")


class LineInline(admin.TabularInline):
    extra = 0
    autocomplete_fields = ("project",)


class InvestmentInline(LineInline):
    model = InvestmentLine


class JobInline(LineInline):
    model = JobLine


class ProductInline(LineInline):
    model = ProductLine
    autocomplete_fields = ("project", "sector")


@admin.register(Report)
class ReportAdmin(HistoryContractAdmin):
    resource_classes = [resources.ReportResource]
    list_display = ("partner", "period", "status", "submitted_at", "reviewed_at", "version")
    list_filter = ("status", "period__programme", "period", "partner__kind")
    list_select_related = ("partner", "period__programme")
    search_fields = ("partner__code", "partner__name", "period__label")
    autocomplete_fields = ("partner", "period")
    readonly_fields = (
        "status",
        "version",
        "submitted_at",
        "submitted_by",
        "reviewed_at",
        "reviewed_by",
    )
    inlines = [InvestmentInline, JobInline, ProductInline]

    def get_readonly_fields(self, request, obj=None):
        # A report's partner and period are its identity: set once, at creation.
        if obj is not None:
            return self.readonly_fields + ("partner", "period", "comment")
        return self.readonly_fields + ("comment",)


class LineAdmin(HistoryContractAdmin):
    list_select_related = ("report__partner", "report__period__programme", "project")
    list_filter = ("report__period__programme", "report__period", "report__status")
    search_fields = ("project__code", "report__partner__code", "report__partner__name")
    autocomplete_fields = ("report", "project")


@admin.register(InvestmentLine)
class InvestmentLineAdmin(LineAdmin):
    resource_classes = [resources.InvestmentResource]
    list_display = ("report", "project", "amount", "category", "performer")
    list_filter = LineAdmin.list_filter + ("category", "performer")


@admin.register(JobLine)
class JobLineAdmin(LineAdmin):
    resource_classes = [resources.JobResource]
    list_display = ("report", "project", "direct", "indirect")


@admin.register(ProductLine)
class ProductLineAdmin(LineAdmin):
    resource_classes = [resources.ProductResource]
    list_display = (
        "report",
        "project",
        "name",
        "sector",
        "launch_date",
        "uses_programme_technology",
    )
    list_filter = LineAdmin.list_filter + ("sector", "uses_programme_technology")
    list_select_related = LineAdmin.list_select_related + ("sector",)
    autocomplete_fields = ("report", "project", "sector")


admin.site.site_header = _("Portail PSM — administration")
admin.site.site_title = _("Portail PSM")
admin.site.index_title = _("Registre et rapports")
