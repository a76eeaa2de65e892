"""The drill-down filters: one FilterSet per table of portal.tables.

Every choice of a related object (partner, project, sector, period) is limited to the values that
occur in the rows being filtered, so the lists stay short and a posted id of anything else is a
validation error. The choices are subqueries of the rows: no query until the form is shown.
"""

import django_filters as filters
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from portal.models import (
    InvestmentLine,
    JobLine,
    Participation,
    Partner,
    Period,
    ProductLine,
    Project,
    ReportStatus,
    Sector,
)


class RowsFilterSet(filters.FilterSet):
    """Narrows each related choice to the rows' own values: `choices_from` maps a filter's name
    to (model, the rows' field holding its id)."""

    choices_from = {}

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        for name, (model, field) in self.choices_from.items():
            self.filters[name].queryset = model.objects.filter(pk__in=self.queryset.values(field))


class ProjectFilter(RowsFilterSet):
    partner = filters.ModelChoiceFilter(
        label=capfirst(_("partenaire")), queryset=Partner.objects.none(), method="filter_partner"
    )
    sector = filters.ModelChoiceFilter(label=capfirst(_("secteur")), queryset=Sector.objects.none())

    choices_from = {"sector": (Sector, "sector_id")}

    class Meta:
        model = Project
        fields = ("type", "status", "sector", "partner")

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["partner"].queryset = Partner.objects.participating_in(self.queryset)

    def filter_partner(self, queryset, name, value):
        """Projects the partner leads or participates in (any role)."""
        return queryset.filter(
            Q(lead_partner=value)
            | Q(pk__in=Participation.objects.filter(partner=value).values("project_id"))
        )


class PartnerFilter(RowsFilterSet):
    search = filters.CharFilter(label=capfirst(_("code ou nom")), method="filter_search")

    class Meta:
        model = Partner
        fields = ("kind", "quebec", "search")

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class LineFilter(RowsFilterSet):
    partner = filters.ModelChoiceFilter(
        field_name="report__partner",
        label=capfirst(_("partenaire")),
        queryset=Partner.objects.none(),
    )
    # A search, not a list: a programme may have tens of thousands of projects.
    project = filters.CharFilter(
        label=capfirst(_("projet (code ou titre)")), method="filter_project"
    )
    report_status = filters.ChoiceFilter(
        field_name="report__status",
        label=capfirst(_("statut")),
        choices=[(s.value, s.label) for s in (ReportStatus.SUBMITTED, ReportStatus.APPROVED)],
    )

    choices_from = {"partner": (Partner, "report__partner_id")}

    def filter_project(self, queryset, name, value):
        return queryset.filter(
            Q(project__code__icontains=value) | Q(project__title__icontains=value)
        )


class InvestmentFilter(LineFilter):
    period = filters.ModelChoiceFilter(
        field_name="report__period", label=capfirst(_("période")), queryset=Period.objects.none()
    )

    class Meta:
        model = InvestmentLine
        fields = ("period", "partner", "project", "category", "performer", "report_status")

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        # select_related: a period's name shows its programme's code.
        self.filters["period"].queryset = Period.objects.select_related("programme").filter(
            pk__in=self.queryset.values("report__period_id")
        )


class JobFilter(LineFilter):
    class Meta:
        model = JobLine
        fields = ("partner", "project", "report_status")


class ProductFilter(LineFilter):
    sector = filters.ModelChoiceFilter(label=capfirst(_("secteur")), queryset=Sector.objects.none())
    name = filters.CharFilter(label=capfirst(_("nom du produit")), lookup_expr="icontains")

    choices_from = {**LineFilter.choices_from, "sector": (Sector, "sector_id")}

    class Meta:
        model = ProductLine
        fields = ("partner", "project", "sector", "name", "report_status")
