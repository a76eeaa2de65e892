"""Publishing a period's highlights: a frozen snapshot, what changed since, what would change.

The public sees the latest publication, never the live rollup. Staff preview before publishing
(approved figures and what the still-submitted reports would add), see « changed since
publication » figure by figure with the reports responsible, and republish; every publication is
kept as the restatement history.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from portal.highlights import FIGURES, Highlights, compute
from portal.models import (
    InvestmentLine,
    JobLine,
    PeriodState,
    ProductLine,
    Publication,
    Report,
    ReportStatus,
    english_active,
)

# The keys that are figures (not the programme, period and dates that name them).
FIGURE_KEYS = [
    key
    for key, _fr, _en in FIGURES
    if key not in ("programme", "period", "start", "end", "provisional")
]
LABELS = {key: (label_fr, label_en) for key, label_fr, label_en in FIGURES}


def latest(period):
    """The period's current publication, or None."""
    return period.publications.order_by("-published_at", "-pk").first()


def published_highlights(publication):
    return Highlights.from_json(publication.figures)


@transaction.atomic
def publish(*, period, user, note=""):
    """Freeze the period's approved figures as its (new) publication."""
    if not user.has_perm("portal.publish_highlights"):
        raise PermissionDenied(_("Vous n'avez pas la permission de publier les faits saillants."))
    figures = compute(period)
    publication = Publication.objects.create(
        period=period,
        figures=figures.as_json(),
        approved_reports=Report.objects.filter(period=period, status=ReportStatus.APPROVED).count(),
        note=(note or "").strip(),
        published_by=user,
    )
    if period.state != PeriodState.PUBLISHED:
        period.state = PeriodState.PUBLISHED
        period.save(update_fields=["state"])
    return publication


@dataclass(frozen=True)
class FigureChange:
    key: str
    label_fr: str
    label_en: str
    published: object
    live: object

    @property
    def label(self):
        return self.label_en if english_active() else self.label_fr


def labelled(highlights):
    """(label in the active language, value) of every figure, values as in the JSON."""
    data = highlights.as_json()
    return [(LABELS[key][1 if english_active() else 0], data[key]) for key in FIGURE_KEYS]


def changes_since(publication, *, live=None):
    """Figures whose live (approved) value differs from the publication's, in FIGURES order."""
    live = live or compute(publication.period)
    published = publication.figures
    current = live.as_json()
    return [
        FigureChange(key, *LABELS[key], published.get(key), current[key])
        for key in FIGURE_KEYS
        if published.get(key) != current[key]
    ]


def reports_changed_since(publication):
    """Reports of the period whose status or lines changed after the publication."""
    after = publication.published_at
    period = publication.period
    changed = Q(pk__in=Report.history.filter(period=period, history_date__gt=after).values("id"))
    for model in (InvestmentLine, JobLine, ProductLine):
        changed |= Q(
            pk__in=model.history.filter(report__period=period, history_date__gt=after).values(
                "report_id"
            )
        )
    return (
        Report.objects.filter(changed, period=period)
        .select_related("partner")
        .order_by("partner__code")
    )


@dataclass(frozen=True)
class Preview:
    approved: Highlights
    provisional: Highlights
    submitted_reports: int

    def approved_figures(self):
        return labelled(self.approved)

    def additions(self):
        """(key, labels, approved value, value with the submitted reports) where they differ."""
        approved, provisional = self.approved.as_json(), self.provisional.as_json()
        return [
            FigureChange(key, *LABELS[key], approved[key], provisional[key])
            for key in FIGURE_KEYS
            if approved[key] != provisional[key]
        ]


def preview(period):
    return Preview(
        approved=compute(period),
        provisional=compute(period, provisional=True),
        submitted_reports=Report.objects.filter(
            period=period, status=ReportStatus.SUBMITTED
        ).count(),
    )
