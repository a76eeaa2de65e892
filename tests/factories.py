"""Small builders for test data: each returns a saved object with plausible defaults."""

import datetime
from decimal import Decimal

from portal.models import (
    InvestmentLine,
    JobLine,
    Participation,
    Partner,
    PartnerKind,
    Period,
    ProductLine,
    Programme,
    Project,
    ProjectStatus,
    ProjectType,
    Report,
    ReportStatus,
    Sector,
)

D = datetime.date


def programme(code="PSM-NUM", **kwargs):
    defaults = {
        "name": "Le numérique de demain",
        "funder": "Ministère",
        "government_aid": Decimal("26750000"),
        "investment_target": Decimal("160500000"),
        "jobs_target": 500,
        "sme_research_share_target": Decimal("0.15"),
        "start": D(2019, 4, 1),
        "end": D(2022, 3, 31),
    }
    return Programme.objects.create(code=code, **{**defaults, **kwargs})


def period(prog, label="2019-2020", **kwargs):
    first = int(label[:4])
    defaults = {
        "start": D(first, 4, 1),
        "end": D(first + 1, 3, 31),
        "deadline": D(first + 1, 5, 31),
    }
    return Period.objects.create(programme=prog, label=label, **{**defaults, **kwargs})


def sector(code="AUTO", name_fr="Automobile", name_en="Automotive"):
    return Sector.objects.get_or_create(
        code=code, defaults={"name_fr": name_fr, "name_en": name_en}
    )[0]


def partner(code, kind=PartnerKind.LARGE_ENTERPRISE, quebec=True, name=None):
    return Partner.objects.create(
        code=code, name=name or f"Partenaire {code}", kind=kind, quebec=quebec
    )


def project(prog, code, lead, *, participants=(), **kwargs):
    defaults = {
        "title": f"Projet {code}",
        "type": ProjectType.PRODUCT_DEVELOPMENT,
        "objective": "Objectif",
        "sector": sector(),
        "start": D(2019, 1, 1),
        "end": None,
        "status": ProjectStatus.ACTIVE,
    }
    created = Project.objects.create(
        programme=prog, code=code, lead_partner=lead, **{**defaults, **kwargs}
    )
    for other in participants:
        Participation.objects.create(project=created, partner=other, role="participant")
    return created


def report(partner_, period_, status=ReportStatus.APPROVED, comment=""):
    if status == ReportStatus.RETURNED and not comment:
        comment = "À corriger"
    return Report.objects.create(partner=partner_, period=period_, status=status, comment=comment)


def investment(report_, project_, amount, category="labour", performer="self"):
    return InvestmentLine.objects.create(
        report=report_,
        project=project_,
        amount=Decimal(str(amount)),
        category=category,
        performer=performer,
    )


def jobs(report_, project_, direct, indirect=0):
    return JobLine.objects.create(
        report=report_, project=project_, direct=direct, indirect=indirect
    )


def product(report_, project_, name, launch_date, sector_=None, uses_programme_technology=True):
    return ProductLine.objects.create(
        report=report_,
        project=project_,
        name=name,
        sector=sector_ or sector(),
        launch_date=launch_date,
        uses_programme_technology=uses_programme_technology,
    )
