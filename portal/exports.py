"""Writers of the annual figures: JSON, CSV and XLSX. They render; they never compute a figure.

Every text cell goes through `neutralise()`: a cell beginning with = + - @ (or a tab, carriage
return or NUL) is prefixed with an apostrophe so that a spreadsheet shows it instead of running it.
"""

import csv
import io
import json
from decimal import Decimal

from portal.highlights import FIGURES

FORMATS = ("json", "csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def figure_rows(highlights):
    """(key, French label, English label, value) for every figure, values as in the JSON."""
    data = highlights.as_json()
    rows = []
    for key, label_fr, label_en in FIGURES:
        value = data[key]
        if isinstance(value, list):
            value = "; ".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif value is None:
            value = ""
        rows.append((key, label_fr, label_en, value))
    return rows


def render(highlights, format):
    if format == "json":
        return json.dumps(highlights.as_json(), ensure_ascii=False, indent=2) + "\n"
    if format == "csv":
        return to_csv(highlights)
    if format == "xlsx":
        return to_xlsx(highlights)
    raise ValueError(f"unknown format {format!r}")


def to_csv(highlights):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["key", "label_fr", "label_en", "value"])
    for row in figure_rows(highlights):
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def _xlsx_value(key, value):
    """Numbers stay numbers in the workbook; money and share as decimals, counts as integers."""
    if (
        key
        in (
            "partner_investment",
            "sme_research_spending",
            "cumulative_partner_investment",
            "cumulative_sme_research_share",
        )
        and value != ""
    ):
        return Decimal(value)
    return neutralise(value)


def to_xlsx(highlights):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Faits saillants"
    sheet.append(["key", "label_fr", "label_en", "value"])
    for key, label_fr, label_en, value in figure_rows(highlights):
        sheet.append([key, neutralise(label_fr), neutralise(label_en), _xlsx_value(key, value)])
    for column, width in zip("ABCD", (32, 60, 52, 22), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
