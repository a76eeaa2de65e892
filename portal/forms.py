"""The partner's report form: per project, a formset of investment lines, one jobs form and a
formset of products. Amounts are read by `portal.numbers` (`1 234,56` and `1234.56` alike), a job
count left blank stays blank (missing, not zero), and every choice is narrowed to the report.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import Jinja2
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import InvestmentCategory, Performer, english_active
from portal.numbers import parse_decimal
from portal.reporting import ProjectEntry
from portal.templatetags.psm_format import long_date

# Rows per formset: far more than a project needs, few enough that no POST ties up a worker.
MAX_ROWS = 200
# A DecimalField(max_digits=14, decimal_places=2) holds less than a thousand billion dollars.
MAX_AMOUNT = Decimal("999999999999.99")
MAX_COUNT = 2147483647  # PositiveIntegerField on PostgreSQL
BLANK_CHOICE = [("", "—")]
# The report page draws some 80 widgets: Django's own widget templates, drawn by Jinja2, take
# 20 ms less of the page's 65 than through Django's template engine (bench/README.md).
RENDERER = Jinja2()


def money_input(amount):
    """An amount as a person reads and retypes it: `1 234,56` in French, `1,234.56` in English
    (both parsed back by portal.numbers)."""
    if amount is None:
        return ""
    whole, cents = f"{amount:,.2f}".split(".")
    if english_active():
        return f"{whole}.{cents}"
    return f"{whole.replace(',', ' ')},{cents}"


class NumberField(forms.CharField):
    """A number typed the French or the English way (portal.numbers), 0 or more, never guessed;
    blank is None (not zero)."""

    places = 2
    maximum = MAX_AMOUNT
    input_attrs = {}
    too_big = gettext_lazy("Ce nombre est trop élevé.")
    negative = gettext_lazy("Ce nombre ne peut pas être négatif.")

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "autocomplete": "off", **self.input_attrs}

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if len(value) > 40:
            raise ValidationError(self.too_big, code="max_value")
        try:
            number = parse_decimal(value, places=self.places)
        except (ValueError, ArithmeticError) as error:
            raise ValidationError(str(error), code="invalid") from None
        if number < 0:
            raise ValidationError(self.negative, code="min_value")
        if number > self.maximum:
            raise ValidationError(self.too_big, code="max_value")
        return number


class MoneyField(NumberField):
    """Dollars and cents: `1 234,56`, `1234.56` or `1,234.56`."""

    input_attrs = {"inputmode": "decimal", "class": "money-input"}
    too_big = gettext_lazy("Ce montant est trop élevé.")
    negative = gettext_lazy("Un montant ne peut pas être négatif.")

    def prepare_value(self, value):
        return money_input(value) if isinstance(value, Decimal) else value


class CountField(NumberField):
    """A whole number of people."""

    places = 0
    maximum = MAX_COUNT
    input_attrs = {"inputmode": "numeric", "class": "count-input"}
    negative = gettext_lazy("Un nombre d'emplois ne peut pas être négatif.")

    def to_python(self, value):
        number = super().to_python(value)
        return None if number is None else int(number)


class PortalForm(forms.Form):
    """Bootstrap's classes on every input (Django itself adds aria-invalid and aria-describedby
    pointing at `<id>_error` when a field has errors)."""

    default_renderer = RENDERER

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()


class InvestmentForm(PortalForm):
    category = forms.ChoiceField(
        label=gettext_lazy("Catégorie"), choices=BLANK_CHOICE + InvestmentCategory.choices
    )
    performer = forms.ChoiceField(
        label=gettext_lazy("Exécutant"),
        choices=BLANK_CHOICE + Performer.choices,
        help_text=gettext_lazy("Qui a réalisé la dépense."),
    )
    amount = MoneyField(label=gettext_lazy("Montant ($)"))


class JobsForm(PortalForm):
    """Direct and indirect jobs at the end of the period. Both blank: not reported yet."""

    direct = CountField(label=gettext_lazy("Emplois directs"), required=False)
    indirect = CountField(label=gettext_lazy("Emplois indirects"), required=False)

    def clean(self):
        cleaned = super().clean()
        direct, indirect = cleaned.get("direct"), cleaned.get("indirect")
        if (direct is None) != (indirect is None) and not self.errors:
            blank = "indirect" if indirect is None else "direct"
            self.add_error(blank, _("Indiquez aussi ce nombre (0 s'il n'y en a pas)."))
        return cleaned

    @property
    def jobs(self):
        """{"direct", "indirect"} as typed, or None when both were left blank."""
        if self.cleaned_data.get("direct") is None:
            return None
        return {key: self.cleaned_data[key] for key in ("direct", "indirect")}


class ProductForm(PortalForm):
    name = forms.CharField(label=gettext_lazy("Nom du produit"), max_length=200)
    sector = forms.ChoiceField(label=gettext_lazy("Secteur"))
    launch_date = forms.DateField(
        label=gettext_lazy("Date de lancement"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    uses_programme_technology = forms.BooleanField(
        label=gettext_lazy("Intègre une technologie développée dans le programme"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, sectors, period, **kwargs):
        super().__init__(*args, **kwargs)
        self.period = period
        # Choices built once for the page (no query per form).
        self.fields["sector"].choices = BLANK_CHOICE + sectors

    def clean_sector(self):
        return int(self.cleaned_data["sector"])

    def clean_launch_date(self):
        launched = self.cleaned_data["launch_date"]
        if not self.period.start <= launched <= self.period.end:
            raise ValidationError(
                _(
                    "Un nouveau produit de la période %(period)s est lancé entre le %(start)s "
                    "et le %(end)s."
                )
                % {
                    "period": self.period.label,
                    "start": long_date(self.period.start),
                    "end": long_date(self.period.end),
                }
            )
        return launched


class LineFormSet(forms.BaseFormSet):
    """Saved lines first (each required unless ticked for deletion), then extra rows, some
    pre-filled with a suggestion: an extra row left as it was is ignored."""

    key_fields = ()
    duplicate_message = ""

    def __init__(self, *args, saved=0, **kwargs):
        self.saved = saved
        super().__init__(*args, **kwargs)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def initial_form_count(self):
        if self.is_bound:
            return super().initial_form_count()
        return self.saved

    def entered_forms(self):
        """The forms that are lines: saved ones not deleted, and extra rows filled in."""
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):
                continue
            if index >= self.initial_form_count() and not form.has_changed():
                continue
            yield form

    def clean(self):
        # Saved lines leave only through their « Supprimer » box: a page whose counts do not
        # match the report (tampered with, or a project's rows cut short) is refused.
        if self.initial_form_count() != self.saved or self.total_form_count() < self.saved:
            raise ValidationError(
                _("Le formulaire ne correspond plus au rapport : rechargez la page."),
                code="tampered",
            )
        if any(self.errors):
            return
        seen = set()
        for form in self.entered_forms():
            key = tuple(form.cleaned_data.get(name) for name in self.key_fields)
            if key in seen:
                form.add_error(self.key_fields[-1], str(self.duplicate_message))
            seen.add(key)

    def lines(self):
        """The entered lines' values, without the deletion box."""
        return [
            {name: value for name, value in form.cleaned_data.items() if name != "DELETE"}
            for form in self.entered_forms()
        ]


class InvestmentFormSet(
    forms.formset_factory(
        InvestmentForm,
        formset=LineFormSet,
        can_delete=True,
        extra=0,
        max_num=MAX_ROWS,
        absolute_max=MAX_ROWS,
        validate_max=True,
        renderer=RENDERER,
    )
):
    key_fields = ("category", "performer")
    duplicate_message = gettext_lazy(
        "Une autre ligne de ce projet a déjà cette catégorie et cet exécutant : "
        "additionnez les montants sur une seule ligne."
    )
    can_delete_extra = False


class ProductFormSet(
    forms.formset_factory(
        ProductForm,
        formset=LineFormSet,
        can_delete=True,
        extra=0,
        max_num=MAX_ROWS,
        absolute_max=MAX_ROWS,
        validate_max=True,
        renderer=RENDERER,
    )
):
    key_fields = ("name",)
    duplicate_message = gettext_lazy("Ce projet a déjà un produit de ce nom.")
    can_delete_extra = False


class ProjectForms:
    """The three parts of one project's section of the report page."""

    def __init__(self, project, *, data, saved, suggested, sectors, period, more):
        self.project = project
        investments = saved["investments"]
        suggestions = [
            {"category": category, "performer": performer}
            for category, performer in suggested["investments"]
            if not investments
        ]
        inv_prefix, prod_prefix = f"inv-{project.pk}", f"prod-{project.pk}"
        self.investments = InvestmentFormSet(
            data,
            prefix=inv_prefix,
            saved=len(investments),
            initial=[
                {"category": line.category, "performer": line.performer, "amount": line.amount}
                for line in investments
            ]
            + suggestions,
        )
        self.investments.extra = len(suggestions) + (3 if more == inv_prefix else 1)
        jobs = saved["jobs"]
        self.jobs = JobsForm(
            data,
            prefix=f"jobs-{project.pk}",
            initial={"direct": jobs.direct, "indirect": jobs.indirect} if jobs else None,
        )
        products = saved["products"]
        self.products = ProductFormSet(
            data,
            prefix=prod_prefix,
            saved=len(products),
            initial=[
                {
                    "name": line.name,
                    "sector": line.sector_id,
                    "launch_date": line.launch_date,
                    "uses_programme_technology": line.uses_programme_technology,
                }
                for line in products
            ],
            form_kwargs={"sectors": sectors, "period": period},
        )
        self.products.extra = 3 if more == prod_prefix else 1
        self.last_year = suggested

    def is_valid(self):
        # Validate all three (no short-circuit): every error shows at once.
        return all([self.investments.is_valid(), self.jobs.is_valid(), self.products.is_valid()])

    @property
    def errors_count(self):
        return (
            self.investments.total_error_count()
            + len(self.jobs.errors)
            + self.products.total_error_count()
        )

    def entry(self):
        return ProjectEntry(
            investments=self.investments.lines(),
            jobs=self.jobs.jobs,
            products=[
                {**values, "sector_id": values.pop("sector")} for values in self.products.lines()
            ],
        )

    @property
    def total(self):
        return sum((amount for amount in self.amounts() if amount is not None), Decimal("0.00"))

    def typed(self):
        """The rows as typed (raw values, nothing validated), without blank and deleted ones."""
        texts = []

        def raw(form, name):
            return str(form[name].value() or "").strip()

        def label(form, name):
            choices = {str(value): text for value, text in form.fields[name].choices}
            return choices.get(raw(form, name), raw(form, name))

        for form in self.investments.forms:
            if raw(form, "amount") and not (form.fields.get("DELETE") and form["DELETE"].value()):
                texts.append(
                    f"{label(form, 'category')} / {label(form, 'performer')} : "
                    f"{raw(form, 'amount')} $"
                )
        direct, indirect = raw(self.jobs, "direct"), raw(self.jobs, "indirect")
        if direct or indirect:
            texts.append(
                _("Emplois : %(direct)s directs, %(indirect)s indirects")
                % {"direct": direct or "—", "indirect": indirect or "—"}
            )
        for form in self.products.forms:
            if raw(form, "name") and not (form.fields.get("DELETE") and form["DELETE"].value()):
                texts.append(
                    _("Produit « %(name)s », %(sector)s, lancé le %(date)s")
                    % {
                        "name": raw(form, "name"),
                        "sector": label(form, "sector"),
                        "date": raw(form, "launch_date") or "—",
                    }
                )
        return texts

    def amounts(self):
        """The amounts the page shows (valid ones), for the running totals."""
        formset = self.investments
        if not formset.is_bound:
            return [line["amount"] for line in formset.initial[: formset.saved]]
        return [
            form.cleaned_data.get("amount")
            for form in formset.entered_forms()
            if hasattr(form, "cleaned_data")
        ]


class ReportForms:
    """Every project's forms of one report page, bound to a POST or filled from saved lines."""

    def __init__(self, *, projects, saved, suggested, sectors, period, data=None, more=None):
        self.sections = [
            ProjectForms(
                project,
                # A project that was not on the page the person loaded (it became reportable
                # since) is shown fresh, and its lines are left as they are.
                data=data if data is None or f"inv-{project.pk}-TOTAL_FORMS" in data else None,
                saved=saved.for_project(project.pk),
                suggested=suggested.for_project(project.pk),
                sectors=sectors,
                period=period,
                more=more,
            )
            for project in projects
        ]
        self.posted = [section for section in self.sections if section.jobs.is_bound]

    def is_valid(self):
        valid = [section.is_valid() for section in self.posted]  # every section's errors at once
        return all(valid)

    def tampered(self):
        """Whether a formset's counts do not match the page this report gives (more rows than a
        page can hold, saved lines missing): such a POST is refused before any validation."""
        for section in self.posted:
            for formset in (section.investments, section.products):
                counts = formset.management_form
                if not counts.is_valid():
                    return True
                total, initial = (
                    counts.cleaned_data["TOTAL_FORMS"],
                    counts.cleaned_data["INITIAL_FORMS"],
                )
                if total > MAX_ROWS or initial != formset.saved or total < initial:
                    return True
        return False

    def typed(self):
        """What the person typed, project by project, as text: shown when a save is refused, so
        that nothing typed is lost."""
        return [(section.project, section.typed()) for section in self.posted]

    @property
    def errors_count(self):
        return sum(section.errors_count for section in self.sections)

    @property
    def total(self):
        return sum((section.total for section in self.sections), Decimal("0.00"))

    def entries(self):
        return {section.project.pk: section.entry() for section in self.posted}
