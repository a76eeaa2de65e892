"""The demo data of `manage.py load_demo`, built in code as rows of the data contract (DESIGN.md).

Two fictional programmes, imported through the same resources as any file, in one transaction:

- « Le numérique de demain » (PSM-NUM, 2019-2020 to 2021-2022), whose approved 2019-2020 reports
  give exactly the published highlights (46 projects in progress, 9 collaborative, 17 partners,
  474 jobs, 39,3 M$ invested, 5,9 M$ within Quebec SMEs and research centres, 6 new products in
  3 sectors), next to distractors the definitions must exclude: a planned project, a cancelled
  one, projects starting later, products launched outside the period or without programme
  technology, a report still submitted;
- « Intelligence artificielle appliquée » (PSM-IA), whose last complete fiscal year is being
  collected today: the demo partner has a draft to fill in, staff have reports to review. Its
  first year shares the label 2021-2022 with PSM-NUM.

Each year states its approved totals; they are split among the report lines by weights drawn
from a generator seeded with the programme and the period, so the data is the same on every run.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import tablib
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from portal import publication
from portal.imports import import_dataset
from portal.models import (
    Extension,
    InvestmentCategory,
    Partner,
    PartnerKind,
    Performer,
    Period,
    PeriodState,
    Programme,
    ProjectStatus,
    ProjectType,
    ReportStatus,
)
from portal.resources import RESOURCES

D = datetime.date
NUM = "PSM-NUM"
IA = "PSM-IA"
MINISTRY = "Ministère de l'Économie et de l'Innovation"

# Fixed, documented demo accounts: the command refuses to run when DEBUG is off unless forced.
STAFF_USERNAME, STAFF_PASSWORD = "personnel", "demo-personnel"
PARTNER_USERNAME, PARTNER_PASSWORD = "partenaire", "demo-partenaire"
DEMO_PARTNER = "LOGCAP"  # the partner user's organisation: in both programmes

LE, SME, RC, OTHER = (
    PartnerKind.LARGE_ENTERPRISE,
    PartnerKind.SME,
    PartnerKind.RESEARCH_CENTRE,
    PartnerKind.OTHER,
)
PD, CF = ProjectType.PRODUCT_DEVELOPMENT, ProjectType.COLLABORATIVE_FUNDAMENTAL

SECTORS = [
    ("AERO", "Aérospatiale", "Aerospace"),
    ("AUTO", "Automobile", "Automotive"),
    ("COMM", "Communications et informations", "Communications and information"),
    ("ENER", "Énergie", "Energy"),
    ("FIN", "Services financiers", "Financial services"),
    ("MANUF", "Fabrication avancée", "Advanced manufacturing"),
    ("SANTE", "Sciences de la vie et santé", "Life sciences and health"),
]

# code, name, kind, based in Quebec
PARTNERS = [
    ("AEROSTL", "Aéro Saint-Laurent inc.", LE, True),
    ("AUTONOVA", "Autonova Mobilité inc.", LE, True),
    ("BIOMEDIA", "Biomédia Santé ltée", LE, True),
    ("HYDROVOLT", "Hydrovolt Énergie inc.", LE, True),
    ("TELBOREAL", "Télécom Boréal inc.", LE, True),
    ("ASSHC", "Assurances Haute-Côte inc.", LE, True),
    ("CAPTOUT", "Capteurs Outaouais inc.", SME, True),
    ("DONFLEUVE", "Données Fleuve inc.", SME, True),
    ("LOGCAP", "Logiciels Capitale inc.", SME, True),
    ("ROBMAUR", "Robotique Mauricie inc.", SME, True),
    ("SANTECON", "Santé connectée Saguenay inc.", SME, True),
    ("VISESTRIE", "Vision Estrie inc.", SME, True),
    ("ALGOMONT", "Algorithmes Montérégie inc.", SME, True),
    ("BATLAN", "Batteries Lanaudière inc.", SME, True),  # only in the cancelled project
    ("MOBLAVAL", "Mobilité urbaine Laval inc.", SME, True),  # joins in 2020-2021
    ("PLASTBF", "Plasturgie Bois-Francs inc.", SME, True),  # only in the planned project
    ("NORDANALYT", "Analytique Nordique ltée", SME, False),  # in Ottawa: not a Quebec SME
    ("CRNA", "Centre de recherche en numérique appliqué", RC, True),
    ("IRSN", "Institut de recherche en santé numérique", RC, True),
    ("CCTFI", "Centre collégial de transfert en fabrication intelligente", RC, True),
    ("LPET", "Laboratoire public d'électronique et de télécommunications", RC, True),
    ("IQIAA", "Institut québécois d'intelligence artificielle appliquée", RC, True),
    ("GRAPPENUM", "Grappe des technologies numériques du Québec", OTHER, True),
]
PARTNER_BY_CODE = {code: (kind, quebec) for code, _name, kind, quebec in PARTNERS}


# --- The shapes of the data ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectSpec:
    code: str
    title: str
    type: str
    objective: str
    sector: str
    lead: str
    participants: tuple
    start: datetime.date
    end: datetime.date | None
    status: str

    @property
    def partners(self):
        return (self.lead, *self.participants)

    def in_progress(self, start, end):
        """The rule of `ProjectQuerySet.in_progress_during`, to know who reports on what."""
        return (
            self.status in (ProjectStatus.ACTIVE, ProjectStatus.COMPLETED)
            and self.start <= end
            and (self.end is None or self.end >= start)
        )


@dataclass(frozen=True)
class Pending:
    """A report not (yet) approved, with what its lines add up to."""

    partner: str
    status: str
    investment: Decimal
    jobs: tuple = (0, 0)
    comment: str = ""


@dataclass(frozen=True)
class Year:
    """A fiscal year and the totals of its approved reports (split among their lines)."""

    label: str
    deadline: datetime.date
    state: str
    investment: Decimal
    sme_research: Decimal  # the part of `investment` within Quebec SMEs and research centres
    jobs: tuple  # direct, indirect
    pending: tuple = ()
    extended_deadline: datetime.date | None = None
    extension_reason: str = ""

    @property
    def start(self):
        return D(int(self.label[:4]), 4, 1)

    @property
    def end(self):
        return D(int(self.label[:4]) + 1, 3, 31)


@dataclass(frozen=True)
class ProductSpec:
    period: str
    partner: str
    name: str
    sector: str
    launch_date: datetime.date
    uses_programme_technology: bool = True


@dataclass(frozen=True)
class ProgrammeSpec:
    code: str
    name: str
    name_en: str
    government_aid: Decimal
    investment_target: Decimal
    jobs_target: int
    sme_research_share_target: Decimal
    start: datetime.date
    end: datetime.date
    objectives: str
    years: list
    projects: list
    products: list = field(default_factory=list)


# --- Le numérique de demain (PSM-NUM) ------------------------------------------------------------

NUM_OBJECTIVES = (
    "Accélérer la commercialisation de solutions numériques issues de la recherche québécoise ; "
    "soutenir le développement de solutions numériques innovantes par des consortiums "
    "d'entreprises et de centres de recherche publics ; contribuer à la transformation "
    "économique du Québec par l'adoption du numérique dans l'automobile, les communications, la "
    "santé, l'aérospatiale, l'énergie et la fabrication."
)

NUM_YEARS = [
    Year(
        "2019-2020",
        deadline=D(2020, 6, 30),
        extended_deadline=D(2020, 8, 31),
        extension_reason="COVID-19",
        state=PeriodState.PUBLISHED,
        investment=Decimal("39286412.50"),
        sme_research=Decimal("5912345.67"),
        jobs=(312, 162),
        pending=(Pending("DONFLEUVE", ReportStatus.SUBMITTED, Decimal("1184250.00"), (14, 6)),),
    ),
    Year(
        "2020-2021",
        deadline=D(2021, 6, 30),
        state=PeriodState.PUBLISHED,
        investment=Decimal("51734208.90"),
        sme_research=Decimal("8140337.15"),
        jobs=(351, 187),
        pending=(
            Pending(
                "NORDANALYT",
                ReportStatus.RETURNED,
                Decimal("642300.00"),
                (9, 3),
                comment="Les dépenses de sous-traitance doivent être ventilées par exécutant ; "
                "merci de corriger et de soumettre de nouveau.",
            ),
        ),
    ),
    Year(
        "2021-2022",
        deadline=D(2022, 6, 30),
        state=PeriodState.CLOSED,
        investment=Decimal("55417906.35"),
        sme_research=Decimal("8903580.42"),
        jobs=(368, 196),
        pending=(
            Pending("VISESTRIE", ReportStatus.SUBMITTED, Decimal("2215870.40"), (22, 9)),
            Pending("SANTECON", ReportStatus.SUBMITTED, Decimal("1468900.00"), (15, 7)),
            Pending("MOBLAVAL", ReportStatus.DRAFT, Decimal("318000.00")),
        ),
    ),
]

NUM_SECTORS = ("AUTO", "COMM", "SANTE", "AERO", "ENER", "MANUF")
# Leads of product-development projects, and public research centres, of each sector, in turn.
NUM_LEADS = {
    "AUTO": ("AUTONOVA", "CAPTOUT", "VISESTRIE"),
    "COMM": ("TELBOREAL", "LOGCAP", "DONFLEUVE", "NORDANALYT"),
    "SANTE": ("BIOMEDIA", "SANTECON"),
    "AERO": ("AEROSTL",),
    "ENER": ("HYDROVOLT", "NORDANALYT"),
    "MANUF": ("ROBMAUR", "VISESTRIE"),
}
NUM_CENTRES = {
    "AUTO": ("CCTFI", "CRNA"),
    "COMM": ("LPET", "CRNA"),
    "SANTE": ("IRSN", "CRNA"),
    "AERO": ("CCTFI", "LPET"),
    "ENER": ("LPET", "CRNA"),
    "MANUF": ("CCTFI", "CRNA"),
}
# Quebec SMEs that join large enterprises' projects as suppliers.
NUM_SUPPLIERS = ("CAPTOUT", "DONFLEUVE", "ROBMAUR", "SANTECON", "VISESTRIE", "LOGCAP")

# (title, topic) of a technology; applications of each sector.
TECHNOLOGIES = [
    ("Vision par ordinateur", "la vision par ordinateur"),
    ("Jumeaux numériques", "les jumeaux numériques"),
    ("Apprentissage automatique", "l'apprentissage automatique"),
    ("Capteurs connectés", "les capteurs connectés"),
    ("Plateforme infonuagique", "l'infonuagique"),
    ("Cybersécurité", "la cybersécurité"),
    ("Réalité augmentée", "la réalité augmentée"),
    ("Analyse prédictive", "l'analyse prédictive"),
    ("Réseaux 5G privés", "les réseaux 5G privés"),
]
APPLICATIONS = {
    "AUTO": (
        "l'inspection des pièces automobiles",
        "la conduite assistée",
        "la recharge des véhicules électriques",
        "la gestion de flottes",
    ),
    "COMM": (
        "les réseaux de télécommunication",
        "la protection des données d'entreprise",
        "les services numériques aux citoyens",
        "les centres de données",
    ),
    "SANTE": (
        "le suivi des patients à domicile",
        "le diagnostic par imagerie",
        "la gestion des blocs opératoires",
        "la découverte de médicaments",
    ),
    "AERO": (
        "la maintenance des aéronefs",
        "la fabrication de composites",
        "les essais en vol",
        "l'assemblage des fuselages",
    ),
    "ENER": (
        "les réseaux électriques intelligents",
        "le stockage d'énergie",
        "l'efficacité énergétique des bâtiments",
        "la production hydroélectrique",
    ),
    "MANUF": (
        "les usines intelligentes",
        "la robotique collaborative",
        "le contrôle de la qualité",
        "la traçabilité des pièces",
    ),
}

# Projects started after 2019-2020: sector, type, lead, participants, start.
NUM_LATER_PROJECTS = [
    ("AUTO", PD, "MOBLAVAL", ("CCTFI",), D(2020, 6, 1)),
    ("COMM", PD, "TELBOREAL", ("LPET", "DONFLEUVE"), D(2020, 6, 15)),
    ("SANTE", CF, "IRSN", ("CRNA", "BIOMEDIA", "SANTECON"), D(2020, 7, 6)),
    ("AERO", PD, "AEROSTL", ("CCTFI", "ROBMAUR"), D(2020, 9, 8)),
    ("ENER", PD, "HYDROVOLT", ("LPET",), D(2020, 10, 5)),
    ("MANUF", PD, "ROBMAUR", ("CCTFI",), D(2020, 11, 2)),
    ("AUTO", PD, "AUTONOVA", ("CRNA", "MOBLAVAL"), D(2021, 1, 11)),
    ("COMM", CF, "LPET", ("CRNA", "LOGCAP", "GRAPPENUM"), D(2021, 2, 1)),
    ("SANTE", PD, "SANTECON", ("IRSN",), D(2021, 4, 12)),
    ("MANUF", PD, "VISESTRIE", ("CRNA",), D(2021, 5, 3)),
    ("AUTO", PD, "CAPTOUT", ("CCTFI",), D(2021, 6, 7)),
    ("COMM", PD, "LOGCAP", ("LPET",), D(2021, 8, 30)),
    ("ENER", CF, "CRNA", ("LPET", "HYDROVOLT", "GRAPPENUM"), D(2021, 9, 13)),
]

NUM_PRODUCTS = [
    # The six new products of 2019-2020, in three sectors.
    ProductSpec("2019-2020", "AUTONOVA", "Module de vision nocturne Nova-IR", "AUTO", D(2019, 10, 15)),
    ProductSpec("2019-2020", "CAPTOUT", "Capteur de pression de pneus CP-3", "AUTO", D(2020, 2, 3)),
    ProductSpec("2019-2020", "TELBOREAL", "Passerelle 5G industrielle", "COMM", D(2019, 9, 9)),
    ProductSpec("2019-2020", "LOGCAP", "Capitale Sécure, messagerie chiffrée", "COMM", D(2020, 1, 20)),
    ProductSpec("2019-2020", "BIOMEDIA", "CardioLien, télésurveillance cardiaque", "SANTE", D(2019, 11, 12)),
    ProductSpec("2019-2020", "SANTECON", "TriageExpress, aide au triage", "SANTE", D(2020, 3, 2)),
    # Reported in 2019-2020 but not new products of it: launched after the period (during the
    # extended collection), without programme technology, before the programme began.
    ProductSpec("2019-2020", "HYDROVOLT", "Compteur intelligent Volta", "ENER", D(2020, 5, 19)),
    ProductSpec("2019-2020", "ROBMAUR", "Pince robotisée RM-200", "MANUF", D(2019, 12, 5), False),
    ProductSpec("2019-2020", "AEROSTL", "Banc d'essai avionique AS-3", "AERO", D(2019, 3, 11), False),
    # In the report still submitted: counted by the provisional view only.
    ProductSpec("2019-2020", "DONFLEUVE", "Fleuve Analytique, tableaux de bord", "COMM", D(2019, 12, 10)),
    ProductSpec("2020-2021", "AEROSTL", "AéroSuivi, maintenance prédictive", "AERO", D(2020, 9, 14)),
    ProductSpec("2020-2021", "AUTONOVA", "Tableau de bord de flotte électrique", "AUTO", D(2020, 11, 2)),
    ProductSpec("2020-2021", "TELBOREAL", "Réseau privé 5G clé en main", "COMM", D(2021, 2, 15)),
    ProductSpec("2020-2021", "ROBMAUR", "Cellule robotisée RM-Cobot", "MANUF", D(2020, 10, 5)),
    ProductSpec("2020-2021", "BIOMEDIA", "Plateforme d'imagerie assistée", "SANTE", D(2021, 3, 1)),
    ProductSpec("2020-2021", "VISESTRIE", "Caméra d'inspection VE-360", "MANUF", D(2020, 7, 20)),
    ProductSpec("2020-2021", "HYDROVOLT", "Gestionnaire de charge résidentiel", "ENER", D(2021, 1, 25)),
    ProductSpec("2021-2022", "CAPTOUT", "Lidar compact CL-1", "AUTO", D(2021, 6, 7)),
    ProductSpec("2021-2022", "LOGCAP", "Capitale Sécure Entreprise", "COMM", D(2021, 5, 3)),
    ProductSpec("2021-2022", "DONFLEUVE", "Fleuve Prédictif", "COMM", D(2021, 10, 18)),
    ProductSpec("2021-2022", "SANTECON", "Suivi post-opératoire à domicile", "SANTE", D(2021, 8, 30)),
    ProductSpec("2021-2022", "AEROSTL", "Inspection de composites par ultrasons", "AERO", D(2022, 1, 17)),
    ProductSpec("2021-2022", "HYDROVOLT", "Micro-réseau Volta+", "ENER", D(2021, 11, 8)),
    ProductSpec("2021-2022", "ROBMAUR", "RM-Studio, programmation sans code", "MANUF", D(2022, 2, 28)),
    ProductSpec("2021-2022", "BIOMEDIA", "Dossier patient mobile", "SANTE", D(2021, 7, 12), False),
]  # fmt: skip


def num_project(number, sector, type_, lead, participants, start, end, status):
    """A PSM-NUM project whose title and objective are composed from its technology and use."""
    tech_title, topic = TECHNOLOGIES[number % len(TECHNOLOGIES)]
    applications = APPLICATIONS[sector]
    application = applications[(number // len(NUM_SECTORS)) % len(applications)]
    if type_ == CF:
        title = f"{tech_title} pour {application} (recherche collaborative)"
        objective = (
            f"Faire progresser en consortium les connaissances fondamentales sur {topic} pour "
            f"{application}, et en transférer les résultats aux entreprises partenaires."
        )
    else:
        title = f"{tech_title} pour {application}"
        objective = (
            f"Concevoir, valider et commercialiser une solution fondée sur {topic} pour "
            f"{application}."
        )
    code = f"NUM-{number + 1:03d}"
    return ProjectSpec(
        code, title, type_, objective, sector, lead, participants, start, end, status
    )


def num_projects():
    projects = []
    # The 46 projects in progress in 2019-2020, one sector after the other; every fifth is a
    # collaborative fundamental project led by a research centre (9 of them).
    for number in range(46):
        sector = NUM_SECTORS[number % len(NUM_SECTORS)]
        turn = number // len(NUM_SECTORS)
        centres, leads = NUM_CENTRES[sector], NUM_LEADS[sector]
        if number % 5 == 4:
            type_, lead = CF, centres[turn % 2]
            participants = (centres[(turn + 1) % 2], leads[turn % len(leads)], "GRAPPENUM")
        else:
            type_, lead = PD, leads[turn % len(leads)]
            participants = (centres[turn % 2],)
            supplier = NUM_SUPPLIERS[number % len(NUM_SUPPLIERS)]
            if number % 3 == 0 and supplier != lead:
                participants += (supplier,)
        start = D(2019, 4, 1) + datetime.timedelta(weeks=number)
        if number % 9 == 2:
            end = start + datetime.timedelta(days=300)  # a short project
        elif number % 10 == 7:
            end = D(2021, 3, 31)
        else:
            end = D(2022, 3, 31)
        projects.append(
            num_project(
                number, sector, type_, lead, participants, start, end, ProjectStatus.COMPLETED
            )
        )
    for number, (sector, type_, lead, participants, start) in enumerate(NUM_LATER_PROJECTS, 46):
        projects.append(
            num_project(
                number,
                sector,
                type_,
                lead,
                participants,
                start,
                D(2022, 3, 31),
                ProjectStatus.COMPLETED,
            )
        )
    # Distractors: neither is in progress, whatever its dates.
    projects.append(
        ProjectSpec(
            "NUM-C01",
            "Batteries de seconde vie pour le stockage d'énergie",
            PD,
            "Réutiliser les batteries de véhicules électriques pour le stockage résidentiel.",
            "ENER",
            "BATLAN",
            ("LPET",),
            D(2019, 9, 3),
            D(2019, 12, 20),
            ProjectStatus.CANCELLED,
        )
    )
    projects.append(
        ProjectSpec(
            "NUM-P01",
            "Moules intelligents pour l'injection plastique",
            PD,
            "Instrumenter les moules d'injection pour prédire les défauts de moulage.",
            "MANUF",
            "PLASTBF",
            ("CCTFI",),
            D(2020, 2, 3),
            None,
            ProjectStatus.PLANNED,
        )
    )
    return projects


def num_programme():
    return ProgrammeSpec(
        code=NUM,
        name="Le numérique de demain",
        name_en="Digital Tomorrow",
        government_aid=Decimal("26750000.00"),
        investment_target=Decimal("160500000.00"),
        jobs_target=600,
        sme_research_share_target=Decimal("0.1500"),
        start=D(2019, 4, 1),
        end=D(2022, 3, 31),
        objectives=NUM_OBJECTIVES,
        years=NUM_YEARS,
        projects=num_projects(),
        products=NUM_PRODUCTS,
    )


# --- Intelligence artificielle appliquée (PSM-IA) ------------------------------------------------

IA_OBJECTIVES = (
    "Accélérer l'adoption de l'intelligence artificielle par les entreprises québécoises ; "
    "commercialiser des produits et services intégrant des modèles fiables et explicables ; "
    "former une main-d'œuvre qualifiée en science des données."
)

IA_PROJECTS = [
    # code, title, type, objective, sector, lead, participants, start, end, status
    ProjectSpec("IA-001", "Détection de la fraude par apprentissage profond", PD,
                "Réduire les pertes liées à la fraude à l'assurance par des modèles explicables.",
                "FIN", "ASSHC", ("IQIAA", "ALGOMONT"), D(2021, 5, 3), None, ProjectStatus.ACTIVE),
    ProjectSpec("IA-002", "Assistant conversationnel pour le service à la clientèle", PD,
                "Commercialiser un assistant conversationnel en français québécois.",
                "COMM", "LOGCAP", ("IQIAA",), D(2021, 6, 7), None, ProjectStatus.ACTIVE),
    ProjectSpec("IA-003", "Prévision de la demande dans les réseaux de distribution", PD,
                "Prévoir la demande pour réduire les stocks et les pertes.",
                "MANUF", "ALGOMONT", ("CRNA",), D(2021, 9, 13), D(2024, 3, 31),
                ProjectStatus.COMPLETED),
    ProjectSpec("IA-004", "Apprentissage fédéré sur des données de santé", CF,
                "Entraîner des modèles sans déplacer les données des patients.",
                "SANTE", "IQIAA", ("BIOMEDIA", "IRSN", "LOGCAP"), D(2021, 10, 4), None,
                ProjectStatus.ACTIVE),
    ProjectSpec("IA-005", "Tri automatisé des images médicales", PD,
                "Prioriser la lecture des examens d'imagerie urgents.",
                "SANTE", "BIOMEDIA", ("IQIAA",), D(2022, 4, 11), None, ProjectStatus.ACTIVE),
    ProjectSpec("IA-006", "Maintenance prédictive des flottes de véhicules", PD,
                "Anticiper les pannes des véhicules commerciaux électriques.",
                "AUTO", "AUTONOVA", ("ALGOMONT", "CRNA"), D(2022, 9, 6), None,
                ProjectStatus.ACTIVE),
    ProjectSpec("IA-007", "Explicabilité des modèles de décision financière", CF,
                "Rendre les décisions de crédit et d'assurance explicables aux clients.",
                "FIN", "CRNA", ("ASSHC", "IQIAA", "DONFLEUVE"), D(2023, 4, 3), None,
                ProjectStatus.ACTIVE),
    ProjectSpec("IA-008", "Vision artificielle pour le contrôle de la qualité", PD,
                "Détecter les défauts de fabrication en temps réel sur la ligne.",
                "MANUF", "ROBMAUR", ("IQIAA", "LOGCAP"), D(2024, 5, 6), None,
                ProjectStatus.ACTIVE),
]  # fmt: skip

# The year being collected: the demo partner's draft, reports to review, one returned.
IA_OPEN_PENDING = (
    Pending(DEMO_PARTNER, ReportStatus.DRAFT, Decimal("152400.00")),
    Pending("ALGOMONT", ReportStatus.SUBMITTED, Decimal("1286735.80"), (12, 5)),
    Pending("IQIAA", ReportStatus.SUBMITTED, Decimal("2043118.60"), (19, 4)),
    Pending(
        "BIOMEDIA",
        ReportStatus.RETURNED,
        Decimal("3870500.00"),
        (27, 11),
        comment="Les emplois indirects semblent inclure des sous-traitants d'autres projets ; "
        "merci de vérifier.",
    ),
)

# (years before the open one, partner, name, sector, days after the year's start, uses technology)
IA_PRODUCTS = [
    (4, "ASSHC", "Vigie, détection de la fraude", "FIN", 240, True),
    (3, DEMO_PARTNER, "Capitale Dialogue, assistant conversationnel", "COMM", 130, True),
    (2, "ALGOMONT", "Prévisio, prévision de la demande", "MANUF", 75, True),
    (1, "BIOMEDIA", "TriImage, priorisation des examens", "SANTE", 200, True),
    (1, "AUTONOVA", "Flotte+, maintenance prédictive", "AUTO", 310, False),
    (0, "ALGOMONT", "Prévisio Détail", "MANUF", 150, True),
]


def collection_deadline(today):
    """The last day of the month that follows `today` by 30 days: some weeks away, stable
    for most of a month (a re-run the next day changes nothing)."""
    day = today + datetime.timedelta(days=30)
    first_of_next_month = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return first_of_next_month - datetime.timedelta(days=1)


def ia_programme(today):
    """PSM-IA, from 2021-2022 to the last complete fiscal year, whose collection is open."""
    open_start = today.year - 1 if today.month >= 4 else today.year - 2
    first_start = min(2021, open_start - 1)
    years = []
    for index, year_start in enumerate(range(first_start, open_start)):
        investment = Decimal("3412560.25") + index * Decimal("1875340.50")
        years.append(
            Year(
                f"{year_start}-{year_start + 1}",
                deadline=D(year_start + 1, 6, 30),
                state=PeriodState.PUBLISHED,
                investment=investment,
                sme_research=(investment * Decimal("0.31")).quantize(Decimal("0.01")),
                jobs=(41 + 17 * index, 18 + 6 * index),
            )
        )
    years.append(
        Year(
            f"{open_start}-{open_start + 1}",
            deadline=collection_deadline(today),
            state=PeriodState.OPEN,
            investment=Decimal("4127385.90"),
            sme_research=Decimal("1309442.15"),
            jobs=(58, 21),
            pending=IA_OPEN_PENDING,
        )
    )
    products = []
    for before_open, partner, name, sector, days, uses_technology in IA_PRODUCTS:
        year = years[-1 - before_open] if before_open < len(years) else None
        if year is not None:
            launch = year.start + datetime.timedelta(days=days)
            products.append(ProductSpec(year.label, partner, name, sector, launch, uses_technology))
    return ProgrammeSpec(
        code=IA,
        name="Intelligence artificielle appliquée",
        name_en="Applied Artificial Intelligence",
        government_aid=Decimal("18500000.00"),
        investment_target=Decimal("74000000.00"),
        jobs_target=250,
        sme_research_share_target=Decimal("0.3000"),
        start=D(first_start, 4, 1),
        end=max(D(2027, 3, 31), D(open_start + 2, 3, 31)),
        objectives=IA_OBJECTIVES,
        years=years,
        projects=IA_PROJECTS,
        products=products,
    )


def programmes(today):
    return [num_programme(), ia_programme(today)]


# --- From the specs to the contract's rows ------------------------------------------------------

# What a partner of each kind spends on a project: category, performer, relative weight.
SPENDING = {
    LE: [
        (InvestmentCategory.LABOUR, Performer.SELF, 8),
        (InvestmentCategory.EQUIPMENT, Performer.SELF, 4),
        (InvestmentCategory.SUBCONTRACTING, Performer.QUEBEC_SME, 2),
        (InvestmentCategory.SUBCONTRACTING, Performer.RESEARCH_CENTRE, 2),
        (InvestmentCategory.SUBCONTRACTING, Performer.OTHER, 1),
    ],
    SME: [
        (InvestmentCategory.LABOUR, Performer.SELF, 6),
        (InvestmentCategory.MATERIALS, Performer.SELF, 2),
        (InvestmentCategory.SUBCONTRACTING, Performer.RESEARCH_CENTRE, 1),
    ],
    RC: [
        (InvestmentCategory.LABOUR, Performer.SELF, 6),
        (InvestmentCategory.EQUIPMENT, Performer.SELF, 3),
        (InvestmentCategory.MATERIALS, Performer.SELF, 1),
    ],
    OTHER: [
        (InvestmentCategory.LABOUR, Performer.SELF, 2),
        (InvestmentCategory.OTHER, Performer.OTHER, 1),
    ],
}
JOBS_WEIGHT = {LE: 12, SME: 5, RC: 4, OTHER: 1}


def is_sme_research(partner, performer):
    """DESIGN.md's `sme_research_spending` rule, to split each year's totals between the two."""
    kind, quebec = PARTNER_BY_CODE[partner]
    if performer in (Performer.QUEBEC_SME, Performer.RESEARCH_CENTRE):
        return True
    return performer == Performer.SELF and (kind == RC or (kind == SME and quebec))


def allocate(units, weights):
    """Split a whole number of units among `weights` in proportion, summing exactly to `units`
    (largest remainders get the leftover units)."""
    if not weights:
        if units:
            raise ValueError(f"nothing to share {units} units among")
        return []
    whole = sum(weights)
    shares = [Fraction(units * weight, whole) for weight in weights]
    parts = [int(share) for share in shares]
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - shares[i], i))
    for i in by_remainder[: units - sum(parts)]:
        parts[i] += 1
    return parts


def allocate_money(total, weights):
    return [Decimal(cents).scaleb(-2) for cents in allocate(int(total * 100), weights)]


def cell(value):
    """A value as the contract writes it in a file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def build_rows(specs):
    """Every row of the demo's programmes, by resource name, in the contract's order."""
    rows = {name: [] for name in RESOURCES}
    rows["sectors"] = [{"code": c, "name_fr": fr, "name_en": en} for c, fr, en in SECTORS]
    rows["partners"] = [
        {"code": code, "name": name, "kind": kind, "quebec": quebec}
        for code, name, kind, quebec in PARTNERS
    ]
    for programme in specs:
        rows["programmes"].append(
            {
                "code": programme.code,
                "name": programme.name,
                "funder": MINISTRY,
                "government_aid": programme.government_aid,
                "investment_target": programme.investment_target,
                "jobs_target": programme.jobs_target,
                "sme_research_share_target": programme.sme_research_share_target,
                "start": programme.start,
                "end": programme.end,
                # Not columns of the contract (yet): load_details() writes them.
                "name_en": programme.name_en,
                "objectives": programme.objectives,
            }
        )
        for project in programme.projects:
            rows["projects"].append(
                {
                    "code": project.code,
                    "programme": programme.code,
                    "title": project.title,
                    "type": project.type,
                    "objective": project.objective,
                    "sector": project.sector,
                    "lead_partner": project.lead,
                    "start": project.start,
                    "end": project.end,
                    "status": project.status,
                }
            )
            rows["participations"].append(
                {"project": project.code, "partner": project.lead, "role": "lead"}
            )
            rows["participations"].extend(
                {"project": project.code, "partner": partner, "role": "participant"}
                for partner in project.participants
            )
        for year in programme.years:
            rows["periods"].append(
                {
                    "programme": programme.code,
                    "label": year.label,
                    "start": year.start,
                    "end": year.end,
                    "deadline": year.deadline,
                    "extended_deadline": year.extended_deadline,
                    "extension_reason": year.extension_reason,
                    "state": year.state,  # not a column of the contract (yet): see load_details()
                }
            )
            add_reports(rows, programme, year)
    return rows


def add_reports(rows, programme, year):
    """One report per partner taking part in a project in progress during `year`, with lines on
    those projects; approved reports share the year's totals, the others have their own."""
    rng = random.Random(f"{programme.code} {year.label}")
    projects_of = {}
    for project in programme.projects:
        if project.in_progress(year.start, year.end):
            for partner in project.partners:
                projects_of.setdefault(partner, []).append(project)
    pending = {p.partner: p for p in year.pending}
    unknown = set(pending) - set(projects_of)
    if unknown:
        raise ValueError(f"{programme.code} {year.label}: no project in progress for {unknown}")

    approved_investments, approved_jobs = [], []
    for partner in sorted(projects_of):
        report = pending.get(partner)
        status = report.status if report else ReportStatus.APPROVED
        rows["reports"].append(
            {
                "programme": programme.code,
                "period": year.label,
                "partner": partner,
                "status": status,
                "comment": report.comment if report else "",
            }
        )
        kind = PARTNER_BY_CODE[partner][0]
        projects = projects_of[partner]
        if status == ReportStatus.DRAFT:
            projects = projects[:1]  # half filled in: one project's spending so far
        investments = [
            {
                "period": year.label,
                "partner": partner,
                "project": project.code,
                "category": category,
                "performer": performer,
                "weight": weight * rng.randint(500, 1500),
            }
            for project in projects
            for category, performer, weight in SPENDING[kind]
        ]
        jobs = [
            {
                "period": year.label,
                "partner": partner,
                "project": project.code,
                "weight": JOBS_WEIGHT[kind] * rng.randint(500, 1500),
            }
            for project in projects
            if status != ReportStatus.DRAFT
        ]
        if report is None:
            approved_investments += investments
            approved_jobs += jobs
        else:
            share_money(investments, report.investment)
            share_jobs(jobs, *report.jobs)
        rows["investments"] += investments
        rows["jobs"] += jobs

    counted, others = [], []
    for line in approved_investments:
        sme_research = is_sme_research(line["partner"], line["performer"])
        (counted if sme_research else others).append(line)
    share_money(counted, year.sme_research)
    share_money(others, year.investment - year.sme_research)
    share_jobs(approved_jobs, *year.jobs)

    for product in programme.products:
        if product.period != year.label:
            continue
        candidates = projects_of.get(product.partner)
        if not candidates:
            raise ValueError(f"{product.name}: {product.partner} has no project in {year.label}")
        same_sector = [p for p in candidates if p.sector == product.sector]
        rows["products"].append(
            {
                "period": year.label,
                "partner": product.partner,
                "project": (same_sector or candidates)[0].code,
                "name": product.name,
                "sector": product.sector,
                "launch_date": product.launch_date,
                "uses_programme_technology": product.uses_programme_technology,
            }
        )


def share_money(lines, total):
    for line, amount in zip(
        lines, allocate_money(total, [line.pop("weight") for line in lines]), strict=True
    ):
        line["amount"] = amount


def share_jobs(lines, direct, indirect):
    weights = [line.pop("weight") for line in lines]
    for line, d, i in zip(
        lines, allocate(direct, weights), allocate(indirect, weights), strict=True
    ):
        line["direct"], line["indirect"] = d, i


# --- Loading -------------------------------------------------------------------------------------


class DemoDataError(Exception):
    """The demo's rows broke a rule of the contract: nothing was loaded."""

    def __init__(self, resource, errors):
        self.resource = resource
        self.errors = errors
        super().__init__(f"{resource}: " + "; ".join(str(e) for e in errors[:10]))


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    description: str


ACCOUNTS = [
    Account(STAFF_USERNAME, STAFF_PASSWORD, "personnel du programme, superutilisateur"),
    Account(PARTNER_USERNAME, PARTNER_PASSWORD, "membre de Logiciels Capitale inc. (LOGCAP)"),
]


@dataclass(frozen=True)
class LoadSummary:
    outcomes: list  # ImportOutcome per resource, in the contract's order
    accounts: list


def dataset(resource_class, rows):
    """The rows as a file of the resource would hold them (keys that are not columns dropped)."""
    headers = resource_class.columns()
    data = tablib.Dataset(headers=headers)
    for row in rows:
        data.append([cell(row.get(column)) for column in headers])
    return data


@transaction.atomic
def load(today=None):
    """Load (or refresh) the demo; a second run changes nothing. Raises DemoDataError."""
    today = today or timezone.localdate()
    specs = programmes(today)
    outcomes = []
    for name, rows in build_rows(specs).items():
        outcome = import_dataset(RESOURCES[name], dataset(RESOURCES[name], rows), name=name)
        if outcome.errors:
            raise DemoDataError(name, outcome.errors)
        outcomes.append(outcome)
    staff, partner_user = load_users()
    load_details(specs, granted_by=staff)
    publish_years(specs, staff)
    return LoadSummary(outcomes=outcomes, accounts=ACCOUNTS)


def is_loaded():
    return Programme.objects.filter(code=NUM).exists()


def ensure_user(username, password, **attributes):
    """The user with these attributes and password; saved only when something differs."""
    user, created = get_user_model().objects.get_or_create(username=username)
    changed = created
    for attribute, value in attributes.items():
        if getattr(user, attribute) != value:
            setattr(user, attribute, value)
            changed = True
    # A new user has no password to check (checking would cost a hash for nothing).
    if created or not user.check_password(password):
        user.set_password(password)
        changed = True
    if changed:
        user.save()
    return user


def load_users():
    staff = ensure_user(
        STAFF_USERNAME,
        STAFF_PASSWORD,
        first_name="Isabelle",
        last_name="Gagnon",
        email="personnel@example.org",
        is_staff=True,
        is_superuser=True,
    )
    partner_user = ensure_user(
        PARTNER_USERNAME,
        PARTNER_PASSWORD,
        first_name="Mathieu",
        last_name="Lavoie",
        email="partenaire@example.org",
        is_staff=False,
        is_superuser=False,
    )
    Partner.objects.get(code=DEMO_PARTNER).users.add(partner_user)  # no-op when already a member
    return staff, partner_user


def publish_years(specs, staff):
    """Publish the highlights of the years the demo calls published, once (2019-2020 first)."""
    for spec in specs:
        for year in spec.years:
            if year.state != PeriodState.PUBLISHED:
                continue
            period = Period.objects.select_related("programme").get(
                programme__code=spec.code, label=year.label
            )
            if not period.publications.exists():
                publication.publish(period=period, user=staff)


def load_details(specs, *, granted_by):
    """What the contract's columns do not carry: English names and objectives of programmes,
    states of periods, who granted the COVID-19 extension. Written only when different."""
    for spec in specs:
        Programme.objects.filter(code=spec.code).exclude(
            name_en=spec.name_en, objectives=spec.objectives
        ).update(name_en=spec.name_en, objectives=spec.objectives)
        for year in spec.years:
            Period.objects.filter(programme__code=spec.code, label=year.label).exclude(
                state=year.state
            ).update(state=year.state)
    granted_at = timezone.make_aware(datetime.datetime(2020, 5, 15, 10, 0))
    for extension in Extension.objects.filter(
        period__programme__code=NUM, period__label="2019-2020", partner__isnull=True
    ):
        if (extension.granted_by_id, extension.granted_at) != (granted_by.pk, granted_at):
            extension.granted_by, extension.granted_at = granted_by, granted_at
            extension._change_reason = "démo"
            extension.save()
