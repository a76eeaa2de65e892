"""The highlights rollup: every figure of DESIGN.md's table, for one programme and period.

Read-side only. A constant number of SQL queries whatever the size of the data: one aggregate per
fact table (never a sum across two joins that would multiply rows), with `filter=` for variants.
Money is quantized half-up to the cent, since SQLite returns decimal sums built from floats.
"""

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum

from portal.models import (
    InvestmentLine,
    JobLine,
    Partner,
    PartnerKind,
    Performer,
    Period,
    ProductLine,
    Programme,
    Project,
    ProjectType,
)
from portal.numbers import round_money

SHARE_PLACES = Decimal("0.0001")

# Spending within Quebec SMEs or public research centres (DESIGN.md, `sme_research_spending`).
SME_RESEARCH_SPENDING = (
    Q(performer__in=[Performer.QUEBEC_SME, Performer.RESEARCH_CENTRE])
    | Q(performer=Performer.SELF, report__partner__kind=PartnerKind.RESEARCH_CENTRE)
    | Q(
        performer=Performer.SELF,
        report__partner__kind=PartnerKind.SME,
        report__partner__quebec=True,
    )
)

# Every key of the JSON output, in order, with its French and English label (CSV and XLSX rows).
FIGURES = [
    ("programme", "Programme", "Programme"),
    ("period", "Période", "Period"),
    ("start", "Début", "Start"),
    ("end", "Fin", "End"),
    (
        "provisional",
        "Provisoire (inclut les rapports soumis)",
        "Provisional (includes submitted reports)",
    ),
    ("projects_in_progress", "Projets en cours de réalisation", "Projects in progress"),
    (
        "collaborative_projects",
        "Projets collaboratifs de développement fondamental",
        "Collaborative fundamental projects",
    ),
    ("partners_involved", "Partenaires impliqués", "Partners involved"),
    ("partner_investment", "Investissements des partenaires ($)", "Partner investment ($)"),
    (
        "sme_research_spending",
        "Investis dans des PME québécoises et des centres de recherche publics ($)",
        "Spent within Quebec SMEs and public research centres ($)",
    ),
    ("jobs", "Emplois", "Jobs"),
    ("jobs_direct", "Emplois directs", "Direct jobs"),
    ("jobs_indirect", "Emplois indirects", "Indirect jobs"),
    ("new_products", "Nouveaux produits", "New products"),
    ("product_sectors", "Secteurs des nouveaux produits", "Sectors of the new products"),
    (
        "cumulative_partner_investment",
        "Investissements cumulés des partenaires ($)",
        "Cumulative partner investment ($)",
    ),
    (
        "cumulative_sme_research_share",
        "Part cumulée dans les PME québécoises et les centres de recherche",
        "Cumulative share within Quebec SMEs and research centres",
    ),
]


@dataclass(frozen=True)
class Highlights:
    programme: str
    period: str
    start: object
    end: object
    provisional: bool
    projects_in_progress: int
    collaborative_projects: int
    partners_involved: int
    partner_investment: Decimal
    sme_research_spending: Decimal
    jobs: int
    jobs_direct: int
    jobs_indirect: int
    new_products: int
    product_sectors: tuple
    cumulative_partner_investment: Decimal
    cumulative_sme_research_share: Decimal | None

    @classmethod
    def from_json(cls, data):
        """The highlights back from their JSON document (a publication's snapshot)."""
        import datetime

        values = dict(data)
        values["start"] = datetime.date.fromisoformat(data["start"])
        values["end"] = datetime.date.fromisoformat(data["end"])
        for key in ("partner_investment", "sme_research_spending", "cumulative_partner_investment"):
            values[key] = Decimal(data[key])
        share = data.get("cumulative_sme_research_share")
        values["cumulative_sme_research_share"] = None if share is None else Decimal(share)
        values["product_sectors"] = tuple(data["product_sectors"])
        return cls(**{key: values[key] for key in cls.__dataclass_fields__})

    def as_json(self):
        """The JSON document of `manage.py highlights`: money as 2-place strings, share 4 places."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        for key in ("partner_investment", "sme_research_spending", "cumulative_partner_investment"):
            data[key] = f"{data[key]:.2f}"
        share = self.cumulative_sme_research_share
        data["cumulative_sme_research_share"] = None if share is None else f"{share:.4f}"
        data["product_sectors"] = list(self.product_sectors)
        return data


class UnknownProgramme(LookupError):
    pass


class UnknownPeriod(LookupError):
    pass


def find_period(programme_code, period_label):
    """The period, its programme selected; UnknownProgramme / UnknownPeriod list what exists."""
    period = (
        Period.objects.select_related("programme")
        .filter(programme__code=programme_code, label=period_label)
        .first()
    )
    if period is not None:
        return period
    if not Programme.objects.filter(code=programme_code).exists():
        codes = list(Programme.objects.values_list("code", flat=True))
        raise UnknownProgramme(programme_code, codes)
    labels = list(
        Period.objects.filter(programme__code=programme_code).values_list("label", flat=True)
    )
    raise UnknownPeriod(period_label, labels)


# The drill-downs: which rows each figure is made of. compute() aggregates these same querysets.
PROJECTS = "projects"
PARTNERS = "partners"
INVESTMENTS = "investments"
SME_RESEARCH = "sme_research"
JOBS = "jobs"
PRODUCTS = "products"
CUMULATIVE_INVESTMENTS = "cumulative_investments"
DRILLDOWN_OF = {
    "projects_in_progress": PROJECTS,
    "collaborative_projects": PROJECTS,
    "partners_involved": PARTNERS,
    "partner_investment": INVESTMENTS,
    "sme_research_spending": SME_RESEARCH,
    "jobs": JOBS,
    "jobs_direct": JOBS,
    "jobs_indirect": JOBS,
    "new_products": PRODUCTS,
    "product_sectors": PRODUCTS,
    "cumulative_partner_investment": CUMULATIVE_INVESTMENTS,
}


def projects_in_progress(period):
    return Project.objects.in_progress_during(period)


def collaborative_projects(period):
    return projects_in_progress(period).filter(type=ProjectType.COLLABORATIVE_FUNDAMENTAL)


def partners_involved(period):
    return Partner.objects.participating_in(projects_in_progress(period))


def investment_lines(period, *, provisional=False):
    return InvestmentLine.objects.counted_in(period, provisional=provisional)


def sme_research_lines(period, *, provisional=False):
    return investment_lines(period, provisional=provisional).filter(SME_RESEARCH_SPENDING)


def cumulative_investment_lines(period, *, provisional=False):
    return InvestmentLine.objects.counted_through(period, provisional=provisional)


def job_lines(period, *, provisional=False):
    return JobLine.objects.counted_in(period, provisional=provisional)


def new_product_lines(period, *, provisional=False):
    return ProductLine.objects.counted_in(period, provisional=provisional).filter(
        uses_programme_technology=True,
        launch_date__gte=period.start,
        launch_date__lte=period.end,
    )


def figure_rows(period, drilldown, *, provisional=False):
    """The queryset of rows behind a drill-down (one of DRILLDOWN_OF's values)."""
    lines = {
        INVESTMENTS: investment_lines,
        SME_RESEARCH: sme_research_lines,
        CUMULATIVE_INVESTMENTS: cumulative_investment_lines,
        JOBS: job_lines,
        PRODUCTS: new_product_lines,
    }
    if drilldown == PROJECTS:
        return projects_in_progress(period)
    if drilldown == PARTNERS:
        return partners_involved(period)
    return lines[drilldown](period, provisional=provisional)


def compute(period, *, provisional=False):
    """The highlights of `period` (its programme selected): five aggregate queries."""
    projects = projects_in_progress(period)
    project_counts = projects.aggregate(
        total=Count("pk"),
        collaborative=Count("pk", filter=Q(type=ProjectType.COLLABORATIVE_FUNDAMENTAL)),
    )
    partner_count = partners_involved(period).count()

    # Money is a flow: this period's figures and the cumulative ones come from one scan of the
    # lines of every period ending by this one.
    this_period = Q(report__period=period)
    money = cumulative_investment_lines(period, provisional=provisional).aggregate(
        investment=Sum("amount", filter=this_period, default=Decimal(0)),
        sme_research=Sum("amount", filter=this_period & SME_RESEARCH_SPENDING, default=Decimal(0)),
        cumulative=Sum("amount", default=Decimal(0)),
        cumulative_sme_research=Sum("amount", filter=SME_RESEARCH_SPENDING, default=Decimal(0)),
    )

    # Jobs are a stock: this period only, never added across periods.
    jobs = job_lines(period, provisional=provisional).aggregate(
        direct=Sum("direct", default=0), indirect=Sum("indirect", default=0)
    )

    products_by_sector = list(
        new_product_lines(period, provisional=provisional)
        .values("sector__code")
        .annotate(count=Count("pk"))
        .order_by("sector__code")
    )

    cumulative = round_money(money["cumulative"])
    cumulative_sme = round_money(money["cumulative_sme_research"])
    return Highlights(
        programme=period.programme.code,
        period=period.label,
        start=period.start,
        end=period.end,
        provisional=provisional,
        projects_in_progress=project_counts["total"],
        collaborative_projects=project_counts["collaborative"],
        partners_involved=partner_count,
        partner_investment=round_money(money["investment"]),
        sme_research_spending=round_money(money["sme_research"]),
        jobs=jobs["direct"] + jobs["indirect"],
        jobs_direct=jobs["direct"],
        jobs_indirect=jobs["indirect"],
        new_products=sum(row["count"] for row in products_by_sector),
        product_sectors=tuple(row["sector__code"] for row in products_by_sector),
        cumulative_partner_investment=cumulative,
        cumulative_sme_research_share=(
            (cumulative_sme / cumulative).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP)
            if cumulative
            else None
        ),
    )


@dataclass(frozen=True)
class Contribution:
    """What one partner's approved lines add to a period's figures."""

    projects_in_progress: int
    partner_investment: Decimal
    sme_research_spending: Decimal
    jobs: int
    jobs_direct: int
    jobs_indirect: int
    new_products: int


def contribution(period, partner):
    """The partner's part of each figure, from the very querysets the figures are made of."""
    mine = Q(report__partner=partner)
    money = (
        investment_lines(period)
        .filter(mine)
        .aggregate(
            investment=Sum("amount", default=Decimal(0)),
            sme_research=Sum("amount", filter=SME_RESEARCH_SPENDING, default=Decimal(0)),
        )
    )
    jobs = (
        job_lines(period)
        .filter(mine)
        .aggregate(direct=Sum("direct", default=0), indirect=Sum("indirect", default=0))
    )
    return Contribution(
        projects_in_progress=projects_in_progress(period).with_participant(partner).count(),
        partner_investment=round_money(money["investment"]),
        sme_research_spending=round_money(money["sme_research"]),
        jobs=jobs["direct"] + jobs["indirect"],
        jobs_direct=jobs["direct"],
        jobs_indirect=jobs["indirect"],
        new_products=new_product_lines(period).filter(mine).count(),
    )


def highlights_for(programme_code, period_label, *, provisional=False):
    return compute(find_period(programme_code, period_label), provisional=provisional)
