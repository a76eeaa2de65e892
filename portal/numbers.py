"""Locale-independent parsing of the numbers people type: `1 234,56`, `1234.56`, `1,234.56`.

One parser shared by the import files and the forms, so that both accept exactly the same input
whatever the active language (Django's own parsing follows the locale and misreads `1 234,56`).
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

CENT = Decimal("0.01")
_NOT_A_NUMBER = gettext_noop("« %(value)s » n'est pas un nombre.")
# ASCII digits only: Python's \d also matches ١٢٣ or １２３, which people do not mean to type.
# Thousands grouped by a space, a no-break space or a narrow no-break space: 1 234 567,89.
_SPACE_GROUPED = re.compile(r"[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?", re.ASCII)
# Thousands grouped by commas, English style: 1,234,567 or 1,234.56.
_COMMA_GROUPED = re.compile(r"[+-]?\d{1,3}((,\d{3}){2,}(\.\d+)?|,\d{3}\.\d+)", re.ASCII)
# One comma then three digits: 250,000 is a quarter of a million or 250 with three decimals.
_AMBIGUOUS = re.compile(r"[+-]?\d{1,3},\d{3}", re.ASCII)
_PLAIN = re.compile(r"[+-]?\d+([.,]\d+)?", re.ASCII)


def _normalise(text):
    """The number as Python's Decimal reads it, or ValueError for what could be misread."""
    if _SPACE_GROUPED.fullmatch(text):
        return re.sub(r"[ \u00a0\u202f]", "", text).replace(",", ".")
    if _COMMA_GROUPED.fullmatch(text):
        return text.replace(",", "")
    if _AMBIGUOUS.fullmatch(text):
        raise ValueError(
            _("« %(value)s » est ambigu : écrivez %(whole)s ou %(decimal)s.")
            % {"value": text, "whole": text.replace(",", ""), "decimal": text[:-1]}
        )
    if _PLAIN.fullmatch(text):
        return text.replace(",", ".")
    raise ValueError(_(_NOT_A_NUMBER) % {"value": text})


def parse_decimal(value, *, places):
    """Parse `value` into a Decimal with at most `places` decimals; raise ValueError (in French).

    Accepted: 1234.56, 1234,56, 1 234,56 (space, no-break or narrow no-break space), 1,234.56.
    Refused rather than guessed: 250,000 (ambiguous), more decimals than `places`, 1.234,56."""
    if isinstance(value, bool):
        raise ValueError(_(_NOT_A_NUMBER) % {"value": value})
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # Spreadsheet cells arrive as floats: their shortest repr is what the person typed.
        if value.is_integer():
            value = int(value)
        number = Decimal(repr(value))
    else:
        number = Decimal(_normalise(str(value).strip()))
    try:
        if not number.is_finite():
            raise ValueError(_(_NOT_A_NUMBER) % {"value": value})
    except InvalidOperation:
        raise ValueError(_(_NOT_A_NUMBER) % {"value": value}) from None
    if number.as_tuple().exponent < -places:
        if places == 0:
            raise ValueError(_("« %(value)s » n'est pas un nombre entier.") % {"value": value})
        raise ValueError(
            ngettext(
                "« %(value)s » a plus de %(places)s décimale.",
                "« %(value)s » a plus de %(places)s décimales.",
                places,
            )
            % {"value": value, "places": places}
        )
    return number


def parse_money(value):
    """An amount in dollars, to the cent."""
    return parse_decimal(value, places=2)


def round_money(value):
    """Money rounded half-up to the cent (the SQL sum may come back as a float on SQLite)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
