"""A partner's yearly report, as the partner portal handles it: the projects it covers, whether it
may still be changed and why not, what is left to do, saving its lines against a version number
(no lost update), and submitting it.

Status changes still go through `portal.workflow`; this module decides what a partner may type.
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import publication as publishing
from portal import workflow
from portal.highlights import contribution
from portal.models import (
    InvestmentLine,
    JobLine,
    Partner,
    Period,
    PeriodState,
    ProductLine,
    Project,
    Report,
    ReportStatus,
)
from portal.review import changes_since
from portal.templatetags.psm_format import long_date

# The natural key of each line within a report (DESIGN.md), and the fields a partner types.
INVESTMENT_KEY = ("project_id", "category", "performer")
PRODUCT_KEY = ("project_id", "name")
INVESTMENT_FIELDS = ("amount",)
JOB_FIELDS = ("direct", "indirect")
PRODUCT_FIELDS = ("sector_id", "launch_date", "uses_programme_technology")


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


def window(partner, period, report, *, today=None):
    """The report's window: a draft may be changed while the period is open and the partner's
    deadline (extensions included) has not passed; a returned report may be corrected after it;
    a submitted or approved report is read-only."""
    today = today or timezone.localdate()
    extension = period.extension_for(partner)
    deadline = period.deadline_for(partner)
    status = report.status if report is not None and report.pk else ReportStatus.DRAFT

    def closed(reason):
        return Window(False, deadline, extension, reason)

    if status == ReportStatus.SUBMITTED:
        return closed(
            _("Le rapport a été soumis le %(date)s : il est en cours d'évaluation.")
            % {"date": long_date(timezone.localtime(report.submitted_at))}
            if report.submitted_at
            else _("Le rapport a été soumis : il est en cours d'évaluation.")
        )
    if status == ReportStatus.APPROVED:
        return closed(_("Le rapport a été approuvé : il ne peut plus être modifié."))
    if status == ReportStatus.RETURNED:
        return Window(True, deadline, extension)
    if period.state != PeriodState.OPEN:
        # Staff closing the period ends the collection, extensions included.
        return closed(
            _(
                "Le centre de coordination a fermé la collecte de la période %(period)s : le "
                "rapport pouvait être rempli et soumis jusqu'à cette fermeture (date limite : "
                "%(date)s)."
            )
            % {"period": period.label, "date": long_date(deadline)}
        )
    if today > deadline:
        return closed(
            _(
                "La date limite de remise est passée : le rapport pouvait être rempli et soumis "
                "jusqu'au %(date)s inclusivement."
            )
            % {"date": long_date(deadline)}
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


# --- Saving the lines --------------------------------------------------------------------------


@dataclass
class ProjectEntry:
    """What the partner typed for one project: lines as dicts of field values."""

    investments: list = field(default_factory=list)  # {"category", "performer", "amount"}
    jobs: dict | None = None  # {"direct", "indirect"}, None when left blank (missing, not zero)
    products: list = field(default_factory=list)  # {"name", "sector_id", "launch_date", ...}


class StaleReport(Exception):
    """The report changed since this person loaded it (a save, a submission, a staff decision,
    an import): their save is refused, with what changed since."""

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
    refused: tuple = ()  # why « Soumettre » did not submit (the draft is saved all the same)


def _member(partner, user):
    if not Partner.objects.for_user(user).filter(pk=partner.pk).exists():
        raise PermissionDenied(_("Vous n'êtes pas membre de ce partenaire."))


def _locked_report(partner, period):
    """The report row, locked for this transaction; created (version 0) for a first save."""
    report = (
        Report.objects.select_for_update()
        .select_related("period", "partner")
        .filter(partner=partner, period=period)
        .first()
    )
    if report is None:
        try:
            with transaction.atomic():
                report = Report.objects.create(partner=partner, period=period, version=0)
        except IntegrityError:
            # Someone else created it at this very moment: theirs is the newer version.
            report = Report.objects.select_for_update().get(partner=partner, period=period)
    return report


def lines_token(lines):
    """A fingerprint of a report's lines as a page shows them. The version number catches what
    goes through this module and the workflow; the fingerprint catches any other change to the
    lines (the admin, an import), so that no save overwrites what its author never saw."""
    rows = []
    for project_id, found in lines.investments.items():
        rows += [("i", project_id, x.category, x.performer, str(x.amount)) for x in found]
    rows += [("j", project_id, x.direct, x.indirect) for project_id, x in lines.jobs.items()]
    for project_id, found in lines.products.items():
        rows += [
            ("p", project_id, x.name, x.sector_id, str(x.launch_date), x.uses_programme_technology)
            for x in found
        ]
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:32]


def stale_changes(report, loaded_version):
    """Line by line, what was saved since `loaded_version` of the report (every change of its
    lines when that version never existed)."""
    if report is None or report.pk is None:
        return []
    moment = (
        report.history.filter(version=loaded_version)
        .order_by("-history_date")
        .values_list("history_date", flat=True)
        .first()
    )
    if moment is None:
        first = report.history.order_by("history_date").values_list("history_date", flat=True)
        moment = first.first()
        if moment is None:
            return []
        moment -= datetime.timedelta(microseconds=1)
    return changes_since(report, moment)


def is_stale(report, lines, *, version, token):
    """Whether a page loaded at (`version`, `token`) no longer shows the report as it is."""
    current = report.version if report is not None and report.pk else 0
    return version != current or token != lines_token(lines)


@transaction.atomic
def save_report(*, partner, period, user, version, token, entries, submit=False):
    """Save what the partner typed (`entries`: {project_id: ProjectEntry}) as the report's lines,
    then, with `submit`, submit it in the same transaction.

    `version` and `token` describe the report as the person loaded it (0 and the empty token before
    it exists). They are checked against the locked row: a stale save is refused (StaleReport,
    with what changed), so that a second person never silently overwrites the first. Lines are
    matched by their natural key: unchanged lines are left alone, so the history shows only real
    changes. A submission that is refused (something blocking is left) leaves the draft saved."""
    _member(partner, user)
    report = _locked_report(partner, period)
    lines = saved_lines(report)
    if is_stale(report, lines, version=version, token=token):
        raise StaleReport(report, version, stale_changes(report, version))
    state = window(partner, period, report)
    if not state.editable:
        raise ValidationError(state.reason)
    projects = {project.pk: project for project in report_projects(partner, period, report)}
    if set(entries) - set(projects):
        raise ValidationError(_("Ce rapport ne porte pas sur ce projet."))

    counts = {"created": 0, "changed": 0, "deleted": 0}
    desired = {"investments": {}, "jobs": {}, "products": {}}
    for project_id, entry in entries.items():
        for values in entry.investments:
            desired["investments"][(project_id, values["category"], values["performer"])] = values
        if entry.jobs is not None:
            desired["jobs"][(project_id,)] = entry.jobs
        for values in entry.products:
            desired["products"][(project_id, values["name"])] = values

    # Lines on projects the page did not show are left as they are.
    def current(grouped, key_fields):
        return {
            tuple(getattr(line, name) for name in key_fields): line
            for project_id, found in grouped.items()
            if project_id in entries
            for line in (found if isinstance(found, list) else [found])
        }

    for model, kind, key_fields, value_fields in (
        (InvestmentLine, "investments", INVESTMENT_KEY, INVESTMENT_FIELDS),
        (JobLine, "jobs", ("project_id",), JOB_FIELDS),
        (ProductLine, "products", PRODUCT_KEY, PRODUCT_FIELDS),
    ):
        _sync(
            model,
            current(getattr(lines, kind), key_fields),
            key_fields,
            value_fields,
            desired[kind],
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
        report.save()
    refused = ()
    if submit:
        try:
            with transaction.atomic():
                submit_report(report=report, user=user, projects=list(projects.values()))
        except ValidationError as error:
            refused = tuple(error.messages)
    return Saved(report, **counts, refused=refused)


def _sync(model, current, key_fields, value_fields, desired, report, projects, counts):
    """Make the lines `current` ({key: line}) of one type equal to `desired` ({key: values})."""
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


# A line's foreign keys here are objects this module holds (the locked report, the report's
# projects, a sector among the form's choices): checking that each exists cost a query per key
# per line (18 of a 2-project save's 59). The database's foreign keys still guard them.
HELD_KEYS = ("report", "project", "sector")


def _save_line(line):
    # Uniqueness is the database's (and the form's) job: no query per line for it here.
    line.full_clean(exclude=HELD_KEYS, validate_unique=False, validate_constraints=False)
    line.save()


# --- Submitting --------------------------------------------------------------------------------


@transaction.atomic
def submit_report(*, report, user, projects):
    """Submit the report once nothing blocking is left (every project's jobs declared)."""
    blocking = [item for item in to_do(report, projects) if item.blocking]
    if blocking:
        raise ValidationError([item.message for item in blocking])
    return workflow.report_submit(report=report, user=user)


# --- The dashboard and the receipt -------------------------------------------------------------


@dataclass
class ReportRow:
    """One period of a partner's dashboard: its report (or none yet), window and what is left."""

    partner: Partner
    period: Period
    report: Report | None
    window: Window
    to_do: list

    @property
    def blocking(self):
        return [item for item in self.to_do if item.blocking]


def report_rows(partner):
    """The partner's reports, one row per period it reports in. What is left to do is worked out
    only for the reports it may still change (the open periods)."""
    reports = {report.period_id: report for report in Report.objects.filter(partner=partner)}
    rows = []
    for period in partner_periods(partner):
        report = reports.get(period.pk)
        state = window(partner, period, report)
        items = to_do(report, report_projects(partner, period, report)) if state.editable else []
        rows.append(ReportRow(partner, period, report, state, items))
    return rows


def next_report(rows):
    """The report to work on next: the open one with the nearest deadline."""
    open_rows = sorted(
        (row for row in rows if row.window.editable), key=lambda r: r.window.deadline
    )
    return open_rows[0] if open_rows else None


@dataclass(frozen=True)
class Receipt:
    mine: object  # highlights.Contribution
    published: object  # the publication's Highlights, or None
    publication: object
    included: bool  # whether that publication already counts this report


def receipt(partner, period, report):
    """How an approved report's figures enter the programme's highlights. Programme totals come
    from the latest publication only: partners never see unpublished figures."""
    if report is None or report.status != ReportStatus.APPROVED:
        return None
    current = publishing.latest(period)
    published = publishing.published_highlights(current) if current else None
    included = bool(
        current and (report.reviewed_at is None or report.reviewed_at <= current.published_at)
    )
    return Receipt(contribution(period, partner), published, current, included)


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

    @property
    def total(self):
        return sum(
            (line.amount for found in self.investments.values() for line in found),
            Decimal("0.00"),
        )

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
