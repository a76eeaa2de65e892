"""The staff's registry in the Django admin, with import and export through the contract's resources.

Report statuses are read-only here: they change through portal.workflow (review actions come with
the staff review issue). Imports in the admin are all or nothing, like `import_data`.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from portal import resources
from portal.imports import ImportFileError, dataset_from_bytes
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
    ReportStatus,
    Sector,
)


class ContractFileMixin:
    """Read an uploaded file exactly as `import_data` reads it: same caps, same messages."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        return dataset_from_bytes(in_stream, name=f"upload.{self.get_extension()}")


class ContractCSV(ContractFileMixin, CSV):
    pass


class ContractXLSX(ContractFileMixin, XLSX):
    pass


class ContractAdmin(ImportExportModelAdmin):
    """Import/export through the contract's resources; a file with one bad row imports nothing."""

    show_full_result_count = False
    import_formats = [ContractCSV, ContractXLSX]
    export_formats = [CSV, XLSX]

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return kwargs


class HistoryContractAdmin(ContractAdmin, SimpleHistoryAdmin):
    pass


class ParentAwareInlineFormSet(BaseInlineFormSet):
    """Rows know their parent before it is saved, so model.clean() checks cross-row rules on an
    add page too; a row whose deletion would strand reported lines cannot be deleted."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        setattr(form.instance, self.fk.name, self.instance)
        return form

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            problem = getattr(form.instance, "deletion_problem", lambda: None)()
            if form.instance.pk and problem:
                raise ValidationError(problem)


class Inline(admin.TabularInline):
    formset = ParentAwareInlineFormSet
    extra = 0


class PeriodInline(Inline):
    model = Period
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


class ExtensionInline(Inline):
    model = Extension
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


class ParticipationInline(Inline):
    model = Participation
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

    def has_delete_permission(self, request, obj=None):
        # Lines reported by the partner on the project depend on its participation.
        if obj is not None and obj.deletion_problem():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, so each deletion is checked
        return actions


class LineInline(Inline):
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

    def has_delete_permission(self, request, obj=None):
        # Submitted, returned and approved reports are part of the record: only drafts go.
        if obj is not None and obj.status != ReportStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

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
