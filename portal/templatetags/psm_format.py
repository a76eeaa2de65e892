"""How the highlights write numbers and dates, one place per locale (fr-ca by default, en).

Django's `number_format` truncates and Babel rounds half-even; the published page rounds half-up
(39,25 M$ → 39,3 M$), so every figure is quantized from a Decimal here, then written by hand.
French groups thousands and separates units with a no-break space (U+00A0) so that a figure
never wraps; English writes `$39.3M`, `1,234`, "April 1, 2019". Empty values read "—".
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.translation import get_language

register = template.Library()

NBSP = "\u00a0"
EMPTY = "—"
MILLION = Decimal(1_000_000)

MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def english():
    return (get_language() or "").startswith("en")


def _decimal(value):
    # str() first: a float's repr is what was meant (0.1 → 0.1, not 0.1000000000000000055...).
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _number(value, places, *, strip_zeros=False):
    """`value` rounded half-up to `places` decimals, grouped in the active locale: 1 234,5 / 1,234.5."""
    rounded = _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _dot, fraction = f"{abs(rounded):f}".partition(".")
    if strip_zeros:
        fraction = fraction.rstrip("0")
    group = "," if english() else NBSP
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    text = group.join([whole, *groups])
    if fraction:
        text += ("." if english() else ",") + fraction
    return sign + text


def _empty(value):
    return value is None or value == ""


@register.filter
def integer(value):
    """474 → « 474 », 1234 → « 1 234 » / "1,234"."""
    return EMPTY if _empty(value) else _number(value, 0)


@register.filter
def money(value):
    """1234567 → « 1 234 567 $ » / "$1,234,567"; cents only when there are some (« 12,50 $ »)."""
    if _empty(value):
        return EMPTY
    amount = _decimal(value)
    places = 0 if amount == amount.to_integral_value() else 2
    text = _number(amount, places)
    if english():
        return f"-${text[1:]}" if text.startswith("-") else f"${text}"
    return f"{text}{NBSP}$"


@register.filter
def money_millions(value, places=1):
    """39286412.50 → « 39,3 M$ » / "$39.3M": millions to one decimal (or `places`), half-up."""
    if _empty(value):
        return EMPTY
    text = _number(_decimal(value) / MILLION, int(places))
    return f"${text}M" if english() else f"{text}{NBSP}M$"


@register.filter
def money_millions_words(value):
    """26750000 → « 26,75 millions de dollars » / "$26.75 million"; up to two decimals."""
    if _empty(value):
        return EMPTY
    millions = _decimal(value) / MILLION
    text = _number(millions, 2, strip_zeros=True)
    if english():
        return f"${text}{NBSP}million"
    # French: « million » is singular below two (1,5 million de dollars).
    noun = "millions" if abs(millions) >= 2 else "million"
    return f"{text}{NBSP}{noun} de dollars"


@register.filter
def percent(value):
    """A fraction: Decimal("0.1505") → « 15,1 % » / "15.1%"."""
    if _empty(value):
        return EMPTY
    text = _number(_decimal(value) * 100, 1)
    return f"{text}%" if english() else f"{text}{NBSP}%"


def _as_date(value):
    if isinstance(value, datetime.datetime):
        from django.utils import timezone

        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


@register.filter
def long_date(value):
    """2019-04-01 → « 1er avril 2019 » / "April 1, 2019" (a datetime is read in local time)."""
    if _empty(value):
        return EMPTY
    day = _as_date(value)
    if english():
        return f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"
    ordinal = "1er" if day.day == 1 else str(day.day)
    return f"{ordinal} {MONTHS_FR[day.month - 1]} {day.year}"


@register.filter
def date_range(start, end):
    """{{ start|date_range:end }} → « Du 1er avril 2019 au 31 mars 2020 » /
    "April 1, 2019 to March 31, 2020"."""
    if _empty(start) or _empty(end):
        return EMPTY
    if english():
        return f"{long_date(start)} to {long_date(end)}"
    return f"Du {long_date(start)} au {long_date(end)}"


# Reasons that take « la » in French (« en raison de la COVID-19 »). Anything else written with
# its article (« la grève », « des inondations ») is contracted by the rule in `because`.
FEMININE_REASONS = {"covid-19", "covid", "pandémie", "grève", "pandémie de covid-19"}


@register.filter
def because(reason):
    """The cause of an extension as a clause: « COVID-19 » → « en raison de la COVID-19 » /
    "because of COVID-19"; a reason that French cannot place after « de » generically reads
    « en raison de : <reason> »."""
    reason = (reason or "").strip().rstrip(".")
    if not reason:
        return ""
    if english():
        return f"because of {reason}"
    lowered = reason.lower()
    if lowered in FEMININE_REASONS:
        return f"en raison de la {reason}"
    for prefix in ("de ", "du ", "des ", "d'", "d’"):
        if lowered.startswith(prefix):
            return f"en raison {reason}"
    contractions = {"le ": "du ", "les ": "des ", "la ": "de la ", "l'": "de l'", "l’": "de l’"}
    for article, contracted in contractions.items():
        if lowered.startswith(article):
            return f"en raison {contracted}{reason[len(article) :]}"
    return f"en raison de : {reason}"
