"""Data-quality checks of a period: warnings staff look at before approval and before publication.

Each check is a small function `check(period, *, today=None)` yielding `Finding`s, registered in
`CHECKS` under its code. Warnings never block anything; staff may acknowledge one with a comment
(`acknowledge()`), which is then attached to the finding. Every check runs a constant number of
queries whatever the data (no query per row), and looks at every report of the period whatever its
status, since staff check before approval as well as before publication.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import (
    CheckAcknowledgement,
    InvestmentLine,
    JobLine,
    ProductLine,
    Project,
    ProjectStatus,
    Report,
    ReportStatus,
)
from portal.numbers import round_money

DRAFT_AFTER_DEADLINE = "draft_after_deadline"
LINE_NOT_IN_PROGRESS = "line_not_in_progress"
PRODUCT_OUTSIDE_PERIOD = "product_outside_period"
CHANGE_FROM_LAST_YEAR = "change_from_last_year"
AMOUNT_OVER_THRESHOLD = "amount_over_threshold"
PROJECT_WITHOUT_LINES = "project_without_lines"

DEFAULT_CHANGE_SHARE = Decimal("0.5")
DEFAULT_AMOUNT_THRESHOLD = Decimal("5000000")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    subject: str  # "report:<pk>", "project:<pk>", "investment:<pk>", "product:<pk>", "jobs:<pk>"
    report_id: int | None
    acknowledgement: CheckAcknowledgement | None = None


def change_share():
    """The share of change from last year beyond which figures are flagged (0.5 for ±50 %)."""
    return Decimal(str(getattr(settings, "CHECK_CHANGE_SHARE", DEFAULT_CHANGE_SHARE)))


def amount_threshold():
    """The investment line amount beyond which a line is flagged, in dollars."""
    return Decimal(str(getattr(settings, "CHECK_AMOUNT_THRESHOLD", DEFAULT_AMOUNT_THRESHOLD)))


def money(value):
    """`1 234 567,89 $` in French, `1,234,567.89 $` in English: rounded half-up first.

    No-break spaces (French typography): a line never breaks before `$` or `%`."""
    return f"{number_format(round_money(value), 2, force_grouping=True)}\u00a0$"


def percent(value):
    """A signed change with one decimal: `+200,0 %`, `-80,0 %`."""
    rounded = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    sign = "+" if rounded > 0 else ""
    return f"{sign}{number_format(rounded, 1)}\u00a0%"


def share_percent(share):
    """The set share as people write it: `50 %`, `12,5 %`."""
    value = share * 100
    if value == value.to_integral_value():
        return f"{int(value)}\u00a0%"
    return f"{number_format(value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP), 1)}\u00a0%"


def draft_after_deadline(period, *, today=None):
    """Reports still in draft once the partner's deadline (extensions included) has passed."""
    today = today or timezone.localdate()
    # Each report's period comes with its extensions: deadline_for() costs no query per partner.
    drafts = (
        Report.objects.filter(period=period, status=ReportStatus.DRAFT)
        .select_related("partner", "period")
        .prefetch_related("period__extensions")
    )
    for report in drafts:
        deadline = report.period.deadline_for(report.partner)
        if today > deadline:
            yield Finding(
                code=DRAFT_AFTER_DEADLINE,
                message=_(
                    "Le rapport de %(partner)s est encore en brouillon après la date limite "
                    "(%(deadline)s)."
                )
                % {"partner": report.partner.code, "deadline": deadline.isoformat()},
                subject=f"report:{report.pk}",
                report_id=report.pk,
            )


def _period_lines(model, period):
    """Lines of every report of the period, whatever its status, with what messages name."""
    return model.objects.filter(report__period=period).select_related("report__partner", "project")


def _line_description(kind, line):
    if kind == "investment":
        return _("une ligne d'investissement")
    if kind == "jobs":
        return _("une ligne d'emplois")
    return _("le produit « %(name)s »") % {"name": line.name}


def _why_not_in_progress(project, period):
    if project.status not in (ProjectStatus.ACTIVE, ProjectStatus.COMPLETED):
        return _("statut : %(status)s") % {"status": project.get_status_display()}
    if project.programme_id != period.programme_id:
        return _("projet d'un autre programme")
    if project.end is None:
        return _("à partir du %(start)s") % {"start": project.start.isoformat()}
    return _("du %(start)s au %(end)s") % {
        "start": project.start.isoformat(),
        "end": project.end.isoformat(),
    }


LINE_KINDS = [("investment", InvestmentLine), ("jobs", JobLine), ("product", ProductLine)]


def line_not_in_progress(period, *, today=None):
    """Lines on projects not in progress during the period: planned, cancelled or out of dates."""
    in_progress = Project.objects.in_progress_during(period).values("pk")
    for kind, model in LINE_KINDS:
        for line in _period_lines(model, period).exclude(project__in=in_progress):
            yield Finding(
                code=LINE_NOT_IN_PROGRESS,
                message=_(
                    "%(partner)s déclare %(line)s sur le projet %(project)s, qui n'est pas en "
                    "cours pendant la période %(period)s (%(reason)s)."
                )
                % {
                    "partner": line.report.partner.code,
                    "line": _line_description(kind, line),
                    "project": line.project.code,
                    "period": period.label,
                    "reason": _why_not_in_progress(line.project, period),
                },
                subject=f"{kind}:{line.pk}",
                report_id=line.report_id,
            )


def product_outside_period(period, *, today=None):
    """Products whose launch date lies outside the period."""
    outside = _period_lines(ProductLine, period).exclude(
        launch_date__gte=period.start, launch_date__lte=period.end
    )
    for product in outside:
        yield Finding(
            code=PRODUCT_OUTSIDE_PERIOD,
            message=_(
                "Le produit « %(name)s » de %(partner)s (projet %(project)s) est lancé le "
                "%(launch)s, hors de la période %(period)s (du %(start)s au %(end)s)."
            )
            % {
                "name": product.name,
                "partner": product.report.partner.code,
                "project": product.project.code,
                "launch": product.launch_date.isoformat(),
                "period": period.label,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            },
            subject=f"product:{product.pk}",
            report_id=product.report_id,
        )


def _totals_by_partner(model, periods, programme_id, **sums):
    """{(period_id, partner_id): {name: sum}}: one aggregate query over one fact table."""
    rows = (
        model.objects.filter(report__period__in=periods, project__programme_id=programme_id)
        .values("report__period_id", "report__partner_id")
        .annotate(**{name: Sum(field) for name, field in sums.items()})
        .order_by()
    )
    return {
        (row["report__period_id"], row["report__partner_id"]): {name: row[name] for name in sums}
        for row in rows
    }


def change_from_last_year(period, *, today=None):
    """A partner's total investment or jobs changing by more than the set share from last year."""
    last = period.previous()
    if last is None:
        return
    share = change_share()
    periods = [period.pk, last.pk]
    # One aggregate per fact table: a sum across two reverse joins would multiply rows.
    money_totals = _totals_by_partner(InvestmentLine, periods, period.programme_id, amount="amount")
    job_totals = _totals_by_partner(
        JobLine, periods, period.programme_id, direct="direct", indirect="indirect"
    )
    # Compared only when the partner has a report in both periods.
    reports = Report.objects.filter(
        period=period, partner_id__in=Report.objects.filter(period=last).values("partner_id")
    ).select_related("partner")
    for report in reports:
        changes = []
        before = money_totals.get((last.pk, report.partner_id), {}).get("amount") or 0
        now = money_totals.get((period.pk, report.partner_id), {}).get("amount") or 0
        before, now = round_money(before), round_money(now)
        if before > 0 and abs(now - before) > share * before:
            changes.append(
                _("investissement de %(before)s à %(now)s (%(change)s)")
                % {
                    "before": money(before),
                    "now": money(now),
                    "change": percent((now - before) * 100 / before),
                }
            )
        jobs_before = job_totals.get((last.pk, report.partner_id), {})
        jobs_now = job_totals.get((period.pk, report.partner_id), {})
        before = (jobs_before.get("direct") or 0) + (jobs_before.get("indirect") or 0)
        now = (jobs_now.get("direct") or 0) + (jobs_now.get("indirect") or 0)
        if before > 0 and abs(now - before) > share * before:
            changes.append(
                _("emplois de %(before)s à %(now)s (%(change)s)")
                % {
                    "before": before,
                    "now": now,
                    "change": percent(Decimal(now - before) * 100 / before),
                }
            )
        if changes:
            yield Finding(
                code=CHANGE_FROM_LAST_YEAR,
                message=_(
                    "Les chiffres de %(partner)s changent de plus de %(share)s par rapport à "
                    "%(last)s : %(changes)s."
                )
                % {
                    "partner": report.partner.code,
                    "share": share_percent(share),
                    "last": last.label,
                    "changes": " ; ".join(changes),
                },
                subject=f"report:{report.pk}",
                report_id=report.pk,
            )


def amount_over_threshold(period, *, today=None):
    """Investment lines whose amount exceeds the set threshold."""
    threshold = amount_threshold()
    for line in _period_lines(InvestmentLine, period).filter(amount__gt=threshold):
        yield Finding(
            code=AMOUNT_OVER_THRESHOLD,
            message=_(
                "La ligne d'investissement de %(partner)s sur le projet %(project)s "
                "(%(category)s, %(performer)s) s'élève à %(amount)s, au-delà du seuil de "
                "%(threshold)s."
            )
            % {
                "partner": line.report.partner.code,
                "project": line.project.code,
                "category": line.get_category_display(),
                "performer": line.get_performer_display(),
                "amount": money(line.amount),
                "threshold": money(threshold),
            },
            subject=f"investment:{line.pk}",
            report_id=line.report_id,
        )


def project_without_lines(period, *, today=None):
    """Projects in progress during the period on which no report of the period has any line."""
    reported = [
        model.objects.filter(report__period=period).values("project_id")
        for _kind, model in LINE_KINDS
    ]
    silent = (
        Project.objects.in_progress_during(period)
        .exclude(pk__in=reported[0])
        .exclude(pk__in=reported[1])
        .exclude(pk__in=reported[2])
        .select_related("lead_partner")
    )
    for project in silent:
        yield Finding(
            code=PROJECT_WITHOUT_LINES,
            message=_(
                "Le projet %(project)s (partenaire principal : %(lead)s) est en cours pendant la "
                "période %(period)s, mais aucun de ses partenaires n'y déclare de ligne."
            )
            % {
                "project": project.code,
                "lead": project.lead_partner.code,
                "period": period.label,
            },
            subject=f"project:{project.pk}",
            report_id=None,
        )


# code -> (label, check): the order in which staff read them.
CHECKS = {
    DRAFT_AFTER_DEADLINE: (
        gettext_lazy("Rapport en brouillon après la date limite"),
        draft_after_deadline,
    ),
    LINE_NOT_IN_PROGRESS: (
        gettext_lazy("Ligne sur un projet qui n'est pas en cours"),
        line_not_in_progress,
    ),
    PRODUCT_OUTSIDE_PERIOD: (
        gettext_lazy("Produit lancé hors de la période"),
        product_outside_period,
    ),
    CHANGE_FROM_LAST_YEAR: (
        gettext_lazy("Forte variation par rapport à l'an dernier"),
        change_from_last_year,
    ),
    AMOUNT_OVER_THRESHOLD: (
        gettext_lazy("Montant au-delà du seuil"),
        amount_over_threshold,
    ),
    PROJECT_WITHOUT_LINES: (
        gettext_lazy("Projet en cours sans aucune ligne"),
        project_without_lines,
    ),
}


def _subject_order(subject):
    """`report:9` before `report:10`: numeric keys sort as numbers."""
    kind, _sep, key = subject.partition(":")
    return (kind, int(key) if key.isdigit() else 0, key)


def findings_for_period(period, *, today=None):
    """Every check's findings for the period, acknowledgements attached, by code then subject."""
    today = today or timezone.localdate()
    findings = [
        finding for _label, check in CHECKS.values() for finding in check(period, today=today)
    ]
    acknowledgements = {
        (ack.code, ack.subject): ack
        for ack in CheckAcknowledgement.objects.filter(period=period).select_related(
            "acknowledged_by"
        )
    }
    findings = [
        replace(finding, acknowledgement=acknowledgements.get((finding.code, finding.subject)))
        for finding in findings
    ]
    return sorted(findings, key=lambda f: (f.code, _subject_order(f.subject)))


def findings_for_report(report, *, today=None):
    """The period's findings about this report (project-wide findings, with no report, left out)."""
    return [
        finding
        for finding in findings_for_period(report.period, today=today)
        if finding.report_id == report.pk
    ]


@transaction.atomic
def acknowledge(*, period, code, subject, user, comment):
    """Record (or update) that staff looked at a finding; the comment says why it is fine."""
    comment = (comment or "").strip()
    if code not in CHECKS:
        raise ValidationError({"code": _("Vérification inconnue : %(code)s.") % {"code": code}})
    if not subject:
        raise ValidationError({"subject": _("Indiquez l'objet de l'avertissement.")})
    if not comment:
        raise ValidationError(
            {"comment": _("Un commentaire est requis pour prendre en compte un avertissement.")}
        )
    # The field rules (lengths) in French too; uniqueness is update_or_create's business.
    CheckAcknowledgement(
        period=period, code=code, subject=subject, comment=comment, acknowledged_by=user
    ).full_clean(validate_unique=False, validate_constraints=False)
    acknowledgement, _created = CheckAcknowledgement.objects.update_or_create(
        period=period,
        code=code,
        subject=subject,
        defaults={
            "comment": comment,
            "acknowledged_by": user,
            "acknowledged_at": timezone.now(),
        },
    )
    return acknowledgement
