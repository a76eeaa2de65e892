"""What staff see when they review: a report's figures beside last year's, what changed since it
was returned, and where every partner stands in a period's cycle. Read-side only; the decisions
themselves go through portal.workflow.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum, prefetch_related_objects

from portal.models import (
    InvestmentLine,
    JobLine,
    Partner,
    ProductLine,
    Project,
    Report,
    ReportStatus,
)
from portal.numbers import round_money
from portal.templatetags.psm_format import money

MISSING = "missing"
LINE_MODELS = (InvestmentLine, JobLine, ProductLine)


@dataclass
class Figures:
    investment: Decimal = Decimal("0.00")
    jobs_direct: int | None = None
    jobs_indirect: int | None = None
    products: int = 0

    @property
    def jobs(self):
        if self.jobs_direct is None:
            return None
        return self.jobs_direct + (self.jobs_indirect or 0)


@dataclass
class ProjectRow:
    project: Project
    this_year: Figures = field(default_factory=Figures)
    last_year: Figures = field(default_factory=Figures)


def _figures_by_project(report_ids):
    """{project_id: Figures} summed over the given reports, one query per line type."""
    figures = {}
    for row in (
        InvestmentLine.objects.filter(report_id__in=report_ids)
        .values("project_id")
        .annotate(total=Sum("amount"))
    ):
        # SQLite sums decimals as floats: back to cents.
        figures.setdefault(row["project_id"], Figures()).investment = round_money(row["total"])
    for row in (
        JobLine.objects.filter(report_id__in=report_ids)
        .values("project_id")
        .annotate(direct=Sum("direct"), indirect=Sum("indirect"))
    ):
        found = figures.setdefault(row["project_id"], Figures())
        found.jobs_direct, found.jobs_indirect = row["direct"], row["indirect"]
    for row in (
        ProductLine.objects.filter(report_id__in=report_ids)
        .values("project_id")
        .annotate(count=Count("pk"))
    ):
        figures.setdefault(row["project_id"], Figures()).products = row["count"]
    return figures


def last_years_report(report):
    """The partner's approved report of the previous period, or None."""
    previous = report.period.previous()
    if previous is None:
        return None
    return Report.objects.filter(
        period=previous, partner_id=report.partner_id, status=ReportStatus.APPROVED
    ).first()


def figures_beside_last_year(report):
    """Rows per project (this year's lines, last year's approved ones) and the two totals."""
    last = last_years_report(report)
    this_year = _figures_by_project([report.pk])
    last_year = _figures_by_project([last.pk]) if last else {}
    projects = Project.objects.in_bulk(set(this_year) | set(last_year))
    rows = [
        ProjectRow(project, this_year.get(pk, Figures()), last_year.get(pk, Figures()))
        for pk, project in sorted(projects.items(), key=lambda item: item[1].code)
    ]
    return rows, _total(r.this_year for r in rows), _total(r.last_year for r in rows), last


def _total(figures):
    total = Figures(jobs_direct=None, jobs_indirect=None)
    for f in figures:
        total.investment += f.investment
        total.products += f.products
        if f.jobs_direct is not None:
            total.jobs_direct = (total.jobs_direct or 0) + f.jobs_direct
            total.jobs_indirect = (total.jobs_indirect or 0) + (f.jobs_indirect or 0)
    return total


@dataclass
class LineChange:
    when: object
    who: object
    kind: str  # the line's verbose name
    action: str  # "+" created, "~" changed, "-" deleted
    label: str
    changes: list  # [(field verbose name, old, new)]


def changes_since_return(report):
    """Line by line, what changed since the report was last returned (None if it never was)."""
    returned = (
        report.history.filter(status=ReportStatus.RETURNED)
        .order_by("-history_date")
        .values_list("history_date", flat=True)
        .first()
    )
    if returned is None:
        return None, []
    return returned, changes_since(report, returned)


def changes_since(report, moment):
    """Line by line, what changed in the report's lines after `moment`, oldest first."""
    changes = []
    for model in LINE_MODELS:
        # Every record of the report's lines in one query, each paired with the line's previous
        # record in Python (prev_record would cost a query per change).
        records = (
            model.history.filter(report_id=report.pk)
            .select_related("history_user", "project")
            .order_by("id", "history_date", "history_id")
        )
        previous = {}
        for record in records:
            before = previous.get(record.id)
            previous[record.id] = record
            if record.history_date <= moment:
                continue
            diffs = []
            if record.history_type == "~" and before is not None:
                delta = record.diff_against(before)
                diffs = [
                    (model._meta.get_field(c.field).verbose_name, c.old, c.new)
                    for c in delta.changes
                ]
            changes.append(
                LineChange(
                    record.history_date,
                    record.history_user,
                    model._meta.verbose_name,
                    record.history_type,
                    _line_label(record),
                    diffs,
                )
            )
    changes.sort(key=lambda change: change.when)
    return changes


def _line_label(record):
    parts = [record.project.code if record.project_id else "?"]
    for name in ("name", "category", "performer"):
        if hasattr(record, name):
            # The label people read (« main-d'œuvre »), not the stored code.
            display = getattr(record, f"get_{name}_display", None)
            parts.append(str(display() if display else getattr(record, name)))
    if hasattr(record, "amount"):
        parts.append(money(record.amount))
    if hasattr(record, "direct"):
        parts.append(f"{record.direct} + {record.indirect}")
    return " · ".join(parts)


@dataclass
class CycleRow:
    partner: Partner
    report: Report | None
    deadline: object
    extension_reason: str
    last_reminder: object

    @property
    def status(self):
        return self.report.status if self.report else MISSING


def cycle(period):
    """Where every partner stands in the period: those of its in-progress projects, plus any
    partner that has a report. A constant number of queries."""
    expected = Partner.objects.participating_in(Project.objects.in_progress_during(period))
    reports = {
        r.partner_id: r
        for r in Report.objects.filter(period=period).select_related("submitted_by", "reviewed_by")
    }
    partners = Partner.objects.filter(
        Q(pk__in=expected.values("pk")) | Q(pk__in=list(reports))
    ).annotate(last_reminder=Max("reminders__sent_on", filter=Q(reminders__periods=period)))
    prefetch_related_objects([period], "extensions")
    rows = []
    for partner in partners.order_by("code"):
        extension = period.extension_for(partner)
        rows.append(
            CycleRow(
                partner,
                reports.get(partner.pk),
                period.deadline_for(partner),
                extension.reason if extension else "",
                partner.last_reminder,
            )
        )
    return rows


def status_counts(statuses):
    """Counts per status, every status present (missing included), in the cycle's order."""
    counted = Counter(statuses)
    order = [*ReportStatus.values, MISSING]
    return {status: counted.get(status, 0) for status in order}
