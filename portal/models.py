"""The domain of DESIGN.md: programmes, periods, partners, projects, reports and their lines.

Single-row invariants are database constraints; rules that span rows live in `clean()` (called by
forms, the admin and imports through `full_clean()`). A report's status changes only through
`portal.workflow`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

MONEY = {"max_digits": 14, "decimal_places": 2}


def related(instance, name):
    """The related object `name`, saved or not, or None when it is not set."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


def english_active():
    """Whether the page is being shown in English (French is the default and the fallback)."""
    return (get_language() or "").startswith("en")


NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Programme(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    name_en = models.CharField(_("nom (anglais)"), max_length=200, blank=True)
    funder = models.CharField(_("bailleur de fonds"), max_length=200)
    government_aid = models.DecimalField(
        _("aide gouvernementale"), **MONEY, validators=NON_NEGATIVE
    )
    investment_target = models.DecimalField(
        _("cible d'investissement"), **MONEY, validators=NON_NEGATIVE
    )
    jobs_target = models.PositiveIntegerField(_("cible d'emplois"), null=True, blank=True)
    sme_research_share_target = models.DecimalField(
        _("cible de la part PME et centres de recherche"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Une fraction : 0.15 pour 15 %."),
    )
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    objectives = models.TextField(_("objectifs"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(
                condition=Q(government_aid__gte=0) & Q(investment_target__gte=0),
                name="programme_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(sme_research_share_target__isnull=True)
                | Q(sme_research_share_target__gte=0, sme_research_share_target__lte=1),
                name="programme_share_target_is_a_fraction",
            ),
            models.CheckConstraint(
                condition=Q(start__lte=F("end")), name="programme_start_before_end"
            ),
        ]

    def __str__(self):
        return f"{self.code} — {self.display_name}"

    @property
    def display_name(self):
        if self.name_en and english_active():
            return self.name_en
        return self.name


class PeriodState(models.TextChoices):
    OPEN = "open", _("ouverte")
    CLOSED = "closed", _("fermée")
    PUBLISHED = "published", _("publiée")


class PeriodQuerySet(models.QuerySet):
    def ending_by(self, period):
        """Periods of the same programme ending on or before `period` ends (cumulative figures)."""
        return self.filter(programme_id=period.programme_id, end__lte=period.end)

    def expecting(self, partner):
        """Periods in which `partner` reports: it takes part in a project in progress during the
        period, or it already has a report there."""
        projects = Project.objects.filter(
            in_progress_condition(
                programme=OuterRef("programme_id"), start=OuterRef("start"), end=OuterRef("end")
            )
        ).with_participant(partner)
        reports = Report.objects.filter(period=OuterRef("pk"), partner=partner)
        return self.filter(Exists(projects) | Exists(reports))


class Period(models.Model):
    """A fiscal year of a programme, with its collection deadline."""

    programme = models.ForeignKey(
        Programme, models.PROTECT, related_name="periods", verbose_name=_("programme")
    )
    label = models.CharField(_("libellé"), max_length=20, help_text=_("Par exemple 2019-2020."))
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    deadline = models.DateField(_("date limite de remise"))
    state = models.CharField(
        _("état"), max_length=10, choices=PeriodState.choices, default=PeriodState.OPEN
    )

    objects = PeriodQuerySet.as_manager()

    class Meta:
        ordering = ["programme__code", "start"]
        verbose_name = _("période")
        verbose_name_plural = _("périodes")
        constraints = [
            models.UniqueConstraint(fields=["programme", "label"], name="period_unique_label"),
            models.CheckConstraint(
                condition=Q(start__lte=F("end")), name="period_start_before_end"
            ),
        ]

    def __str__(self):
        return f"{self.programme.code} {self.label}"

    @property
    def period_extension(self):
        """The period-wide extension, if any (several partners may also have their own)."""
        for extension in self.extensions.all():
            if extension.partner_id is None:
                return extension
        return None

    @property
    def extended_deadline(self):
        extension = self.period_extension
        return extension.new_deadline if extension else None

    @property
    def extension_reason(self):
        extension = self.period_extension
        return extension.reason if extension else ""

    def previous(self):
        """The programme's period ending last before this one starts (last year), or None."""
        return (
            Period.objects.filter(programme_id=self.programme_id, end__lt=self.start)
            .order_by("-end")
            .first()
        )

    def extension_for(self, partner):
        """The extension that sets `partner`'s deadline (the latest of those that apply), or None."""
        applicable = [
            e for e in self.extensions.all() if e.partner_id is None or e.partner_id == partner.pk
        ]
        latest = max(applicable, key=lambda e: e.new_deadline, default=None)
        return latest if latest and latest.new_deadline > self.deadline else None

    def deadline_for(self, partner):
        """The last day on which `partner` may submit a draft: extensions included."""
        extension = self.extension_for(partner)
        return extension.new_deadline if extension else self.deadline


class Extension(models.Model):
    """A deadline extension: for the whole period (partner empty) or for one partner."""

    period = models.ForeignKey(
        Period, models.CASCADE, related_name="extensions", verbose_name=_("période")
    )
    partner = models.ForeignKey(
        "Partner",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="extensions",
        verbose_name=_("partenaire"),
        help_text=_("Laisser vide pour accorder l'extension à tous les partenaires."),
    )
    new_deadline = models.DateField(_("nouvelle date limite"))
    reason = models.CharField(_("motif"), max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accordée par"),
    )
    granted_at = models.DateTimeField(_("accordée le"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["period", "new_deadline"]
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = [
            models.UniqueConstraint(
                fields=["period"],
                condition=Q(partner__isnull=True),
                name="extension_one_per_period",
                violation_error_message=_(
                    "Cette période a déjà une extension pour tous les partenaires."
                ),
            ),
            models.UniqueConstraint(
                fields=["period", "partner"],
                condition=Q(partner__isnull=False),
                name="extension_one_per_partner",
                violation_error_message=_("Ce partenaire a déjà une extension pour cette période."),
            ),
        ]

    def __str__(self):
        scope = self.partner.code if self.partner_id else _("tous les partenaires")
        return f"{self.period} ({scope}) → {self.new_deadline}"

    def clean(self):
        period = related(self, "period")  # on an add page, the period may not be saved yet
        if period and self.new_deadline and self.new_deadline <= period.deadline:
            raise ValidationError(
                {"new_deadline": _("La nouvelle date doit suivre la date limite de la période.")}
            )


class PartnerKind(models.TextChoices):
    LARGE_ENTERPRISE = "large_enterprise", _("grande entreprise")
    SME = "sme", _("PME")
    RESEARCH_CENTRE = "research_centre", _("centre de recherche public")
    OTHER = "other", _("autre")


class PartnerQuerySet(models.QuerySet):
    def for_user(self, user):
        """The partners a user belongs to: the root of every partner-scoped queryset."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(users=user)

    def participating_in(self, projects):
        """Distinct partners leading or participating in any of `projects` (a queryset)."""
        return self.filter(
            Q(pk__in=projects.values("lead_partner_id"))
            | Q(pk__in=Participation.objects.filter(project__in=projects).values("partner_id"))
        )


class Partner(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=PartnerKind.choices)
    quebec = models.BooleanField(_("établi au Québec"), default=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="partners",
        verbose_name=_("utilisateurs"),
    )

    objects = PartnerQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("partenaire")
        verbose_name_plural = _("partenaires")

    def __str__(self):
        return f"{self.code} — {self.name}"

    @property
    def spends_self_within_quebec_sme_or_research(self):
        """Whether this partner's own spending (performer `self`) counts as SME/research spending."""
        return self.kind == PartnerKind.RESEARCH_CENTRE or (
            self.kind == PartnerKind.SME and self.quebec
        )


class Sector(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name_fr = models.CharField(_("nom (français)"), max_length=200)
    name_en = models.CharField(_("nom (anglais)"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("secteur")
        verbose_name_plural = _("secteurs")

    def __str__(self):
        return self.name

    @property
    def name(self):
        return self.name_en if english_active() else self.name_fr


class ProjectType(models.TextChoices):
    PRODUCT_DEVELOPMENT = "product_development", _("développement de produit")
    COLLABORATIVE_FUNDAMENTAL = (
        "collaborative_fundamental",
        _("collaboratif de développement fondamental"),
    )


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("prévu")
    ACTIVE = "active", _("en cours")
    COMPLETED = "completed", _("terminé")
    CANCELLED = "cancelled", _("annulé")


def in_progress_condition(*, programme, start, end):
    """Projects of `programme`, active or completed, whose dates overlap [start, end]. The values
    may be OuterRef()s, so that a period queryset can ask it of each period in one query."""
    return Q(
        Q(end__isnull=True) | Q(end__gte=start),
        programme_id=programme,
        status__in=[ProjectStatus.ACTIVE, ProjectStatus.COMPLETED],
        start__lte=end,
    )


class ProjectQuerySet(models.QuerySet):
    def in_progress_during(self, period):
        """Projects of the period's programme, active or completed, whose dates overlap the period."""
        return self.filter(
            in_progress_condition(programme=period.programme_id, start=period.start, end=period.end)
        )

    def with_participant(self, partner):
        """Projects `partner` leads or takes part in (each once)."""
        return self.filter(
            Q(lead_partner=partner)
            | Q(pk__in=Participation.objects.filter(partner=partner).values("project_id"))
        )


class Project(models.Model):
    programme = models.ForeignKey(
        Programme, models.PROTECT, related_name="projects", verbose_name=_("programme")
    )
    code = models.CharField(_("code"), max_length=30, unique=True)
    title = models.CharField(_("titre"), max_length=300)
    type = models.CharField(_("type"), max_length=30, choices=ProjectType.choices)
    objective = models.TextField(_("objectif"))
    sector = models.ForeignKey(
        Sector, models.PROTECT, related_name="projects", verbose_name=_("secteur")
    )
    lead_partner = models.ForeignKey(
        Partner, models.PROTECT, related_name="led_projects", verbose_name=_("partenaire principal")
    )
    start = models.DateField(_("début"))
    end = models.DateField(
        _("fin"),
        null=True,
        blank=True,
        help_text=_("Laisser vide si le projet est toujours en cours."),
    )
    status = models.CharField(_("statut"), max_length=20, choices=ProjectStatus.choices)

    objects = ProjectQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("projet")
        verbose_name_plural = _("projets")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(start__lte=F("end")),
                name="project_start_before_end",
            ),
        ]

    def __str__(self):
        return f"{self.code} — {self.title}"

    def report_lines(self, partner_id=None):
        """Querysets of the investment, job and product lines reported on this project."""
        lines = [self.investments.all(), self.jobs.all(), self.products.all()]
        if partner_id is not None:
            lines = [q.filter(report__partner_id=partner_id) for q in lines]
        return lines

    def has_report_lines(self, partner_id=None):
        return any(q.exists() for q in self.report_lines(partner_id))

    def clean(self):
        """Registry changes must not strand lines already reported on the project."""
        if self.pk is None:
            return
        before = (
            Project.objects.filter(pk=self.pk).values("programme_id", "lead_partner_id").first()
        )
        if before is None:
            return
        if before["programme_id"] != self.programme_id and self.has_report_lines():
            raise ValidationError(
                {
                    "programme": _(
                        "Des rapports ont déjà des lignes sur ce projet : "
                        "il ne peut plus changer de programme."
                    )
                }
            )
        old_lead = before["lead_partner_id"]
        if (
            old_lead != self.lead_partner_id
            and not self.participations.filter(partner_id=old_lead).exists()
            and self.has_report_lines(old_lead)
        ):
            raise ValidationError(
                {
                    "lead_partner": _(
                        "L'ancien partenaire principal a déclaré des lignes sur ce projet : "
                        "inscrivez-le d'abord comme participant."
                    )
                }
            )

    def has_participant(self, partner_id):
        """The lead partner is always a participant, whether or not a participation row says so."""
        # all() uses prefetched participations when the caller loaded them (imports do).
        return self.lead_partner_id == partner_id or any(
            p.partner_id == partner_id for p in self.participations.all()
        )


class ParticipationRole(models.TextChoices):
    LEAD = "lead", _("principal")
    PARTICIPANT = "participant", _("participant")


class Participation(models.Model):
    project = models.ForeignKey(
        Project, models.CASCADE, related_name="participations", verbose_name=_("projet")
    )
    partner = models.ForeignKey(
        Partner, models.PROTECT, related_name="participations", verbose_name=_("partenaire")
    )
    role = models.CharField(_("rôle"), max_length=20, choices=ParticipationRole.choices)

    class Meta:
        ordering = ["project", "role", "partner"]
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "partner", "role"], name="participation_unique"
            ),
        ]

    def __str__(self):
        return f"{self.project.code} / {self.partner.code} ({self.get_role_display()})"

    def deletion_problem(self):
        """Why this participation cannot be deleted (lines depend on it), or None."""
        project = self.project
        still_participates = (
            project.lead_partner_id == self.partner_id
            or project.participations.filter(partner_id=self.partner_id)
            .exclude(pk=self.pk)
            .exists()
        )
        if not still_participates and project.has_report_lines(self.partner_id):
            return _(
                "%(partner)s a déclaré des lignes sur le projet %(project)s : "
                "sa participation ne peut pas être supprimée."
            ) % {"partner": self.partner.code, "project": project.code}
        return None

    def clean(self):
        project = related(self, "project")  # on an add page, the project may not be saved yet
        if (
            self.role == ParticipationRole.LEAD
            and project
            and self.partner_id
            and project.lead_partner_id != self.partner_id
        ):
            raise ValidationError(
                {
                    "role": _(
                        "Seul le partenaire principal du projet peut y avoir le rôle principal."
                    )
                }
            )


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("brouillon")
    SUBMITTED = "submitted", _("soumis")
    RETURNED = "returned", _("retourné")
    APPROVED = "approved", _("approuvé")


def counted_statuses(*, provisional=False):
    """Statuses whose lines enter the highlights: approved (plus submitted when provisional)."""
    if provisional:
        return [ReportStatus.APPROVED, ReportStatus.SUBMITTED]
    return [ReportStatus.APPROVED]


class ReportQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(partner__in=Partner.objects.for_user(user))

    def counted(self, *, provisional=False):
        return self.filter(status__in=counted_statuses(provisional=provisional))


class Report(models.Model):
    """One partner's yearly report for one period. Change `status` only through portal.workflow."""

    partner = models.ForeignKey(
        Partner, models.PROTECT, related_name="reports", verbose_name=_("partenaire")
    )
    period = models.ForeignKey(
        Period, models.PROTECT, related_name="reports", verbose_name=_("période")
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    comment = models.TextField(_("commentaire de l'évaluateur"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    submitted_at = models.DateTimeField(_("soumis le"), null=True, blank=True, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("soumis par"),
    )
    reviewed_at = models.DateTimeField(_("évalué le"), null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("évalué par"),
    )

    objects = ReportQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["period", "partner"]
        verbose_name = _("rapport")
        verbose_name_plural = _("rapports")
        permissions = [
            ("review_report", _("Peut évaluer les rapports (approuver, retourner)")),
            ("reopen_report", _("Peut rouvrir un rapport approuvé")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["partner", "period"], name="report_one_per_period"),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.RETURNED) | ~Q(comment=""),
                name="report_returned_has_comment",
                violation_error_message=_("Un rapport retourné doit porter un commentaire."),
            ),
        ]

    def __str__(self):
        return f"{self.partner.code} {self.period}"

    @property
    def lines_editable(self):
        """Lines change while the partner holds the report (draft or returned), not under review
        or once approved (an approved report is reopened first, by a programme manager)."""
        return self.status in (ReportStatus.DRAFT, ReportStatus.RETURNED)


class LineQuerySet(models.QuerySet):
    def counted_in(self, period, *, provisional=False):
        """Lines of the period's counted reports, on projects of the period's programme."""
        return self._counted(Q(report__period=period), period, provisional)

    def counted_through(self, period, *, provisional=False):
        """Lines of counted reports of every period of the programme ending by `period`'s end."""
        return self._counted(
            Q(report__period__in=Period.objects.ending_by(period)), period, provisional
        )

    def _counted(self, periods, period, provisional):
        return self.filter(
            periods,
            report__status__in=counted_statuses(provisional=provisional),
            project__programme_id=period.programme_id,
        )

    def for_user(self, user):
        return self.filter(report__in=Report.objects.for_user(user))


class ReportLine(models.Model):
    """What every line of a report shares: its report and the project it is about."""

    report = models.ForeignKey(Report, models.CASCADE, verbose_name=_("rapport"))
    project = models.ForeignKey(Project, models.PROTECT, verbose_name=_("projet"))

    objects = LineQuerySet.as_manager()

    class Meta:
        abstract = True

    def clean(self):
        # On an add page the report is not saved yet: check what it will be (partner, period).
        report, project = related(self, "report"), related(self, "project")
        if not (report and project and report.period_id and report.partner_id):
            return  # a missing report, project, period or partner is an error of its own field
        if project.programme_id != report.period.programme_id:
            raise ValidationError(
                {"project": _("Ce projet n'appartient pas au programme de la période du rapport.")}
            )
        if not project.has_participant(report.partner_id):
            raise ValidationError(
                {"project": _("Le partenaire du rapport ne participe pas à ce projet.")}
            )


class InvestmentCategory(models.TextChoices):
    LABOUR = "labour", _("main-d'œuvre")
    EQUIPMENT = "equipment", _("équipement")
    SUBCONTRACTING = "subcontracting", _("sous-traitance")
    MATERIALS = "materials", _("matériaux")
    OTHER = "other", _("autre")


class Performer(models.TextChoices):
    SELF = "self", _("le partenaire lui-même")
    QUEBEC_SME = "quebec_sme", _("PME québécoise")
    RESEARCH_CENTRE = "research_centre", _("centre de recherche public")
    OTHER = "other", _("autre")


class InvestmentLine(ReportLine):
    report = models.ForeignKey(
        Report, models.CASCADE, related_name="investments", verbose_name=_("rapport")
    )
    project = models.ForeignKey(
        Project, models.PROTECT, related_name="investments", verbose_name=_("projet")
    )
    amount = models.DecimalField(_("montant ($)"), **MONEY, validators=NON_NEGATIVE)
    category = models.CharField(_("catégorie"), max_length=20, choices=InvestmentCategory.choices)
    performer = models.CharField(
        _("exécutant"),
        max_length=20,
        choices=Performer.choices,
        help_text=_(
            "Qui a réalisé la dépense : le partenaire lui-même, une PME québécoise, "
            "un centre de recherche public ou un autre."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["report", "project", "category", "performer"]
        verbose_name = _("ligne d'investissement")
        verbose_name_plural = _("lignes d'investissement")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "project", "category", "performer"],
                name="investment_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="investment_amount_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.report} / {self.project.code}: {self.amount} $"


class JobLine(ReportLine):
    report = models.ForeignKey(
        Report, models.CASCADE, related_name="jobs", verbose_name=_("rapport")
    )
    project = models.ForeignKey(
        Project, models.PROTECT, related_name="jobs", verbose_name=_("projet")
    )
    direct = models.PositiveIntegerField(_("emplois directs"))
    indirect = models.PositiveIntegerField(_("emplois indirects"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["report", "project"]
        verbose_name = _("ligne d'emplois")
        verbose_name_plural = _("lignes d'emplois")
        constraints = [
            models.UniqueConstraint(fields=["report", "project"], name="jobs_unique"),
            models.CheckConstraint(
                condition=Q(direct__gte=0) & Q(indirect__gte=0), name="jobs_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.report} / {self.project.code}: {self.direct} + {self.indirect}"


class ProductLine(ReportLine):
    report = models.ForeignKey(
        Report, models.CASCADE, related_name="products", verbose_name=_("rapport")
    )
    project = models.ForeignKey(
        Project, models.PROTECT, related_name="products", verbose_name=_("projet")
    )
    name = models.CharField(_("nom du produit"), max_length=200)
    sector = models.ForeignKey(
        Sector, models.PROTECT, related_name="products", verbose_name=_("secteur")
    )
    launch_date = models.DateField(_("date de lancement"))
    uses_programme_technology = models.BooleanField(
        _("intègre une technologie du programme"), default=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["report", "project", "name"]
        verbose_name = _("nouveau produit")
        verbose_name_plural = _("nouveaux produits")
        constraints = [
            models.UniqueConstraint(fields=["report", "project", "name"], name="product_unique"),
        ]

    def __str__(self):
        return f"{self.report} / {self.project.code}: {self.name}"


class CheckAcknowledgement(models.Model):
    """A staff member's note that a data-quality warning was looked at (warnings never block)."""

    period = models.ForeignKey(
        Period, models.CASCADE, related_name="acknowledgements", verbose_name=_("période")
    )
    code = models.CharField(_("vérification"), max_length=50)
    subject = models.CharField(
        _("objet"),
        max_length=100,
        help_text=_("Ce que l'avertissement vise, par exemple report:12 ou project:5."),
    )
    comment = models.TextField(_("commentaire"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pris en compte par"),
    )
    acknowledged_at = models.DateTimeField(_("pris en compte le"), default=timezone.now)

    class Meta:
        ordering = ["period", "code", "subject"]
        verbose_name = _("avertissement pris en compte")
        verbose_name_plural = _("avertissements pris en compte")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "code", "subject"], name="acknowledgement_unique"
            ),
            models.CheckConstraint(condition=~Q(comment=""), name="acknowledgement_has_comment"),
        ]

    def __str__(self):
        return f"{self.period} {self.code} {self.subject}"


class ReminderKind(models.TextChoices):
    BEFORE = "before", _("avant la date limite")
    OVERDUE = "overdue", _("en retard")


class Reminder(models.Model):
    """A reminder e-mailed to a partner's users: at most one per partner per day."""

    partner = models.ForeignKey(
        Partner, models.CASCADE, related_name="reminders", verbose_name=_("partenaire")
    )
    period = models.ForeignKey(
        Period, models.CASCADE, related_name="reminders", verbose_name=_("période")
    )
    kind = models.CharField(_("type"), max_length=10, choices=ReminderKind.choices)
    days = models.IntegerField(
        _("jours"), help_text=_("Jours avant la date limite (négatif : jours de retard).")
    )
    sent_on = models.DateField(_("envoyé le"))
    sent_at = models.DateTimeField(_("heure d'envoi"), default=timezone.now)
    recipients = models.TextField(_("destinataires"))
    periods = models.ManyToManyField(
        Period,
        related_name="covering_reminders",
        verbose_name=_("périodes rappelées"),
        help_text=_(
            "Toutes les périodes que le courriel rappelle (la période est la plus urgente)."
        ),
    )

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("rappel")
        verbose_name_plural = _("rappels")
        constraints = [
            models.UniqueConstraint(fields=["partner", "sent_on"], name="reminder_one_per_day"),
        ]

    def __str__(self):
        return f"{self.partner.code} {self.period} {self.sent_on}"


class Publication(models.Model):
    """Published highlights of a period: a frozen snapshot of every figure. The latest one is what
    the public sees; earlier ones are the restatement history."""

    period = models.ForeignKey(
        Period, models.PROTECT, related_name="publications", verbose_name=_("période")
    )
    figures = models.JSONField(_("chiffres"), help_text=_("Le document JSON des faits saillants."))
    approved_reports = models.PositiveIntegerField(_("rapports approuvés"))
    note = models.TextField(_("note"), blank=True, help_text=_("Par exemple, ce qui a été révisé."))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("publié par"),
    )
    published_at = models.DateTimeField(_("publié le"), default=timezone.now)

    class Meta:
        ordering = ["period", "-published_at"]
        get_latest_by = "published_at"
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        permissions = [("publish_highlights", _("Peut publier les faits saillants"))]

    def __str__(self):
        return f"{self.period} — {self.published_at:%Y-%m-%d %H:%M}"
