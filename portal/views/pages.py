"""The highlights as people read them: the yearly one-pager and the programme's progress.

Who sees what is `portal.access`'s rule; the figures come from `portal.highlights` (a publication's
snapshot or the live rollup); this module only arranges them for the templates, and draws the
programme's chart as inline SVG.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from portal import access
from portal import publication as publishing
from portal.highlights import DRILLDOWN_OF, compute
from portal.models import Period, Publication, Sector
from portal.templatetags import psm_format

EXPORT_FORMATS = [("pdf", "PDF"), ("csv", "CSV"), ("xlsx", "XLSX"), ("json", "JSON")]


@dataclass(frozen=True)
class Tile:
    key: str
    value: object
    label: str
    money: bool  # written in millions (« 39,3 M$ ») rather than as a count
    drilldown_url: str | None  # staff only


@dataclass(frozen=True)
class Progress:
    label: str
    value: str
    target: str
    share: Decimal  # the fraction of the target reached, unbounded
    width: str  # the bar's CSS width in percent, 0 to 100


def tile_labels():
    """The one-pager's figures in its order, with the labels the published page gives them."""
    return [
        ("projects_in_progress", _("Projets numériques en cours de réalisation"), False),
        ("partner_investment", _("En investissements par les partenaires"), True),
        (
            "partners_involved",
            _("Partenaires impliqués dans le développement de produits numériques"),
            False,
        ),
        ("collaborative_projects", _("Projets collaboratifs de développement fondamental"), False),
        (
            "sme_research_spending",
            _("Investis dans des centres de recherche publics et dans les PME québécoises"),
            True,
        ),
        ("new_products", _("Nouveaux produits"), False),
        ("jobs", _("Emplois"), False),
    ]


def _ratio(value, target):
    return (Decimal(value) / Decimal(target)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def progress_bars(programme, highlights):
    """Progress toward the programme's targets; a target left empty has no bar."""
    bars = []
    if programme.investment_target:
        bars.append(
            _bar(
                _("Investissements cumulés des partenaires"),
                highlights.cumulative_partner_investment,
                programme.investment_target,
                psm_format.money_millions,
            )
        )
    if programme.jobs_target:
        bars.append(_bar(_("Emplois"), highlights.jobs, programme.jobs_target, psm_format.integer))
    share = highlights.cumulative_sme_research_share
    if programme.sme_research_share_target and share is not None:
        bars.append(
            _bar(
                _("Part cumulée dans les PME québécoises et les centres de recherche"),
                share,
                programme.sme_research_share_target,
                psm_format.percent,
            )
        )
    return bars


def _bar(label, value, target, written):
    share = _ratio(value, target)
    width = min(share * 100, Decimal(100)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return Progress(label, written(value), written(target), share, f"{width:f}")


def footnote(period):
    """The sentence the published page ends with, from the period-wide extension (if any)."""
    extension = period.period_extension
    if extension is None:
        return ""
    return _(
        "La cueillette des données a exceptionnellement bénéficié d'une extension jusqu'au "
        "%(date)s, %(because)s."
    ) % {
        "date": psm_format.long_date(extension.new_deadline),
        "because": psm_format.because(extension.reason),
    }


def sectors_named(codes):
    """The sectors of `codes` in their order (names follow the active language)."""
    by_code = {sector.code: sector for sector in Sector.objects.filter(code__in=codes)}
    return [by_code[code] for code in codes if code in by_code]


def objectives(programme):
    """The programme's objectives, written one after the other with « ; » between them."""
    parts = (part.strip() for part in programme.objectives.split(";"))
    return [part[0].upper() + part[1:] for part in parts if part]


def page_context(request, visible):
    """Everything `highlights/page.html` needs (the page, and the PDF through render_to_string)."""
    period, figures = visible.period, visible.highlights
    programme = period.programme
    names = {"programme": programme.code, "period": period.label}
    tiles = [
        Tile(
            key,
            getattr(figures, key),
            label,
            money,
            reverse("highlights-drilldown", kwargs={**names, "figure": DRILLDOWN_OF[key]})
            if visible.staff and key in DRILLDOWN_OF
            else None,
        )
        for key, label, money in tile_labels()
    ]
    # Oldest first: the first is « publié le », the others « révisé le ».
    history = list(period.publications.order_by("published_at", "pk"))
    exports = []
    if visible.publication is not None or visible.staff:
        # The files say what the page says: the live figures when the page shows them.
        version = "?version=live" if visible.live and history else ""
        exports = [
            (label, reverse("highlights-export", kwargs={**names, "format": fmt}) + version)
            for fmt, label in EXPORT_FORMATS
        ]
    return {
        "visible": visible,
        "period": period,
        "programme": programme,
        "highlights": figures,
        "tiles": tiles,
        "sectors": sectors_named(figures.product_sectors),
        "progress": progress_bars(programme, figures),
        "footnote": footnote(period),
        "objectives": objectives(programme),
        "publication": visible.publication,
        "first_publication": history[0] if history else None,
        "revisions": history[1:],
        "has_publication": bool(history),
        "exports": exports,
        "page_url": reverse("highlights", kwargs=names),
        "programme_url": reverse("highlights-programme", kwargs={"programme": programme.code}),
    }


@login_not_required
def highlights_page(request, programme, period):
    visible = access.visible_highlights(
        request, programme, period, live=request.GET.get("version") == "live"
    )
    return render(request, "highlights/page.html", page_context(request, visible))


@dataclass(frozen=True)
class Column:
    """One period of the programme page: its figures, published or (staff only) provisional."""

    period: Period
    highlights: object
    publication: Publication | None
    url: str

    @property
    def provisional(self):
        return self.publication is None


def programme_columns(programme, *, staff):
    """Every period the viewer may see, oldest first: published ones from their latest
    publication, the others (staff only) from the live rollup."""
    periods = Period.objects.filter(programme=programme).prefetch_related(
        Prefetch(
            "publications",
            queryset=Publication.objects.order_by("-published_at", "-pk"),
            to_attr="newest_first",
        )
    )
    columns = []
    for period in periods.order_by("start"):
        period.programme = programme
        latest = period.newest_first[0] if period.newest_first else None
        if latest is not None:
            figures = publishing.published_highlights(latest)
        elif staff:
            figures = compute(period)
        else:
            continue
        url = reverse("highlights", kwargs={"programme": programme.code, "period": period.label})
        columns.append(Column(period, figures, latest, url))
    return columns


def programme_rows(columns):
    """The table: one row per figure, one cell per period."""
    rows = [
        (label, [getattr(column.highlights, key) for column in columns], money)
        for key, label, money in tile_labels()
    ]
    rows.append(
        (
            _("Investissements cumulés des partenaires"),
            [column.highlights.cumulative_partner_investment for column in columns],
            True,
        )
    )
    return rows


def chart_svg(columns, target):
    """Bars of each period's partner investment and a line of the cumulative investment, against
    the investment target (dashed), as inline SVG."""
    if not columns:
        return ""
    width, height = 640, 260
    left, right, top, bottom = 64, 16, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    annual = [column.highlights.partner_investment for column in columns]
    cumulative = [column.highlights.cumulative_partner_investment for column in columns]
    ceiling = max([*cumulative, *annual, target or 0, Decimal(1)])
    # A round top for the axis: four steps of 1, 2 or 5 × 10ⁿ dollars.
    step = _nice_step(ceiling / 4)
    top_value = (ceiling / step).to_integral_value(rounding=ROUND_CEILING) * step

    def y(amount):
        return top + plot_h - float(Decimal(amount) / top_value) * plot_h

    def n(number):
        return f"{number:.1f}"

    slot = plot_w / len(columns)
    bar = min(64.0, slot * 0.55)
    parts = []
    for i in range(int(top_value / step) + 1):
        level = y(step * i)
        parts.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                width - right,
                n(level),
                n(level),
                left - 8,
                n(level + 4),
                psm_format.money_millions(step * i, 0),
            )
        )
    points = []
    for i, column in enumerate(columns):
        centre = left + slot * (i + 0.5)
        # The amount inside a bar tall enough for it, else above (clear of the cumulative line).
        inside = top + plot_h - y(annual[i]) > 24
        parts.append(
            format_html(
                '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{} : {}</title></rect>'
                '<text class="{}" x="{}" y="{}" text-anchor="middle">{}</text>'
                '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>',
                "chart-bar provisional" if column.provisional else "chart-bar",
                n(centre - bar / 2),
                n(y(annual[i])),
                n(bar),
                n(top + plot_h - y(annual[i])),
                column.period.label,
                psm_format.money_millions(annual[i]),
                "value inside" if inside else "value",
                n(centre),
                n(y(annual[i]) + 17 if inside else y(annual[i]) - 6),
                psm_format.money_millions(annual[i]),
                n(centre),
                height - bottom + 20,
                column.period.label,
            )
        )
        points.append((n(centre), n(y(cumulative[i]))))
    if target:
        parts.append(
            format_html(
                '<line class="target" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="target-label" x="{}" y="{}" text-anchor="end">{} {}</text>',
                left,
                width - right,
                n(y(target)),
                n(y(target)),
                width - right,
                n(y(target) - 6),
                _("Cible"),
                psm_format.money_millions(target),
            )
        )
    parts.append(
        format_html(
            '<polyline class="cumulative" points="{}"/>',
            " ".join(f"{x},{yy}" for x, yy in points),
        )
    )
    parts.append(
        format_html_join("", '<circle class="cumulative-point" cx="{}" cy="{}" r="4"/>', points)
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="chart-title">'
        '<title id="chart-title">{}</title>{}</svg>',
        width,
        height,
        _("Investissements des partenaires par période et cumul, par rapport à la cible"),
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def _nice_step(rough):
    """The smallest of 1, 2, 5 × 10ⁿ that is at least `rough`."""
    rough = max(Decimal(rough), Decimal(1))
    magnitude = Decimal(10) ** (len(str(int(rough))) - 1)
    for factor in (1, 2, 5, 10):
        if magnitude * factor >= rough:
            return magnitude * factor
    return magnitude * 10


@login_not_required
def programme_page(request, programme):
    found = access.visible_programme(request, programme)
    staff = access.is_staff_viewer(request.user)
    columns = programme_columns(found, staff=staff)
    latest = columns[-1].highlights if columns else None
    return render(
        request,
        "highlights/programme.html",
        {
            "programme": found,
            "columns": columns,
            "rows": programme_rows(columns),
            "chart": chart_svg(columns, found.investment_target),
            "progress": progress_bars(found, latest) if latest else [],
            "latest": columns[-1] if columns else None,
            "staff": staff,
        },
    )
