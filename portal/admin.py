"""The staff's registry in the Django admin, with import and export through the contract's resources.

Report statuses are read-only here: they change through portal.workflow (review actions come with
the staff review issue). Imports in the admin are all or nothing, like `import_data`
(portal/admin_imports.py).
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import (
    PermissionDenied,
    ValidationError,
)
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from portal import accounts, checks, publication, resources, review, workflow
from portal.admin_imports import ContractAdmin
from portal.highlights import compute
from portal.models import (
    CheckAcknowledgement,
    Extension,
    InvestmentLine,
    JobLine,
    Participation,
    Partner,
    Period,
    ProductLine,
    Programme,
    Project,
    Publication,
    Reminder,
    Report,
    ReportStatus,
    Sector,
)
from portal.notifications import notify_extension


class PeriodFilter(admin.RelatedFieldListFilter):
    """Periods with their programme in one query (a period's name includes its programme)."""

    def field_choices(self, field, request, model_admin):
        return [(p.pk, str(p)) for p in Period.objects.select_related("programme")]


class HistoryAdmin(SimpleHistoryAdmin):
    """History to read, never to revert: a revert would change a report's status or an approved
    report's lines outside the workflow, with only the permission to view."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class HistoryContractAdmin(ContractAdmin, HistoryAdmin):
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
    list_display = (
        "__str__",
        "programme",
        "label",
        "start",
        "end",
        "deadline",
        "state",
        "review_links",
    )
    list_filter = ("programme", "state")
    list_select_related = ("programme",)
    search_fields = ("label", "programme__code")
    inlines = [ExtensionInline]

    @admin.display(description=_("Suivi"))
    def review_links(self, period):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:portal_period_checks", args=[period.pk]),
            _("vérifications"),
            reverse("admin:portal_report_cycle", args=[period.pk]),
            _("où en est chaque partenaire"),
            reverse("admin:portal_period_publish", args=[period.pk]),
            _("publication"),
        )

    def publish_view(self, request, period_id):
        """Preview, publish or republish the period's highlights; what changed since publication."""
        if not request.user.has_perm("portal.view_publication"):
            raise PermissionDenied
        period = get_object_or_404(Period.objects.select_related("programme"), pk=period_id)
        if request.method == "POST":
            try:
                publication.publish(
                    period=period, user=request.user, note=request.POST.get("note", "")
                )
            except PermissionDenied:
                raise
            self.message_user(
                request,
                _("Faits saillants de %(period)s publiés.") % {"period": period},
                messages.SUCCESS,
            )
            return redirect("admin:portal_period_publish", period.pk)
        current = publication.latest(period)
        live = compute(period)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publication des faits saillants — %(period)s") % {"period": period},
            "opts": self.opts,
            "period": period,
            "current": current,
            "history": period.publications.select_related("published_by").order_by("-published_at"),
            "preview": publication.preview(period),
            "changes": publication.changes_since(current, live=live) if current else [],
            "responsible": publication.reports_changed_since(current) if current else [],
            "can_publish": request.user.has_perm("portal.publish_highlights"),
        }
        return TemplateResponse(request, "admin/portal/period/publish.html", context)

    def get_urls(self):
        return [
            path(
                "<int:period_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="portal_period_publish",
            ),
            path(
                "<int:period_id>/checks/",
                self.admin_site.admin_view(self.checks_view),
                name="portal_period_checks",
            ),
        ] + super().get_urls()

    def checks_view(self, request, period_id):
        """The period's data-quality warnings, with links; staff acknowledge one with a comment."""
        if not request.user.has_perm("portal.view_report"):
            raise PermissionDenied
        period = get_object_or_404(Period.objects.select_related("programme"), pk=period_id)
        if request.method == "POST":
            if not request.user.has_perm("portal.add_checkacknowledgement"):
                raise PermissionDenied
            try:
                checks.acknowledge(
                    period=period,
                    code=request.POST.get("code", ""),
                    subject=request.POST.get("subject", ""),
                    user=request.user,
                    comment=request.POST.get("comment", ""),
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, _("Avertissement pris en compte."), messages.SUCCESS)
            return redirect("admin:portal_period_checks", period.pk)
        findings = checks.findings_for_period(period)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Vérifications — %(period)s") % {"period": period},
            "opts": self.opts,
            "period": period,
            "findings": findings,
            "labels": {code: label for code, (label, _check) in checks.CHECKS.items()},
            "can_acknowledge": request.user.has_perm("portal.add_checkacknowledgement"),
        }
        return TemplateResponse(request, "admin/portal/period/checks.html", context)

    def save_formset(self, request, form, formset, change):
        # Who granted an extension is the staff member who saved it.
        for extension in formset.save(commit=False):
            if isinstance(extension, Extension) and extension.granted_by_id is None:
                extension.granted_by = request.user
            extension.save()
            if isinstance(extension, Extension):
                notify_extension(extension)
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(Extension)
class ExtensionAdmin(HistoryAdmin):
    list_display = ("period", "partner", "new_deadline", "reason", "granted_by", "granted_at")
    list_filter = ("period__programme", ("period", PeriodFilter))
    list_select_related = ("period__programme", "partner", "granted_by")
    search_fields = ("reason", "partner__code", "partner__name")
    autocomplete_fields = ("period", "partner")
    readonly_fields = ("granted_by", "granted_at")
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        if obj.granted_by_id is None:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)
        if not change or {"new_deadline", "reason", "partner"} & set(form.changed_data):
            notify_extension(obj)


@admin.register(Sector)
class SectorAdmin(ContractAdmin):
    resource_classes = [resources.SectorResource]
    list_display = ("code", "name_fr", "name_en")
    search_fields = ("code", "name_fr", "name_en")


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Courriel"))
    first_name = forms.CharField(label=_("Prénom"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=150, required=False)


@admin.register(Partner)
class PartnerAdmin(HistoryContractAdmin):
    resource_classes = [resources.PartnerResource]
    list_display = ("code", "name", "kind", "quebec")
    list_filter = ("kind", "quebec")
    search_fields = ("code", "name")
    filter_horizontal = ("users",)

    def get_urls(self):
        return [
            path(
                "<int:partner_id>/invite/",
                self.admin_site.admin_view(self.invite_view),
                name="portal_partner_invite",
            ),
        ] + super().get_urls()

    def invite_view(self, request, partner_id):
        """Invite a person to the partner: their account is created if needed, and they receive
        a link to choose their password (or word of their new access)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        partner = get_object_or_404(Partner, pk=partner_id)
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                user = accounts.invite(
                    partner=partner,
                    **form.cleaned_data,
                    invited_by=request.user,
                    base_url=request.build_absolute_uri("/"),
                )
            except ValidationError as error:
                form.add_error("email", error.messages)
            else:
                if user.has_usable_password():
                    message = _(
                        "%(email)s a maintenant accès à %(partner)s ; un courriel l'en avise."
                    )
                else:
                    message = ngettext(
                        "Invitation envoyée à %(email)s : le lien pour choisir un mot de passe "
                        "expire dans %(days)s jour.",
                        "Invitation envoyée à %(email)s : le lien pour choisir un mot de passe "
                        "expire dans %(days)s jours.",
                        settings.INVITATION_MAX_AGE_DAYS,
                    )
                self.message_user(
                    request,
                    message
                    % {
                        "email": user.email,
                        "partner": partner,
                        "days": settings.INVITATION_MAX_AGE_DAYS,
                    },
                    messages.SUCCESS,
                )
                return redirect("admin:portal_partner_change", partner.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Inviter une personne — %(partner)s") % {"partner": partner},
            "opts": self.opts,
            "partner": partner,
            "form": form,
            "users": partner.users.order_by("last_name", "first_name", "email"),
            "invitation_days": settings.INVITATION_MAX_AGE_DAYS,
        }
        return TemplateResponse(request, "admin/portal/partner/invite.html", context)


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
    """A report's lines, editable only while the partner holds the report."""

    def has_add_permission(self, request, obj=None):
        return (obj is None or obj.lines_editable) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.lines_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.lines_editable) and super().has_delete_permission(request, obj)

    autocomplete_fields = ("project",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "report")


class InvestmentInline(LineInline):
    model = InvestmentLine


class JobInline(LineInline):
    model = JobLine


class ProductInline(LineInline):
    model = ProductLine
    autocomplete_fields = ("project", "sector")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sector")


class SectorFilter(admin.SimpleListFilter):
    """Reports of partners taking part in a project of the sector."""

    title = _("secteur")
    parameter_name = "sector"

    def lookups(self, request, model_admin):
        return [(s.code, s.name) for s in Sector.objects.all()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        projects = Project.objects.filter(sector__code=self.value())
        return queryset.filter(partner__in=Partner.objects.participating_in(projects))


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire pour le partenaire"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=_("Ce qu'il faut corriger. Le partenaire le reçoit par courriel."),
    )


@admin.register(Report)
class ReportAdmin(HistoryContractAdmin):
    """The review queue (counts, filters, bulk approve and return) and the review page."""

    resource_classes = [resources.ReportResource]
    list_display = (
        "partner",
        "period",
        "status",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
        "version",
    )
    list_filter = (
        "status",
        "period__programme",
        ("period", PeriodFilter),
        "partner__kind",
        SectorFilter,
    )
    list_select_related = ("partner", "period__programme", "reviewed_by")
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
    actions = ["approve_selected", "return_selected"]
    change_list_template = "admin/portal/report/change_list.html"
    change_form_template = "admin/portal/report/change_form.html"

    def has_review_permission(self, request):
        return request.user.has_perm("portal.review_report")

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
        # A report's partner and period are its identity: set once, at creation. The comment is
        # the reviewer's, written by the return and reopen actions.
        if obj is not None:
            return self.readonly_fields + ("partner", "period", "comment")
        return self.readonly_fields + ("comment",)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="portal_report_review",
            ),
            path(
                "cycle/<int:period_id>/",
                self.admin_site.admin_view(self.cycle_view),
                name="portal_report_cycle",
            ),
        ] + super().get_urls()

    # The queue ---------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is None or "cl" not in context:
            return response
        # Counts per status for the chosen programme or period, whatever the status filter.
        reports = Report.objects.all()
        period = None
        if request.GET.get("period__id__exact", "").isdigit():
            period = Period.objects.filter(pk=request.GET["period__id__exact"]).first()
            reports = reports.filter(period=period)
        elif request.GET.get("period__programme__id__exact", "").isdigit():
            reports = reports.filter(
                period__programme_id=request.GET["period__programme__id__exact"]
            )
        counts = review.status_counts(reports.values_list("status", flat=True))
        if period is not None:
            counts[review.MISSING] = sum(1 for row in review.cycle(period) if row.report is None)
        else:
            counts.pop(review.MISSING)
        labels = {**dict(ReportStatus.choices), review.MISSING: _("manquant")}
        context["status_counts"] = [(labels[s], s, n) for s, n in counts.items()]
        context["count_period"] = period
        context["cycle_periods"] = Period.objects.select_related("programme").order_by(
            "-end", "programme__code"
        )[:12]
        return response

    @admin.action(
        description=_("Approuver les rapports soumis sélectionnés"), permissions=["review"]
    )
    def approve_selected(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda report: workflow.report_approve(report=report, reviewer=request.user),
        )

    @admin.action(
        description=_("Retourner les rapports soumis sélectionnés (avec un commentaire)"),
        permissions=["review"],
    )
    def return_selected(self, request, queryset):
        form = ReturnForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            comment = form.cleaned_data["comment"]
            self._apply(
                request,
                queryset,
                lambda report: workflow.report_return(
                    report=report, reviewer=request.user, comment=comment
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Retourner des rapports"),
            "opts": self.opts,
            "form": form,
            "reports": queryset.select_related("partner", "period__programme"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/portal/report/return_selected.html", context)

    def _apply(self, request, queryset, transition):
        done, refused = 0, []
        for report in queryset.select_related("partner", "period__programme"):
            try:
                transition(report)
                done += 1
            except (ValidationError, PermissionDenied) as error:
                refused.append(f"{report}: {' '.join(getattr(error, 'messages', [str(error)]))}")
        if done:
            self.message_user(
                request,
                ngettext("%(count)s rapport traité.", "%(count)s rapports traités.", done)
                % {"count": done},
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    # The review page ----------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        if report is not None:
            rows, total, last_total, last_report = review.figures_beside_last_year(report)
            since, changes = review.changes_since_return(report)
            extra_context = {
                **(extra_context or {}),
                "review_rows": rows,
                "review_total": total,
                "review_last_total": last_total,
                "review_last_report": last_report,
                "review_since": since,
                "review_changes": changes,
                "review_findings": checks.findings_for_report(report),
                "review_can": {
                    name: report.status in workflow.TRANSITIONS[name][0]
                    and workflow.can(request.user, name)
                    for name in (workflow.APPROVE, workflow.RETURN, workflow.REOPEN)
                },
                "return_form": ReturnForm(),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def review_view(self, request, object_id):
        """POST approve / return / reopen for one report, through the workflow."""
        report = self.get_object(request, object_id)
        if report is None:
            raise Http404
        if request.method != "POST":
            return redirect("admin:portal_report_change", report.pk)
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "")
        transitions = {
            workflow.APPROVE: lambda: workflow.report_approve(report=report, reviewer=request.user),
            workflow.RETURN: lambda: workflow.report_return(
                report=report, reviewer=request.user, comment=comment
            ),
            workflow.REOPEN: lambda: workflow.report_reopen(
                report=report, manager=request.user, reason=comment
            ),
        }
        if decision not in transitions:
            return HttpResponseBadRequest(_("Décision inconnue."))
        try:
            transitions[decision]()
        except PermissionDenied:
            raise
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                _("Rapport %(report)s : %(status)s.")
                % {"report": report, "status": report.get_status_display()},
                messages.SUCCESS,
            )
        return redirect("admin:portal_report_change", report.pk)

    # Who is where -------------------------------------------------------------------------------

    def cycle_view(self, request, period_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        period = get_object_or_404(Period.objects.select_related("programme"), pk=period_id)
        rows = review.cycle(period)
        counts = review.status_counts(row.status for row in rows)
        labels = {**dict(ReportStatus.choices), review.MISSING: _("manquant")}
        context = {
            **self.admin_site.each_context(request),
            "title": _("Où en est chaque partenaire — %(period)s") % {"period": period},
            "opts": self.opts,
            "period": period,
            "rows": rows,
            "counts": [(labels[status], status, count) for status, count in counts.items()],
            "labels": labels,
        }
        return TemplateResponse(request, "admin/portal/report/cycle.html", context)


class LineForm(forms.ModelForm):
    def clean_report(self):
        report = self.cleaned_data["report"]
        if report is not None and not report.lines_editable:
            raise ValidationError(
                _("Ce rapport est %(status)s : ses lignes ne changent plus.")
                % {"status": report.get_status_display()}
            )
        return report


class LineAdmin(HistoryContractAdmin):
    """Lines change only while their report is with the partner (see Report.lines_editable)."""

    form = LineForm

    list_select_related = ("report__partner", "report__period__programme", "project")
    list_filter = ("report__period__programme", ("report__period", PeriodFilter), "report__status")
    search_fields = ("project__code", "report__partner__code", "report__partner__name")
    autocomplete_fields = ("report", "project")

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.report.lines_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.report.lines_editable:
            return False
        return super().has_delete_permission(request, obj)


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


@admin.register(CheckAcknowledgement)
class CheckAcknowledgementAdmin(admin.ModelAdmin):
    """Acknowledged warnings; they are given on a period's « Vérifications » page."""

    list_display = ("period", "code", "subject", "comment", "acknowledged_by", "acknowledged_at")
    list_filter = ("period__programme", ("period", PeriodFilter), "code")
    list_select_related = ("period__programme", "acknowledged_by")
    search_fields = ("subject", "comment")
    readonly_fields = ("acknowledged_by", "acknowledged_at")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Acknowledged on the period's « Vérifications » page, which records who and when.
        return False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """What `send_reminders` sent: read only."""

    list_display = ("sent_at", "partner", "period", "kind", "days", "recipients")
    list_filter = ("kind", "period__programme", ("period", PeriodFilter))
    list_select_related = ("partner", "period__programme")
    search_fields = ("partner__code", "partner__name", "recipients")
    date_hierarchy = "sent_on"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    """Every publication of every period: the restatement history. Published from a period's
    « publication » page, never edited."""

    list_display = ("period", "published_at", "published_by", "approved_reports", "note")
    list_filter = ("period__programme", ("period", PeriodFilter))
    list_select_related = ("period__programme", "published_by")
    readonly_fields = (
        "period",
        "figures",
        "approved_reports",
        "note",
        "published_by",
        "published_at",
    )
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
