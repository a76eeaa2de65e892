"""Writers of the annual figures: JSON, CSV and XLSX. They render; they never compute a figure.

Every text cell goes through `neutralise()`: a cell beginning with = + - @ (or a tab, carriage
return, line feed or NUL) is prefixed with an apostrophe so that a spreadsheet shows it instead of
running it; imports take it off again (`restore()`), so that a round trip keeps the text. Numbers
are never text here, so they stay numbers. A workbook cannot hold most control characters
(openpyxl refuses them): `xlsx_cell()` replaces them, so that a partner's typing never breaks an
export.
"""

import csv
import datetime
import io
import json
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from portal.highlights import (
    FIGURES,
    INVESTMENTS,
    JOBS,
    PARTNERS,
    PRODUCTS,
    PROJECTS,
    SME_RESEARCH,
)
from portal.highlights import figure_rows as drilldown_rows

FORMATS = ("json", "csv", "xlsx")
# A line feed too: a workbook turns a carriage return into one, and the apostrophe must still be
# recognised (and taken off) when the file comes back.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
FIGURES_SHEET = "Faits saillants"
# RFC 4180's line end, for every CSV we write: Python's csv quotes a field holding any character
# of the line end, so with "\n" alone a carriage return inside a text went out bare, and a
# spreadsheet began a new row there (with "Capteur\r=HYPERLINK(...)", a formula cell).
CSV_LINE_END = "\r\n"

_LINE = [
    ("period", "report__period__label"),
    ("partner", "report__partner__code"),
    ("partner_name", "report__partner__name"),
    ("project", "project__code"),
]
_INVESTMENT = [*_LINE, ("category", "category"), ("performer", "performer"), ("amount", "amount")]
# The staff workbook's sheets after the figures: the rows behind each figure (highlights'
# drill-downs), as (drill-down, sheet title, [(column header, field path)]). Headers are the data
# contract's column names, so a sheet reads like an import file.
DRILLDOWN_SHEETS = [
    (
        PROJECTS,
        "Projets",
        [
            ("code", "code"),
            ("title", "title"),
            ("type", "type"),
            ("sector", "sector__code"),
            ("lead_partner", "lead_partner__code"),
            ("start", "start"),
            ("end", "end"),
            ("status", "status"),
        ],
    ),
    (
        PARTNERS,
        "Partenaires",
        [("code", "code"), ("name", "name"), ("kind", "kind"), ("quebec", "quebec")],
    ),
    (INVESTMENTS, "Investissements", _INVESTMENT),
    (SME_RESEARCH, "PME et centres de recherche", _INVESTMENT),
    (JOBS, "Emplois", [*_LINE, ("direct", "direct"), ("indirect", "indirect")]),
    (
        PRODUCTS,
        "Nouveaux produits",
        [
            *_LINE,
            ("name", "name"),
            ("sector", "sector__code"),
            ("launch_date", "launch_date"),
            ("uses_programme_technology", "uses_programme_technology"),
        ],
    ),
]
_ORDER = {PROJECTS: ("code",), PARTNERS: ("code",)}
_LINE_ORDER = ("report__partner__code", "project__code", "pk")
_NUMBER_FORMATS = {datetime.date: "yyyy-mm-dd", Decimal: "#,##0.00"}


def neutralise(value):
    """A text a spreadsheet would run, with an apostrophe before it. Apostrophes already in front
    of such a text count as part of it (one more is added), so that `restore()` is exact."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(text):
    """The text that `neutralise()` was given: its apostrophe taken off again (imports)."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def xlsx_legal(value):
    """A value a workbook can hold: the control characters XML forbids replaced by U+FFFD."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def xlsx_cell(value):
    """A value as every writer of a workbook puts it in a cell: text neutralised, legal in XML."""
    return xlsx_legal(neutralise(value))


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
    writer = csv.writer(buffer, lineterminator=CSV_LINE_END)
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
    return xlsx_cell(value)


def to_xlsx(highlights, *, drilldowns_of=None):
    """The workbook as bytes (see write_xlsx)."""
    buffer = io.BytesIO()
    write_xlsx(highlights, buffer, drilldowns_of=drilldowns_of)
    return buffer.getvalue()


def write_xlsx(highlights, output, *, drilldowns_of=None):
    """Write the workbook to `output` (a path or binary file): the figures sheet, then, given
    `drilldowns_of` (the period, for staff only), one sheet per drill-down with its rows.

    Write-only mode streams rows to disk, so memory does not grow with the drill-downs' size."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(FIGURES_SHEET)
    for column, width in zip("ABCD", (32, 60, 52, 22), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append(["key", "label_fr", "label_en", "value"])
    for key, label_fr, label_en, value in figure_rows(highlights):
        sheet.append([key, xlsx_cell(label_fr), xlsx_cell(label_en), _xlsx_value(key, value)])
    if drilldowns_of is not None:
        for drilldown, title, columns in DRILLDOWN_SHEETS:
            _append_drilldown(workbook.create_sheet(title), drilldowns_of, drilldown, columns)
    workbook.save(output)


def _append_drilldown(sheet, period, drilldown, columns):
    sheet.append([header for header, _path in columns])
    rows = (
        drilldown_rows(period, drilldown)
        .order_by(*_ORDER.get(drilldown, _LINE_ORDER))
        .values_list(*(path for _header, path in columns))
    )
    for row in rows.iterator(chunk_size=2000):
        sheet.append([_drilldown_cell(sheet, value) for value in row])


def _drilldown_cell(sheet, value):
    """Dates shown as dates and amounts with cents; text neutralised; numbers stay numbers."""
    number_format = _NUMBER_FORMATS.get(type(value))
    if number_format is None:
        return xlsx_cell(value)
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = number_format
    return cell
