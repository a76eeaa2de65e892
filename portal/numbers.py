"""Locale-independent parsing of the numbers people type: `1 234,56`, `1234.56`, `1,234.56`.

One parser shared by the import files and the forms, so that both accept exactly the same input
whatever the active language (Django's own parsing follows the locale and misreads `1 234,56`).
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CENT = Decimal("0.01")
# Spaces people and spreadsheets put between thousands: space, no-break space, narrow no-break space.
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f]")
_PLAIN = re.compile(r"^[+-]?\d+(\.\d+)?$")


def parse_decimal(value, *, places):
    """Parse `value` into a Decimal with at most `places` decimals; raise ValueError (in French)."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        raise ValueError(_("« %(value)s » n'est pas un nombre.") % {"value": value})
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # Spreadsheet cells arrive as floats: their shortest repr is what the person typed.
        number = Decimal(repr(value))
    else:
        text = _GROUP_SPACES.sub("", str(value).strip())
        if "," in text and "." in text:
            # 1,234.56: the comma groups thousands.
            text = text.replace(",", "")
        elif text.count(",") == 1:
            text = text.replace(",", ".")
        if not _PLAIN.match(text):
            raise ValueError(_("« %(value)s » n'est pas un nombre.") % {"value": value})
        number = Decimal(text)
    try:
        if not number.is_finite():
            raise ValueError(_("« %(value)s » n'est pas un nombre.") % {"value": value})
    except InvalidOperation:
        raise ValueError(_("« %(value)s » n'est pas un nombre.") % {"value": value}) from None
    exponent = number.as_tuple().exponent
    if exponent < -places and number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(
            ngettext(
                "« %(value)s » a plus de %(places)s décimale.",
                "« %(value)s » a plus de %(places)s décimales.",
                places,
            )
            % {"value": value, "places": places}
        )
    return number.quantize(Decimal(1).scaleb(-places)) if exponent < -places else number


def parse_money(value):
    """An amount in dollars, to the cent."""
    return parse_decimal(value, places=2)


def round_money(value):
    """Money rounded half-up to the cent (the SQL sum may come back as a float on SQLite)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
