"""The drill-down: the rows behind one highlights figure, for staff only, always.

`/highlights/<programme>/<period>/rows/<figure>/` where `figure` is one of DRILLDOWNS (the values
of portal.highlights.DRILLDOWN_OF). Sortable (`?sort=`), filterable (the FilterSet's fields),
paginated (`?page=`, `?per_page=`), `?provisional=1` adds the submitted reports' lines, and
`?_export=csv|xlsx` downloads every filtered row (CSV streamed). The rows are
`highlights.figure_rows()`, the very querysets `compute()` aggregates: the page sums them again and
says whether that total equals the figure (and the published one).
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from portal import filters, highlights, tables
from portal import publication as publishing
from portal.access import require_staff
from portal.exports import CSV_LINE_END, neutralise, xlsx_legal
from portal.models import ProjectType, Sector, english_active
from portal.numbers import round_money

EXPORT_FORMATS = ("csv", "xlsx")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500  # `?per_page=` beyond this is an export's job
CHUNK_SIZE = 2000  # rows fetched and exported at a time: memory stays flat however many rows
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def project_totals(rows):
    counts = rows.aggregate(
        rows=Count("pk"),
        collaborative=Count("pk", filter=Q(type=ProjectType.COLLABORATIVE_FUNDAMENTAL)),
    )
    return counts["rows"], {
        "projects_in_progress": counts["rows"],
        "collaborative_projects": counts["collaborative"],
    }


def partner_totals(rows):
    count = rows.count()
    return count, {"partners_involved": count}


def money_totals(key):
    def totals(rows):
        sums = rows.aggregate(rows=Count("pk"), amount=Sum("amount", default=Decimal(0)))
        return sums["rows"], {key: round_money(sums["amount"])}

    return totals


def job_totals(rows):
    sums = rows.aggregate(
        rows=Count("pk"), direct=Sum("direct", default=0), indirect=Sum("indirect", default=0)
    )
    return sums["rows"], {
        "jobs": sums["direct"] + sums["indirect"],
        "jobs_direct": sums["direct"],
        "jobs_indirect": sums["indirect"],
    }


def product_totals(rows):
    by_sector = list(
        rows.order_by().values("sector__code").annotate(count=Count("pk")).order_by("sector__code")
    )
    count = sum(row["count"] for row in by_sector)
    return count, {
        "new_products": count,
        "product_sectors": tuple(row["sector__code"] for row in by_sector),
    }


@dataclass(frozen=True)
class Drilldown:
    title: str
    table: type
    filterset: type
    related: tuple  # every relation the table's accessors cross: no query per row
    totals: object  # rows -> (row count, {figure key: the rows' total})
    lines: bool = True  # report lines: `?provisional=1` applies, the report status is shown
    annotations: dict = field(default_factory=dict)


LINE = ("report__partner", "project")
DRILLDOWNS = {
    highlights.PROJECTS: Drilldown(
        _("Projets en cours de réalisation"),
        tables.ProjectTable,
        filters.ProjectFilter,
        ("sector", "lead_partner"),
        project_totals,
        lines=False,
    ),
    highlights.PARTNERS: Drilldown(
        _("Partenaires impliqués"),
        tables.PartnerTable,
        filters.PartnerFilter,
        (),
        partner_totals,
        lines=False,
    ),
    highlights.INVESTMENTS: Drilldown(
        _("Investissements des partenaires"),
        tables.InvestmentTable,
        filters.InvestmentFilter,
        (*LINE, "report__period"),
        money_totals("partner_investment"),
    ),
    highlights.SME_RESEARCH: Drilldown(
        _("Investissements dans des PME québécoises et des centres de recherche publics"),
        tables.InvestmentTable,
        filters.InvestmentFilter,
        (*LINE, "report__period"),
        money_totals("sme_research_spending"),
    ),
    highlights.CUMULATIVE_INVESTMENTS: Drilldown(
        _("Investissements cumulés des partenaires"),
        tables.InvestmentTable,
        filters.InvestmentFilter,
        (*LINE, "report__period"),
        money_totals("cumulative_partner_investment"),
    ),
    highlights.JOBS: Drilldown(
        _("Emplois"),
        tables.JobTable,
        filters.JobFilter,
        LINE,
        job_totals,
        annotations={"total_jobs": F("direct") + F("indirect")},
    ),
    highlights.PRODUCTS: Drilldown(
        _("Nouveaux produits"),
        tables.ProductTable,
        filters.ProductFilter,
        (*LINE, "sector"),
        product_totals,
    ),
}
MONEY_KEYS = {"partner_investment", "sme_research_spending", "cumulative_partner_investment"}


def display(key, value, sector_names):
    """A figure as the page writes it: money to the cent, counts grouped, sectors by name."""
    if key in MONEY_KEYS:
        return f"{floatformat(value, '2g')}\u00a0$"
    if key == "product_sectors":
        return ", ".join(sector_names.get(code, code) for code in value) or "—"
    return floatformat(value, "g")


class Echo:
    """A file-like object whose write() hands the line back, for csv.writer in a generator."""

    def write(self, value):
        return value


class CappedPaginator(LazyPaginator):
    """LazyPaginator (no COUNT of the rows) whose page size `?per_page=` cannot blow up."""

    def __init__(self, object_list, per_page, **kwargs):
        super().__init__(object_list, max(1, min(int(per_page), MAX_PAGE_SIZE)), **kwargs)


class DrilldownView(SingleTableMixin, FilterView):
    template_name = "highlights/drilldown.html"
    table_pagination = {"per_page": PAGE_SIZE, "paginator_class": CappedPaginator}

    def dispatch(self, request, *args, programme, period, figure):
        require_staff(request)  # before anything else: nobody else learns what exists
        self.drilldown = DRILLDOWNS.get(figure)
        if self.drilldown is None:
            raise Http404
        self.figure = figure
        try:
            self.period = highlights.find_period(programme, period)
        except LookupError:
            raise Http404 from None
        self.provisional = self.drilldown.lines and request.GET.get("provisional") == "1"
        self.export_format = request.GET.get("_export")
        if self.export_format is not None and self.export_format not in EXPORT_FORMATS:
            return HttpResponseBadRequest(
                gettext("Format d'export inconnu : CSV ou XLSX seulement.")
            )
        return super().dispatch(request, *args)

    def get_queryset(self):
        rows = highlights.figure_rows(self.period, self.figure, provisional=self.provisional)
        if self.drilldown.related:
            rows = rows.select_related(*self.drilldown.related)
        return rows.annotate(**self.drilldown.annotations)

    def get_filterset_class(self):
        return self.drilldown.filterset

    def get_table_class(self):
        return self.drilldown.table

    def get_table_kwargs(self):
        exclude = [] if self.provisional else ["report_status"]
        if self.figure != highlights.CUMULATIVE_INVESTMENTS:
            exclude.append("period")
        return {"exclude": exclude}

    def get_table_pagination(self, table):
        return False if self.export_format else super().get_table_pagination(table)

    def get(self, request, *args, **kwargs):
        self.filterset = self.get_filterset(self.get_filterset_class())
        # Filters that cannot narrow these rows: one status (approved), one period.
        if not self.provisional:
            self.filterset.filters.pop("report_status", None)
        if self.figure != highlights.CUMULATIVE_INVESTMENTS:
            self.filterset.filters.pop("period", None)
        if not self.filterset.is_bound or self.filterset.is_valid():
            self.object_list = self.filterset.qs
        else:
            self.object_list = self.filterset.queryset.none()
        if self.export_format:
            return self.export(self.get_table(**self.get_table_kwargs()))
        context = self.get_context_data(filter=self.filterset, object_list=self.object_list)
        return self.render_to_response(context)

    def is_filtered(self):
        form = self.filterset.form
        if not self.filterset.is_bound or not form.is_valid():
            return self.filterset.is_bound
        return any(value not in (None, "", [], ()) for value in form.cleaned_data.values())

    def statements(self):
        """What the page says about each figure: the rows' total, the live figure, whether they
        are equal, and the published figure when it differs from the live one."""
        row_count, totals = self.drilldown.totals(self.filterset.queryset)
        live = highlights.compute(self.period, provisional=self.provisional)
        publication = publishing.latest(self.period)
        published = publication and publishing.published_highlights(publication)
        sector_names = {}
        if "product_sectors" in totals:
            codes = {*totals["product_sectors"], *live.product_sectors}
            codes |= set(published.product_sectors if published else ())
            sector_names = {s.code: s.name for s in Sector.objects.filter(code__in=codes)}
        language = 1 if english_active() else 0
        lines = []
        for key, total in totals.items():
            figure = getattr(live, key)
            published_value = getattr(published, key) if published else None
            lines.append(
                {
                    "key": key,
                    "label": publishing.LABELS[key][language],
                    "total": display(key, total, sector_names),
                    "figure": display(key, figure, sector_names),
                    "equal": total == figure,
                    "published": (
                        display(key, published_value, sector_names)
                        if published and published_value != figure
                        else None
                    ),
                }
            )
        return row_count, lines, publication

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row_count, statements, publication = self.statements()
        filtered = self.is_filtered()
        shown_count, shown_totals = (
            self.drilldown.totals(self.object_list) if filtered else (row_count, None)
        )
        context.update(
            {
                "programme": self.period.programme,
                "period": self.period,
                "figure": self.figure,
                "title": self.drilldown.title,
                "provisional": self.provisional,
                "provisional_applies": self.drilldown.lines,
                "row_count": row_count,
                "statements": statements,
                "publication": publication,
                "filtered": filtered,
                "shown_count": shown_count,
                "shown_totals": [
                    {
                        "label": publishing.LABELS[key][1 if english_active() else 0],
                        "value": display(key, value, {}),
                    }
                    for key, value in (shown_totals or {}).items()
                    if key != "product_sectors"
                ],
                "export_formats": EXPORT_FORMATS,
            }
        )
        return context

    def filename(self):
        suffix = "_provisional" if self.provisional else ""
        period = self.period
        return f"{period.programme.code}_{period.label}_{self.figure}{suffix}.{self.export_format}"

    def export_rows(self, table):
        """The header, then every row of the (filtered, sorted) table, its text neutralised. The
        rows are read CHUNK_SIZE at a time: memory does not grow with their number."""
        records = table.data.data.iterator(chunk_size=CHUNK_SIZE)  # sorted by RequestConfig
        for row in tables.export_values(table, records):
            yield [neutralise(cell) for cell in row]

    def export(self, table):
        disposition = f'attachment; filename="{self.filename()}"'
        if self.export_format == "csv":
            response = StreamingHttpResponse(
                self.csv_lines(table, translation.get_language()),
                content_type="text/csv; charset=utf-8",
            )
        else:
            # A workbook is built whole before its first byte leaves: past this many rows a
            # request would outlast the proxy's timeout (64 s for 612 000 rows in bench/).
            limit = settings.DRILLDOWN_XLSX_MAX_ROWS
            count = table.data.data.count()
            if count > limit:
                return HttpResponseBadRequest(
                    gettext(
                        "%(count)s lignes : trop pour un classeur XLSX (maximum %(limit)s). "
                        "Filtrez les lignes ou exportez-les en CSV."
                    )
                    % {"count": count, "limit": limit},
                    content_type="text/plain; charset=utf-8",
                )
            response = HttpResponse(self.xlsx(table), content_type=XLSX_TYPE)
        response["Content-Disposition"] = disposition
        return response

    def csv_lines(self, table, language):
        """The CSV, line by line. It is sent after the view has returned, when the request's
        language is no longer active: headers and choice labels are rendered in `language`."""
        writer = csv.writer(Echo(), lineterminator=CSV_LINE_END)
        with translation.override(language):
            for row in self.export_rows(table):
                yield writer.writerow(row)

    def xlsx(self, table):
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=self.figure[:31])
        for row in self.export_rows(table):
            sheet.append([xlsx_legal(cell) for cell in row])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


drilldown = DrilldownView.as_view()
