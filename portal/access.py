"""Who sees which highlights: the one rule every highlights page, export and API follows.

- A published period: anyone sees its latest publication (the frozen snapshot).
- Staff (who may view reports) also see the live figures, marked « provisoire », published or not.
- An unpublished period, for anyone else (the public, partner users): 404.
- Drill-downs (the rows behind a figure) are for staff only, always.
"""

from dataclasses import dataclass

from django.http import Http404

from portal import publication as publishing
from portal.highlights import Highlights, compute
from portal.models import Period, Programme, Publication


def is_staff_viewer(user):
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("portal.view_report")
        and not user.partners.exists()
    )


@dataclass(frozen=True)
class Visible:
    period: Period
    highlights: Highlights
    publication: Publication | None  # what is shown, when it is a publication
    live: bool  # the live rollup (provisional for the public record)
    staff: bool


def visible_programme(request, programme_code):
    try:
        return Programme.objects.get(code=programme_code)
    except Programme.DoesNotExist:
        raise Http404 from None


def visible_highlights(request, programme_code, period_label, *, live=None):
    """The highlights this request may see, or Http404. Staff get the live figures when they ask
    (`live=True`) or when nothing is published; everyone else only the latest publication."""
    period = (
        Period.objects.select_related("programme")
        .prefetch_related("extensions")
        .filter(programme__code=programme_code, label=period_label)
        .first()
    )
    if period is None:
        raise Http404
    staff = is_staff_viewer(request.user)
    current = publishing.latest(period)
    if current is not None and not (staff and live):
        return Visible(period, publishing.published_highlights(current), current, False, staff)
    if not staff:
        raise Http404
    return Visible(period, compute(period), None, True, staff)


def require_staff(request):
    if not is_staff_viewer(request.user):
        raise Http404
