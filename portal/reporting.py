"""A partner's yearly report, as the partner portal handles it: the projects it covers, whether it
may still be changed and why not, what is left to do, saving its lines against a version number
(no lost update), and submitting it.

Status changes still go through `portal.workflow`; this module decides what a partner may type.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal import workflow
from portal.models import (
    InvestmentLine,
    JobLine,
    Partner,
    PeriodState,
    ProductLine,
    Project,
    Report,
    ReportStatus,
)
from portal.review import changes_since

# The natural key of each line within a report (DESIGN.md), and the fields a partner types.
INVESTMENT_KEY = ("project_id", "category", "performer")
PRODUCT_KEY = ("project_id", "name")
INVESTMENT_FIELDS = ("amount",)
JOB_FIELDS = ("direct", "indirect")
PRODUCT_FIELDS = ("sector_id", "launch_date", "uses_programme_technology")


def _day(value):
    return date_format(value, "DATE_FORMAT")


# --- Which projects, which periods --------------------------------------------------------------


def report_projects(partner, period, report=None):
    """The projects the partner reports on in `period`: those it takes part in that are in
    progress during the period, plus any project its report already has lines on."""
    condition = Q(pk__in=Project.objects.in_progress_during(period).values("pk"))
    if report is not None and report.pk:
        for model in (InvestmentLine, JobLine, ProductLine):
            condition |= Q(pk__in=model.objects.filter(report=report).values("project_id"))
    return (
        Project.objects.with_participant(partner)
        .filter(condition, programme_id=period.programme_id)
        .select_related("sector", "lead_partner")
        .prefetch_related("participations")
        .order_by("code")
    )


def partner_periods(partner):
    """The periods in which the partner reports, latest first, with what the pages show."""
    from portal.models import Period

    return (
        Period.objects.expecting(partner)
        .select_related("programme")
        .prefetch_related("extensions")
        .order_by("-end", "programme__code")
    )


# --- May the report still be changed? ----------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Whether the partner may change its report now, its deadline, and why not when it may not."""

    editable: bool
    deadline: object
    extension: object  # the Extension that sets the deadline, or None
    reason: str = ""  # why the report is read-only (empty when editable)

    @property
    def past_deadline(self):
        return timezone.localdate() > self.deadline


def window(partner, period, report, *, today=None):
    """The report's window: a draft may be changed while the period is open and the partner's
    deadline (extensions included) has not passed; a returned report may be corrected after it;
    a submitted or approved report is read-only."""
    today = today or timezone.localdate()
    extension = period.extension_for(partner)
    deadline = extension.new_deadline if extension else period.deadline
    status = report.status if report is not None and report.pk else ReportStatus.DRAFT

    def closed(reason):
        return Window(False, deadline, extension, reason)

    if status == ReportStatus.SUBMITTED:
        return closed(
            _("Le rapport a été soumis le %(date)s : il est en cours d'évaluation.")
            % {"date": _day(timezone.localtime(report.submitted_at))}
            if report.submitted_at
            else _("Le rapport a été soumis : il est en cours d'évaluation.")
        )
    if status == ReportStatus.APPROVED:
        return closed(_("Le rapport a été approuvé : il ne peut plus être modifié."))
    if status == ReportStatus.RETURNED:
        return Window(True, deadline, extension)
    if period.state != PeriodState.OPEN:
        return closed(
            _("La collecte de la période %(period)s est fermée.") % {"period": period.label}
        )
    if today > deadline:
        return closed(
            _(
                "La date limite de remise est passée : le rapport pouvait être rempli et soumis "
                "jusqu'au %(date)s inclusivement."
            )
            % {"date": _day(deadline)}
        )
    return Window(True, deadline, extension)


# --- What is left to do ------------------------------------------------------------------------


@dataclass(frozen=True)
class ToDo:
    message: str
    blocking: bool  # submission is refused until it is done
    project: object = None


def to_do(report, projects):
    """What is left before the report can be submitted (blocking), and what deserves a second
    look (not blocking). `projects` are the report's projects (report_projects)."""
    items = []
    if report is None or report.pk is None:
        return [ToDo(_("Le rapport n'est pas commencé."), True)]
    with_jobs = set(report.jobs.values_list("project_id", flat=True))
    with_money = set(report.investments.values_list("project_id", flat=True))
    for project in projects:
        if project.pk not in with_jobs:
            items.append(
                ToDo(
                    _("Projet %(code)s : emplois non déclarés (indiquez 0 s'il n'y en a pas).")
                    % {"code": project.code},
                    True,
                    project,
                )
            )
    for project in projects:
        if project.pk not in with_money:
            items.append(
                ToDo(
                    _("Projet %(code)s : aucun investissement déclaré. Est-ce bien le cas ?")
                    % {"code": project.code},
                    False,
                    project,
                )
            )
    return items


def blocking_summary(items):
    blocking = [item for item in items if item.blocking]
    if not blocking:
        return ""
    return ngettext(
        "%(count)s point à régler avant de soumettre.",
        "%(count)s points à régler avant de soumettre.",
        len(blocking),
    ) % {"count": len(blocking)}


# --- Saving the lines --------------------------------------------------------------------------


@dataclass
class ProjectEntry:
    """What the partner typed for one project: lines as dicts of field values."""

    investments: list = field(default_factory=list)  # {"category", "performer", "amount"}
    jobs: dict | None = None  # {"direct", "indirect"}, None when left blank (missing, not zero)
    products: list = field(default_factory=list)  # {"name", "sector_id", "launch_date", ...}


class StaleReport(Exception):
    """Someone saved the report since this person loaded it: their save is refused."""

    def __init__(self, report, loaded_version, changes):
        super().__init__(f"stale version {loaded_version}, now {report.version}")
        self.report = report
        self.loaded_version = loaded_version
        self.changes = changes


@dataclass(frozen=True)
class Saved:
    report: Report
    created: int
    changed: int
    deleted: int

    @property
    def touched(self):
        return self.created + self.changed + self.deleted


def _member(partner, user):
    if not Partner.objects.for_user(user).filter(pk=partner.pk).exists():
        raise PermissionDenied(_("Vous n'êtes pas membre de ce partenaire."))


def _locked_report(partner, period, version):
    """The report row, locked for this transaction; created (version 1) for a first save."""
    report = (
        Report.objects.select_for_update()
        .select_related("period", "partner")
        .filter(partner=partner, period=period)
        .first()
    )
    if report is None:
        if version:
            raise ValidationError(_("Ce rapport n'existe plus."))
        try:
            with transaction.atomic():
                report = Report.objects.create(partner=partner, period=period, version=0)
        except IntegrityError:
            # Someone else created it at the same moment: theirs is the newer version.
            report = Report.objects.select_for_update().get(partner=partner, period=period)
            raise StaleReport(report, version, []) from None
    return report


def stale_changes(report, loaded_version):
    """Line by line, what was saved since `loaded_version` of the report."""
    record = (
        report.history.filter(version=loaded_version)
        .order_by("-history_date")
        .values_list("history_date", flat=True)
        .first()
    )
    if record is None:
        return []
    return changes_since(report, record)


@transaction.atomic
def save_report(*, partner, period, user, version, entries):
    """Save what the partner typed (`entries`: {project_id: ProjectEntry}) as the report's lines.

    `version` is the report's version the person loaded (0 before the report exists). It is
    checked against the locked row: a stale save is refused (StaleReport, with what changed),
    so that a second person never silently overwrites the first. Lines are matched by their
    natural key: unchanged lines are left alone, so the history shows only real changes."""
    _member(partner, user)
    report = _locked_report(partner, period, version)
    if report.version != version:
        raise StaleReport(report, version, stale_changes(report, version))
    state = window(partner, period, report)
    if not state.editable:
        raise ValidationError(state.reason)
    projects = {project.pk: project for project in report_projects(partner, period, report)}
    unknown = set(entries) - set(projects)
    if unknown:
        raise ValidationError(_("Ce rapport ne porte pas sur ce projet."))

    counts = {"created": 0, "changed": 0, "deleted": 0}
    desired_investments = {}
    desired_jobs = {}
    desired_products = {}
    for project_id, entry in entries.items():
        for values in entry.investments:
            desired_investments[(project_id, values["category"], values["performer"])] = values
        if entry.jobs is not None:
            desired_jobs[project_id] = entry.jobs
        for values in entry.products:
            desired_products[(project_id, values["name"])] = values

    # Lines on projects the page did not show (none in practice) are left as they are.
    shown = set(entries)
    _sync(
        InvestmentLine.objects.filter(report=report, project_id__in=shown),
        INVESTMENT_KEY,
        INVESTMENT_FIELDS,
        desired_investments,
        report,
        projects,
        counts,
    )
    _sync(
        JobLine.objects.filter(report=report, project_id__in=shown),
        ("project_id",),
        JOB_FIELDS,
        {(key,): values for key, values in desired_jobs.items()},
        report,
        projects,
        counts,
    )
    _sync(
        ProductLine.objects.filter(report=report, project_id__in=shown),
        PRODUCT_KEY,
        PRODUCT_FIELDS,
        desired_products,
        report,
        projects,
        counts,
    )
    if any(counts.values()) or report.version == 0:
        # The report's own row is saved last: its history row dates the new version after the
        # lines' ones, which is how a stale save finds what changed since its version.
        report.version += 1
        report._change_reason = "saved"
        report._history_user = user
        report.save(update_fields=["version"] if report.version > 1 else None)
    return Saved(report, **counts)


def _sync(existing, key_fields, value_fields, desired, report, projects, counts):
    """Make `existing` (a queryset of one line type) equal to `desired` ({key: values})."""
    model = existing.model
    current = {tuple(getattr(line, name) for name in key_fields): line for line in existing}
    for key, line in current.items():
        if key not in desired:
            line.delete()
            counts["deleted"] += 1
    for key, values in desired.items():
        line = current.get(key)
        if line is None:
            line = model(report=report, **dict(zip(key_fields, key, strict=True)))
            line.project = projects[key[0]]
            for name in value_fields:
                setattr(line, name, values[name])
            _save_line(line)
            counts["created"] += 1
        elif any(getattr(line, name) != values[name] for name in value_fields):
            for name in value_fields:
                setattr(line, name, values[name])
            _save_line(line)
            counts["changed"] += 1


def _save_line(line):
    # Uniqueness is the database's (and the form's) job: no query per line for it here.
    line.full_clean(validate_unique=False, validate_constraints=False)
    line.save()


# --- Submitting --------------------------------------------------------------------------------


@transaction.atomic
def submit_report(*, report, user, projects):
    """Submit the report once nothing blocking is left (every project's jobs declared)."""
    blocking = [item for item in to_do(report, projects) if item.blocking]
    if blocking:
        raise ValidationError([item.message for item in blocking])
    return workflow.report_submit(report=report, user=user)


# --- Totals ------------------------------------------------------------------------------------


def investment_totals(amounts):
    """{project_id: total} and the report's total, from (project_id, amount) pairs."""
    totals = defaultdict(lambda: Decimal("0.00"))
    for project_id, amount in amounts:
        totals[project_id] += amount or Decimal("0")
    return dict(totals), sum(totals.values(), Decimal("0.00"))


# --- The lines a page shows ----------------------------------------------------------------------


@dataclass
class Lines:
    """A report's lines grouped by project (three queries), and last year's as suggestions."""

    investments: dict = field(default_factory=lambda: defaultdict(list))
    jobs: dict = field(default_factory=dict)
    products: dict = field(default_factory=lambda: defaultdict(list))
    report: Report | None = None

    def for_project(self, project_id):
        investments = self.investments.get(project_id, [])
        return {
            "investments": investments,
            "jobs": self.jobs.get(project_id),
            "products": self.products.get(project_id, []),
            "total": sum((line.amount for line in investments), Decimal("0.00")),
            "report": self.report,
        }

    def sections(self, projects):
        """[(project, its lines)] in the projects' order, for a read-only page."""
        return [(project, self.for_project(project.pk)) for project in projects]


def saved_lines(report):
    lines = Lines(report=report)
    if report is None or report.pk is None:
        return lines
    for line in report.investments.all():
        lines.investments[line.project_id].append(line)
    for line in report.jobs.all():
        lines.jobs[line.project_id] = line
    for line in report.products.select_related("sector"):
        lines.products[line.project_id].append(line)
    return lines


class Suggestions(Lines):
    """Last year's approved lines: which investment rows to offer, and figures to show beside."""

    def for_project(self, project_id):
        found = super().for_project(project_id)
        found["investments"] = [(line.category, line.performer) for line in found["investments"]]
        found["amounts"] = {
            (line.category, line.performer): line.amount
            for line in self.investments.get(project_id, [])
        }
        return found


def last_year(partner, period):
    """The partner's approved report of the previous period, as suggestions (or none)."""
    previous = period.previous()
    report = (
        Report.objects.filter(period=previous, partner=partner, status=ReportStatus.APPROVED)
        .select_related("period")
        .first()
        if previous
        else None
    )
    suggestions = Suggestions(report=report)
    if report is not None:
        saved = saved_lines(report)
        suggestions.investments, suggestions.jobs = saved.investments, saved.jobs
        suggestions.products = saved.products
    return suggestions
