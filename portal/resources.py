"""The data contract of DESIGN.md as django-import-export resources: one definition of each column.

The admin's import/export and `manage.py import_data` both use these classes. Rows refer to each
other by natural keys (codes, labels), never by database id. Lookups are cached per import, so an
import costs a constant number of queries per referenced object, not per row.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from portal import workflow
from portal.exports import neutralise, restore
from portal.models import (
    Extension,
    InvestmentCategory,
    InvestmentLine,
    JobLine,
    Participation,
    ParticipationRole,
    Partner,
    PartnerKind,
    Performer,
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
from portal.numbers import parse_decimal

IMPORT_REASON = "import"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_empty(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def printable(text):
    """`text` as a one-line message quotes it: each invisible character (line break, tab, no-break
    space, control character) written as its code, `\\u000a`."""
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


# --- Widgets: the contract's spellings, strict, with messages people can act on. ---------------


class RequiredMixin:
    def __init__(self, *args, required=True, **kwargs):
        self.required = required
        super().__init__(*args, **kwargs)

    def empty(self, value):
        if is_empty(value):
            if self.required:
                raise ValueError(_("valeur requise"))
            return True
        return False


class TextWidget(RequiredMixin, widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return ""
        # Undo the apostrophe our exports put before a formula-like text (round trips keep it).
        return restore(str(value).strip())


class ChoiceWidget(RequiredMixin, widgets.Widget):
    def __init__(self, choices, **kwargs):
        self.values = [value for value, _label in choices.choices]
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return ""
        text = str(value).strip()
        if text not in self.values:
            raise ValueError(
                _("« %(value)s » n'est pas une valeur permise (%(allowed)s)")
                % {"value": text, "allowed": ", ".join(self.values)}
            )
        return text


class DecimalWidget(RequiredMixin, widgets.Widget):
    """`1234.56` or `1 234,56`; exported as `1234.56` whatever the language."""

    def __init__(self, places=2, **kwargs):
        self.places = places
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return None
        return parse_decimal(value, places=self.places)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else f"{value:.{self.places}f}"


class IntegerWidget(RequiredMixin, widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return None
        return int(parse_decimal(value, places=0))

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class DateWidget(RequiredMixin, widgets.Widget):
    """ISO dates (`2019-04-01`); spreadsheet date cells are accepted as they are."""

    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        try:
            # fromisoformat alone takes 20190401 and 2019-W14-1 too: the contract says AAAA-MM-JJ.
            if not ISO_DATE.fullmatch(text):
                raise ValueError(text)
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                _("« %(value)s » n'est pas une date AAAA-MM-JJ.") % {"value": value}
            ) from None

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class BooleanWidget(RequiredMixin, widgets.Widget):
    TRUE = {"true", "yes", "oui", "1", "vrai"}
    FALSE = {"false", "no", "non", "0", "faux"}

    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if isinstance(value, (int, float)) and value in (0, 1):
            text = str(int(value))
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(
            _("« %(value)s » n'est pas un booléen (true/false, oui/non, yes/no, 1/0).")
            % {"value": value}
        )

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else ("true" if value else "false")


class CodeWidget(RequiredMixin, widgets.Widget):
    """A reference by code, resolved through a cache loaded once per import."""

    def __init__(self, model, field="code", queryset=None, noun=None, **kwargs):
        self.model = model
        self.field = field
        self.queryset = queryset
        self.noun = noun or model._meta.verbose_name
        self.cache = None
        super().__init__(**kwargs)

    def load(self):
        queryset = self.queryset.all() if self.queryset is not None else self.model.objects.all()
        self.cache = {getattr(obj, self.field): obj for obj in queryset}

    def reset(self):
        self.cache = None

    def remember(self, obj):
        """Make an object created earlier in the same import resolvable by later rows."""
        if self.cache is not None:
            self.cache[getattr(obj, self.field)] = obj

    def clean(self, value, row=None, **kwargs):
        if self.empty(value):
            return None
        if self.cache is None:
            self.load()
        key = restore(str(value).strip())  # a code exported as '=X (portal.exports)
        try:
            return self.cache[key]
        except KeyError:
            raise ValueError(
                _("%(noun)s inconnu « %(code)s »") % {"noun": self.noun, "code": key}
            ) from None

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else getattr(value, self.field)


# --- Resources ----------------------------------------------------------------------------------


class ContractResource(resources.ModelResource):
    """What every resource of the contract shares: strict columns, natural keys, no silent skips.

    Subclasses declare their columns as fields (in `Meta.fields` order) and return a row's natural
    key from `natural_key(instance)`; an existing object is found through `find_existing()`.
    """

    class Meta:
        abstract = True
        clean_model_instances = True
        skip_unchanged = True
        skip_diff = True
        skip_html_diff = True
        report_skipped = False
        use_transactions = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen_keys = {}

    # Columns --------------------------------------------------------------------------------

    @classmethod
    def columns(cls):
        return list(cls._meta.fields)

    def column_of(self, attribute):
        """The file column to blame for an error on a model attribute."""
        for field in self.fields.values():
            if field.attribute == attribute or field.column_name == attribute:
                return field.column_name
        return attribute

    def get_export_order(self):
        return tuple(self._meta.fields)

    def export_field(self, field, instance, **kwargs):
        # A text such as "=HYPERLINK(...)" must reach a spreadsheet as text, never as a formula.
        return neutralise(super().export_field(field, instance, **kwargs))

    def get_import_order(self):
        return tuple(self._meta.fields)

    def code_widgets(self):
        return [f.widget for f in self.fields.values() if isinstance(f.widget, CodeWidget)]

    @classmethod
    def header_problems(cls, headers):
        """What is wrong with a file's header row, as one sentence (empty when it is right)."""
        expected = cls.columns()
        headers = [str(h).strip() for h in headers or []]
        missing = [c for c in expected if c not in headers]
        # Quoted on one line: a header cell may hold a line break (the command prints one line).
        unknown = [printable(c) for c in headers if c not in expected]
        duplicated = sorted({printable(c) for c in headers if headers.count(c) > 1})
        problems = []
        if missing:
            problems.append(_("colonnes manquantes : %(cols)s") % {"cols": ", ".join(missing)})
        if unknown:
            problems.append(_("colonnes inconnues : %(cols)s") % {"cols": ", ".join(unknown)})
        if duplicated:
            problems.append(_("colonnes en double : %(cols)s") % {"cols": ", ".join(duplicated)})
        if not problems:
            return ""
        return (
            "; ".join(problems)
            + ". "
            + _("Colonnes attendues : %(cols)s.") % {"cols": ", ".join(expected)}
        )

    def before_import(self, dataset, **kwargs):
        problems = self.header_problems(dataset.headers)
        if problems:
            raise ValueError(problems)
        for widget in self.code_widgets():
            widget.reset()
        self.seen_keys = {}

    # Instances ------------------------------------------------------------------------------

    def get_instance(self, instance_loader, row):
        try:
            key = self.row_key(row)
        except (ValueError, KeyError):
            return None
        return self.find_existing(key)

    def row_key(self, row):
        """The natural key of a row, from its cleaned columns (ValueError when it can't be built)."""
        return tuple(self._clean_column(name, row) for name in self._meta.import_id_fields)

    def _clean_column(self, name, row):
        return self.fields[name].clean(row)

    def find_existing(self, key):
        lookup = dict(zip(self._meta.import_id_fields, key, strict=True))
        return self._meta.model.objects.filter(**lookup).first()

    def import_instance(self, instance, row, **kwargs):
        instance._import_snapshot = self.snapshot(instance) if instance.pk else None
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        try:
            self.check_dates(instance, errors)
            self.check_row(instance, row, errors)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if not errors:
            self.check_duplicate(instance, kwargs.get("row_number"))
        if errors:
            raise ValidationError(errors)

    def check_dates(self, instance, errors):
        """start ≤ end, named on the `end` column (the database's constraint names no column)."""
        start, end = getattr(instance, "start", None), getattr(instance, "end", None)
        if start and end and start > end and not {"start", "end"} & errors.keys():
            raise ValidationError({"end": _("la fin précède le début")})

    def check_row(self, instance, row, errors):
        """Cross-column rules of the contract; raise ValidationError keyed by column."""

    def check_duplicate(self, instance, row_number):
        key = self.natural_key(instance)
        first = self.seen_keys.setdefault(key, row_number)
        if first != row_number:
            raise ValidationError(
                {
                    self._meta.import_id_fields[0]: _(
                        "même clé naturelle que la ligne %(row)s du fichier"
                    )
                    % {"row": first}
                }
            )

    def natural_key(self, instance):
        return tuple(self.fields[name].get_value(instance) for name in self._meta.import_id_fields)

    # full_clean() options; lines settle uniqueness without a query per row (LineResource).
    validate_unique = True
    validate_constraints = True

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        # Foreign keys were resolved from a lookup of existing rows (an unknown code is already an
        # error on its column): checking that they exist again would cost a query per row.
        exclude = set(errors) | {
            f.name for f in self._meta.model._meta.concrete_fields if f.is_relation
        }
        try:
            instance.full_clean(
                exclude=exclude,
                validate_unique=self.validate_unique,
                validate_constraints=self.validate_constraints,
            )
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def snapshot(self, instance):
        concrete = {f.name: f.attname for f in self._meta.model._meta.concrete_fields}
        values = {}
        for field in self.get_import_fields():
            name = (field.attribute or "").split("__")[0]
            attname = concrete.get(name, name)
            values[attname] = getattr(instance, attname, None)
        return values

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """Unchanged when every imported value equals the stored one (re-imports are no-ops).

        Compared against a snapshot of the values rather than import-export's deep copy of the
        instance, which would copy every related object on every row."""
        before = getattr(instance, "_import_snapshot", None)
        if import_validation_errors or before is None:
            return False
        return self.snapshot(instance) == before

    def before_save_instance(self, instance, row, **kwargs):
        instance._change_reason = IMPORT_REASON

    def after_save_instance(self, instance, row, **kwargs):
        for widget in self.code_widgets():
            if widget.model is self._meta.model:
                widget.remember(instance)


def code_field(model, column, *, attribute=None, required=True, **widget_kwargs):
    return fields.Field(
        attribute=attribute or column,
        column_name=column,
        widget=CodeWidget(model, required=required, **widget_kwargs),
    )


def text_field(column, *, attribute=None, required=True):
    return fields.Field(
        attribute=attribute or column, column_name=column, widget=TextWidget(required=required)
    )


def date_field(column, *, attribute=None, required=True):
    return fields.Field(
        attribute=attribute or column, column_name=column, widget=DateWidget(required=required)
    )


def money_field(column, *, attribute=None, required=True):
    return fields.Field(
        attribute=attribute or column,
        column_name=column,
        widget=DecimalWidget(places=2, required=required),
    )


def choice_field(column, choices, *, attribute=None):
    return fields.Field(
        attribute=attribute or column, column_name=column, widget=ChoiceWidget(choices)
    )


class ProgrammeResource(ContractResource):
    code = text_field("code")
    name = text_field("name")
    funder = text_field("funder")
    government_aid = money_field("government_aid")
    investment_target = money_field("investment_target")
    jobs_target = fields.Field(
        attribute="jobs_target", column_name="jobs_target", widget=IntegerWidget(required=False)
    )
    sme_research_share_target = fields.Field(
        attribute="sme_research_share_target",
        column_name="sme_research_share_target",
        widget=DecimalWidget(places=4, required=False),
    )
    start = date_field("start")
    end = date_field("end")

    class Meta(ContractResource.Meta):
        model = Programme
        fields = (
            "code",
            "name",
            "funder",
            "government_aid",
            "investment_target",
            "jobs_target",
            "sme_research_share_target",
            "start",
            "end",
        )
        import_id_fields = ("code",)


class PeriodResource(ContractResource):
    """Periods; the period-wide extension travels in two columns but is a record of its own."""

    programme = code_field(Programme, "programme")
    label = text_field("label")
    start = date_field("start")
    end = date_field("end")
    deadline = date_field("deadline")
    extended_deadline = date_field(
        "extended_deadline", attribute="import_extended_deadline", required=False
    )
    extension_reason = text_field(
        "extension_reason", attribute="import_extension_reason", required=False
    )

    class Meta(ContractResource.Meta):
        model = Period
        fields = (
            "programme",
            "label",
            "start",
            "end",
            "deadline",
            "extended_deadline",
            "extension_reason",
        )
        import_id_fields = ("programme", "label")

    def get_queryset(self):
        return Period.objects.select_related("programme").prefetch_related("extensions")

    def dehydrate_extended_deadline(self, period):
        return period.extended_deadline

    def dehydrate_extension_reason(self, period):
        return period.extension_reason

    def find_existing(self, key):
        programme, label = key
        return (
            Period.objects.prefetch_related("extensions")
            .filter(programme=programme, label=label)
            .first()
        )

    def after_init_instance(self, instance, new, row, **kwargs):
        extension = None if new else instance.period_extension
        instance.import_extended_deadline = extension.new_deadline if extension else None
        instance.import_extension_reason = extension.reason if extension else ""

    def check_row(self, instance, row, errors):
        new_deadline = instance.import_extended_deadline
        if "extended_deadline" in errors or "import_extended_deadline" in errors:
            return
        if new_deadline and not instance.import_extension_reason:
            raise ValidationError({"extension_reason": _("requis quand la date est prolongée")})
        if instance.import_extension_reason and not new_deadline:
            raise ValidationError({"extended_deadline": _("requise quand un motif est donné")})
        if new_deadline and instance.deadline and new_deadline <= instance.deadline:
            raise ValidationError(
                {"extended_deadline": _("doit suivre la date limite de la colonne deadline")}
            )

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        current = instance.period_extension if instance.pk else None
        wanted = instance.import_extended_deadline
        if wanted is None:
            if current is not None:
                current._change_reason = IMPORT_REASON
                current.delete()
        elif current is None:
            extension = Extension(
                period=instance, new_deadline=wanted, reason=instance.import_extension_reason
            )
            extension._change_reason = IMPORT_REASON
            extension.save()
        elif (current.new_deadline, current.reason) != (
            wanted,
            instance.import_extension_reason,
        ):
            current.new_deadline = wanted
            current.reason = instance.import_extension_reason
            current._change_reason = IMPORT_REASON
            current.save()
        if hasattr(instance, "_prefetched_objects_cache"):
            instance._prefetched_objects_cache.pop("extensions", None)


class SectorResource(ContractResource):
    code = text_field("code")
    name_fr = text_field("name_fr")
    name_en = text_field("name_en")

    class Meta(ContractResource.Meta):
        model = Sector
        fields = ("code", "name_fr", "name_en")
        import_id_fields = ("code",)


class PartnerResource(ContractResource):
    code = text_field("code")
    name = text_field("name")
    kind = choice_field("kind", PartnerKind)
    quebec = fields.Field(attribute="quebec", column_name="quebec", widget=BooleanWidget())

    class Meta(ContractResource.Meta):
        model = Partner
        fields = ("code", "name", "kind", "quebec")
        import_id_fields = ("code",)


class ProjectResource(ContractResource):
    code = text_field("code")
    programme = code_field(Programme, "programme")
    title = text_field("title")
    type = choice_field("type", ProjectType)
    objective = text_field("objective")
    sector = code_field(Sector, "sector")
    lead_partner = code_field(Partner, "lead_partner")
    start = date_field("start")
    end = date_field("end", required=False)
    status = choice_field("status", ProjectStatus)

    class Meta(ContractResource.Meta):
        model = Project
        fields = (
            "code",
            "programme",
            "title",
            "type",
            "objective",
            "sector",
            "lead_partner",
            "start",
            "end",
            "status",
        )
        import_id_fields = ("code",)

    def get_queryset(self):
        return Project.objects.select_related("programme", "sector", "lead_partner")


class ParticipationResource(ContractResource):
    project = code_field(Project, "project")
    partner = code_field(Partner, "partner")
    role = choice_field("role", ParticipationRole)

    class Meta(ContractResource.Meta):
        model = Participation
        fields = ("project", "partner", "role")
        import_id_fields = ("project", "partner", "role")

    def get_queryset(self):
        return Participation.objects.select_related("project", "partner")


class PeriodLookup:
    """Periods by (programme, label), loaded once per import."""

    def __init__(self):
        self.cache = None

    def get(self, programme_id, label):
        if self.cache is None:
            self.cache = {
                (p.programme_id, p.label): p for p in Period.objects.select_related("programme")
            }
        return self.cache.get((programme_id, label))


class ReportResource(ContractResource):
    """Reports with their status as given (migrating past years): no e-mail, one history row."""

    programme = code_field(Programme, "programme", attribute="import_programme")
    period = text_field("period", attribute="import_period_label")
    partner = code_field(Partner, "partner")
    status = choice_field("status", ReportStatus, attribute="import_status")
    comment = text_field("comment", attribute="import_comment", required=False)

    class Meta(ContractResource.Meta):
        model = Report
        fields = ("programme", "period", "partner", "status", "comment")
        import_id_fields = ("programme", "period", "partner")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.periods = PeriodLookup()

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self.periods = PeriodLookup()

    def get_queryset(self):
        return Report.objects.select_related("partner", "period__programme")

    def dehydrate_programme(self, report):
        return report.period.programme.code

    def dehydrate_period(self, report):
        return report.period.label

    def dehydrate_status(self, report):
        return report.status

    def dehydrate_comment(self, report):
        return report.comment

    def find_existing(self, key):
        programme, label, partner = key
        period = self.periods.get(programme.pk, label) if programme else None
        if period is None or partner is None:
            return None
        return self.get_queryset().filter(period=period, partner=partner).first()

    def natural_key(self, instance):
        return (instance.period_id, instance.partner_id)

    def after_init_instance(self, instance, new, row, **kwargs):
        if not new:
            instance.import_programme = instance.period.programme
            instance.import_period_label = instance.period.label
            instance.import_status = instance.status
            instance.import_comment = instance.comment

    def check_row(self, instance, row, errors):
        programme = getattr(instance, "import_programme", None)
        label = getattr(instance, "import_period_label", "")
        if programme is not None and label:
            period = self.periods.get(programme.pk, label)
            if period is None:
                raise ValidationError(
                    {
                        "period": _("période inconnue « %(label)s » du programme %(programme)s")
                        % {"label": label, "programme": programme.code}
                    }
                )
            instance.period = period
        if "import_status" not in errors and "import_comment" not in errors:
            try:
                workflow.record_imported_status(
                    report=instance,
                    status=instance.import_status,
                    comment=instance.import_comment,
                )
            except ValidationError as error:
                raise ValidationError({"comment": error.messages}) from None


class LineResource(ContractResource):
    """Investment, jobs and product lines: a line names its report by (period, partner) within its
    project's programme. Written in batches with their history rows, after every row validated."""

    period = text_field("period", attribute="import_period_label")
    partner = code_field(Partner, "partner", attribute="import_partner")
    project = fields.Field(
        attribute="project",
        column_name="project",
        widget=CodeWidget(
            Project,
            queryset=Project.objects.select_related("programme").prefetch_related(
                Prefetch(
                    "participations",
                    queryset=Participation.objects.only("project_id", "partner_id"),
                )
            ),
        ),
    )

    class Meta(ContractResource.Meta):
        abstract = True
        use_bulk = True
        batch_size = 2000
        # Rows are validated one by one before the batch is written, so per-row errors survive.
        force_init_instance = False

    key_fields = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.periods = PeriodLookup()
        self.reports = {}
        self.existing = {}

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self.periods = PeriodLookup()
        self.reports = {}
        self.existing = {}
        self.preload(dataset)

    def preload(self, dataset):
        """The reports the file names and their lines that the file names too, in a few queries
        per thousand reports whatever the number of rows. Cells that do not resolve are skipped
        here: the row checks report them."""
        projects = self.fields["project"].widget
        partners = self.fields["partner"].widget
        for widget in (projects, partners):
            if widget.cache is None:
                widget.load()
        partner_by_pk = {p.pk: p for p in partners.cache.values()}
        rows = []
        for row in dataset.dict:
            project = projects.cache.get(str(row.get("project") or "").strip())
            partner = partners.cache.get(str(row.get("partner") or "").strip())
            if project is None or partner is None:
                continue
            period = self.periods.get(project.programme_id, str(row.get("period") or "").strip())
            if period is None:
                continue
            rest = tuple(str(row.get(name) or "").strip() for name in self.key_fields)
            rows.append((period, partner.pk, project.pk, rest))
        by_period = {}
        for period, partner_id, _project_id, _rest in rows:
            by_period.setdefault(period, set()).add(partner_id)
        for period, partner_ids in by_period.items():
            for partner_id in partner_ids:
                self.reports[(period.programme_id, period.label, partner_id)] = None
            for chunk in chunks(sorted(partner_ids), 1000):
                for report in Report.objects.filter(period=period, partner_id__in=chunk):
                    report.period = period  # its programme selected: __str__ costs no query
                    report.partner = partner_by_pk[report.partner_id]
                    self.reports[(period.programme_id, period.label, report.partner_id)] = report
        wanted = set()
        for period, partner_id, project_id, rest in rows:
            report = self.reports[(period.programme_id, period.label, partner_id)]
            if report is not None:
                wanted.add((report.pk, project_id, *rest))
        model = self._meta.model
        names = [f.attname for f in model._meta.concrete_fields]
        positions = [names.index(n) for n in ("report_id", "project_id", *self.key_fields)]
        report_ids = sorted({key[0] for key in wanted})
        reports = {r.pk: r for r in self.reports.values() if r is not None}
        for chunk in chunks(report_ids, 1000):
            for values in model.objects.filter(report_id__in=chunk).values_list(*names):
                key = tuple(values[i] for i in positions)
                if key in wanted:
                    line = model.from_db(model.objects.db, names, values)
                    line.report = reports[key[0]]
                    self.existing[key] = line

    def get_queryset(self):
        return self._meta.model.objects.select_related(
            "report__partner", "report__period", "project"
        )

    def dehydrate_period(self, line):
        return line.report.period.label

    def dehydrate_partner(self, line):
        return line.report.partner.code

    def report_for(self, project, label, partner):
        """The report of `partner` for period `label` of the project's programme, or None."""
        key = (project.programme_id, label, partner.pk)
        if key not in self.reports:
            period = self.periods.get(project.programme_id, label)
            report = None
            if period is not None:
                report = (
                    Report.objects.select_related("period", "partner")
                    .filter(period=period, partner=partner)
                    .first()
                )
            self.reports[key] = report
            if report is not None:
                self.load_existing(report)
        return self.reports[key]

    def load_existing(self, report):
        for line in self._meta.model.objects.filter(report=report):
            line.report = report
            self.existing[self.key_of(line)] = line

    def key_of(self, line):
        return (line.report_id, line.project_id) + tuple(
            getattr(line, name) for name in self.key_fields
        )

    def resolve(self, row):
        """(report, project) of a row, or raise ValueError/ValidationError naming the column."""
        project = self.fields["project"].clean(row)
        partner = self.fields["partner"].clean(row)
        label = self.fields["period"].clean(row)
        report = self.report_for(project, label, partner)
        if report is None:
            if self.periods.get(project.programme_id, label) is None:
                message = _("période inconnue « %(label)s » du programme %(programme)s") % {
                    "label": label,
                    "programme": project.programme.code,
                }
            else:
                message = _("aucun rapport de %(partner)s pour la période %(label)s") % {
                    "partner": partner.code,
                    "label": label,
                }
            raise ValidationError({"period": message})
        return report, project

    def get_instance(self, instance_loader, row):
        try:
            report, project = self.resolve(row)
            rest = tuple(self.fields[name].clean(row) for name in self.key_fields)
        except (ValueError, ValidationError, KeyError):
            return None
        instance = self.existing.get((report.pk, project.pk) + rest)
        if instance is not None:
            instance.import_period_label = report.period.label
            instance.import_partner = report.partner
        return instance

    def check_row(self, instance, row, errors):
        if {"import_partner", "project", "import_period_label"} & errors.keys():
            return
        report, _project = self.resolve(row)
        instance.report = report

    def natural_key(self, instance):
        return self.key_of(instance)

    # Uniqueness is settled without a query per row: existing lines are loaded by report and
    # duplicates within the file are caught by check_duplicate(). The check constraints mirror
    # the fields' validators, which full_clean() runs.
    validate_unique = False
    validate_constraints = False

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.create_instances and (using_transactions or not dry_run):
            try:
                bulk_create_with_history(
                    self.create_instances,
                    self._meta.model,
                    batch_size=batch_size,
                    default_change_reason=IMPORT_REASON,
                )
            except Exception as error:
                self.handle_import_error(result, error, raise_errors)
            finally:
                self.create_instances.clear()

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if self.update_instances and (using_transactions or not dry_run):
            try:
                bulk_update_with_history(
                    self.update_instances,
                    self._meta.model,
                    self.get_bulk_update_fields(),
                    batch_size=batch_size,
                    default_change_reason=IMPORT_REASON,
                )
            except Exception as error:
                self.handle_import_error(result, error, raise_errors)
            finally:
                self.update_instances.clear()

    def get_bulk_update_fields(self):
        concrete = {f.name for f in self._meta.model._meta.concrete_fields}
        return [
            f.attribute
            for f in self.get_import_fields()
            if f.attribute in concrete
            and f.attribute not in ("project",)
            and f.attribute not in self.key_fields
        ]


class InvestmentResource(LineResource):
    amount = money_field("amount")
    category = choice_field("category", InvestmentCategory)
    performer = choice_field("performer", Performer)

    key_fields = ("category", "performer")

    class Meta(LineResource.Meta):
        model = InvestmentLine
        fields = ("period", "partner", "project", "amount", "category", "performer")
        import_id_fields = ("period", "partner", "project", "category", "performer")


class JobResource(LineResource):
    direct = fields.Field(attribute="direct", column_name="direct", widget=IntegerWidget())
    indirect = fields.Field(attribute="indirect", column_name="indirect", widget=IntegerWidget())

    class Meta(LineResource.Meta):
        model = JobLine
        fields = ("period", "partner", "project", "direct", "indirect")
        import_id_fields = ("period", "partner", "project")


class ProductResource(LineResource):
    name = text_field("name")
    sector = code_field(Sector, "sector")
    launch_date = date_field("launch_date")
    uses_programme_technology = fields.Field(
        attribute="uses_programme_technology",
        column_name="uses_programme_technology",
        widget=BooleanWidget(),
    )

    key_fields = ("name",)

    class Meta(LineResource.Meta):
        model = ProductLine
        fields = (
            "period",
            "partner",
            "project",
            "name",
            "sector",
            "launch_date",
            "uses_programme_technology",
        )
        import_id_fields = ("period", "partner", "project", "name")

    def get_queryset(self):
        return super().get_queryset().select_related("sector")


# The contract's resources, in the order in which an empty database can be filled.
RESOURCES = {
    "programmes": ProgrammeResource,
    "periods": PeriodResource,
    "sectors": SectorResource,
    "partners": PartnerResource,
    "projects": ProjectResource,
    "participations": ParticipationResource,
    "reports": ReportResource,
    "investments": InvestmentResource,
    "jobs": JobResource,
    "products": ProductResource,
}
