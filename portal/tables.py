"""The drill-down tables: the rows behind each highlights figure, with links to the admin.

Columns are listed explicitly; the same tables render the page and the CSV/XLSX exports
(`export_values()`), so a column's header and accessor are defined once. Every accessor through a
relation is covered by the view's `select_related` (DRILLDOWNS in portal.views.drilldown), so
rendering costs no query per row.
"""

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.template.defaultfilters import floatformat
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from portal.models import InvestmentLine, JobLine, Partner, ProductLine, Project

A = tables.A
ATTRS = {"class": "periods drilldown"}  # the site's table style (highlights.css)


def admin_link(model_name):
    """linkify argument: the admin change page of the row itself."""
    return (f"admin:portal_{model_name}_change", [A("pk")])


class ProjectTable(tables.Table):
    code = tables.Column(linkify=admin_link("project"))
    title = tables.Column()
    type = tables.Column()
    sector = tables.Column(
        accessor="sector__name", verbose_name=capfirst(_("secteur")), order_by=("sector__code",)
    )
    lead_partner = tables.Column(
        accessor="lead_partner__code",
        verbose_name=capfirst(_("partenaire principal")),
        linkify=("admin:portal_partner_change", [A("lead_partner_id")]),
    )
    start = tables.Column()
    end = tables.Column()
    status = tables.Column()

    class Meta:
        model = Project
        fields = ("code", "title", "type", "sector", "lead_partner", "start", "end", "status")
        attrs = ATTRS


class PartnerTable(tables.Table):
    code = tables.Column(linkify=admin_link("partner"))
    name = tables.Column()
    kind = tables.Column()
    quebec = tables.BooleanColumn()

    class Meta:
        model = Partner
        fields = ("code", "name", "kind", "quebec")
        attrs = ATTRS


class LineTable(tables.Table):
    """What every report line shows: its partner, project and report status."""

    partner = tables.Column(
        accessor="report__partner__code",
        verbose_name=capfirst(_("partenaire")),
        linkify=("admin:portal_partner_change", [A("report__partner_id")]),
    )
    project = tables.Column(
        accessor="project__code",
        verbose_name=capfirst(_("projet")),
        linkify=("admin:portal_project_change", [A("project_id")]),
    )
    report_status = tables.Column(accessor="report__status", verbose_name=capfirst(_("statut")))


class InvestmentTable(LineTable):
    period = tables.Column(accessor="report__period__label", verbose_name=capfirst(_("période")))
    category = tables.Column()
    performer = tables.Column()
    amount = tables.Column(linkify=admin_link("investmentline"), attrs={"td": {"class": "num"}})

    class Meta:
        model = InvestmentLine
        fields = ("period", "partner", "project", "category", "performer", "amount")
        sequence = ("period", "partner", "project", "category", "performer", "amount", "...")
        attrs = ATTRS

    def render_amount(self, value):
        return floatformat(value, "2g")


class JobTable(LineTable):
    direct = tables.Column(linkify=admin_link("jobline"), attrs={"td": {"class": "num"}})
    indirect = tables.Column(attrs={"td": {"class": "num"}})
    total = tables.Column(
        accessor="total_jobs", verbose_name=_("Emplois"), attrs={"td": {"class": "num"}}
    )

    class Meta:
        model = JobLine
        fields = ("partner", "project", "direct", "indirect", "total")
        sequence = ("partner", "project", "direct", "indirect", "total", "...")
        attrs = ATTRS


class ProductTable(LineTable):
    name = tables.Column(linkify=admin_link("productline"))
    sector = tables.Column(
        accessor="sector__name", verbose_name=capfirst(_("secteur")), order_by=("sector__code",)
    )
    launch_date = tables.Column()

    class Meta:
        model = ProductLine
        fields = ("partner", "project", "name", "sector", "launch_date")
        sequence = ("partner", "project", "name", "sector", "launch_date", "...")
        attrs = ATTRS


def cell_reader(model, accessor):
    """A function reading one cell's raw value from a record: numbers stay numbers, dates stay
    dates, a field with choices gives its label. Built once per column, because tables2's own
    `as_values()` costs a quarter of a millisecond per row (signature inspection, gettext) and
    an export may have a million rows."""
    *path, last = accessor.replace(".", "__").split("__")
    for name in path:
        model = model._meta.get_field(name).related_model
    try:
        field = model._meta.get_field(last)
    except FieldDoesNotExist:
        field = None  # a property (sector.name) or an annotation (total_jobs)
    labels = {value: str(label) for value, label in field.flatchoices} if field else {}

    def read(record):
        for name in path:
            record = getattr(record, name)
            if record is None:
                return None
        value = getattr(record, last)
        return labels.get(value, value)

    return read


def export_values(table, records):
    """The table's header, then one list of raw values per record, in the table's columns."""
    columns = [
        column for column in table.columns.iterall() if not column.column.exclude_from_export
    ]
    yield [str(column.header) for column in columns]
    readers = [cell_reader(table._meta.model, column.accessor) for column in columns]
    for record in records:
        yield [read(record) for read in readers]


# --- The partner portal's dashboard ---------------------------------------------------------------

PORTAL_ATTRS = {"class": "table table-sm table-hover align-middle"}


class PartnerProjectTable(tables.Table):
    """A partner's projects, with its role in each (the lead partner is always a participant)."""

    code = tables.Column()
    title = tables.Column()
    role = tables.Column(
        accessor="lead_partner_id", verbose_name=capfirst(_("rôle")), orderable=False
    )
    status = tables.Column()
    start = tables.DateColumn(format="Y-m-d")  # unambiguous in French and in English
    end = tables.DateColumn(format="Y-m-d", default="—")
    sector = tables.Column(
        accessor="sector__name", verbose_name=capfirst(_("secteur")), order_by=("sector__code",)
    )

    class Meta:
        model = Project
        fields = ("code", "title", "role", "status", "start", "end", "sector")
        attrs = PORTAL_ATTRS
        template_name = "django_tables2/bootstrap5.html"
        empty_text = _("Aucun projet.")

    def __init__(self, *args, partner, **kwargs):
        super().__init__(*args, **kwargs)
        self.partner = partner

    def render_status(self, record):
        return capfirst(record.get_status_display())

    def render_role(self, record):
        if record.lead_partner_id == self.partner.pk:
            return capfirst(_("principal"))
        return capfirst(_("participant"))


class PartnerReportTable(tables.Table):
    """A partner's report per period: status, deadline (extension and its reason), what is left
    to do, and what to do next. Rows are portal.views.partner.ReportRow."""

    period = tables.TemplateColumn(
        template_name="portal/columns/period.html", verbose_name=_("Période"), orderable=False
    )
    # Each column reads an attribute the row has: a missing one costs tables2 a repr() of the row
    # (and its report's related objects) for an error message it then swallows.
    status = tables.TemplateColumn(
        template_name="portal/columns/status.html",
        accessor="window",
        verbose_name=_("Statut"),
        orderable=False,
    )
    deadline = tables.TemplateColumn(
        template_name="portal/columns/deadline.html",
        accessor="window",
        verbose_name=_("Date limite"),
        orderable=False,
    )
    to_do = tables.TemplateColumn(
        template_name="portal/columns/to_do.html", verbose_name=_("Reste à faire"), orderable=False
    )
    action = tables.TemplateColumn(
        template_name="portal/columns/action.html",
        accessor="period",
        verbose_name=_("Action"),
        orderable=False,
    )

    class Meta:
        attrs = PORTAL_ATTRS
        template_name = "django_tables2/bootstrap5.html"
        empty_text = _("Aucun rapport attendu pour le moment.")
