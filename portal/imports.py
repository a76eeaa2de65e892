"""Reading a bulk file (CSV or XLSX) and importing it through its resource, all or nothing.

Used by `manage.py import_data`; the errors come back as (row, column, message) so that every
caller can say which cell to fix.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import tablib
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _

from portal.resources import RESOURCES

# XLSX files are zip archives: refuse archive bombs before openpyxl expands anything.
XLSX_MAX_ENTRIES = 1_000
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024


class ImportFileError(Exception):
    """The file as a whole cannot be imported (one clear message, no row numbers)."""


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class ImportOutcome:
    resource: str
    rows: int
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self):
        return not self.errors


def resource_for(name):
    try:
        return RESOURCES[name]
    except KeyError:
        raise ImportFileError(
            _("Ressource inconnue « %(name)s » ; ressources : %(names)s.")
            % {"name": name, "names": ", ".join(RESOURCES)}
        ) from None


def read_dataset(path):
    """A tablib Dataset from a CSV (UTF-8) or XLSX file on disk."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(_("Fichier introuvable : %(path)s") % {"path": path})
    size = path.stat().st_size
    if size > settings.IMPORT_MAX_FILE_BYTES:
        raise _too_big(size)
    return dataset_from_bytes(path.read_bytes(), name=path.name)


def dataset_from_bytes(content, *, name=""):
    """A tablib Dataset from the bytes of a CSV or XLSX file: what the command and the admin read.

    Headers are stripped, blank rows skipped, short rows padded (a CSV may omit trailing empty
    cells); the size, the row count and an XLSX's uncompressed size are capped."""
    if len(content) > settings.IMPORT_MAX_FILE_BYTES:
        raise _too_big(len(content))
    if zipfile.is_zipfile(io.BytesIO(content)):
        dataset = _read_xlsx(content)
    elif name.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise ImportFileError(_("Ce fichier n'est pas un classeur XLSX lisible."))
    else:
        dataset = _read_csv(content)
    if len(dataset) > settings.IMPORT_MAX_ROWS:
        raise ImportFileError(
            _("Trop de lignes (%(rows)s ; maximum %(max)s).")
            % {"rows": len(dataset), "max": settings.IMPORT_MAX_ROWS}
        )
    return dataset


def _too_big(size):
    return ImportFileError(
        _("Fichier trop gros (%(size)s octets ; maximum %(max)s).")
        % {"size": size, "max": settings.IMPORT_MAX_FILE_BYTES}
    )


def _read_csv(content):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("Ce fichier n'est ni un CSV en UTF-8 ni un classeur XLSX.")
        ) from None
    if "\x00" in text:
        raise ImportFileError(_("Ce fichier n'est ni un CSV en UTF-8 ni un classeur XLSX."))
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if _filled(row)]
    except csv.Error as error:
        raise ImportFileError(_("Ce CSV est illisible : %(error)s.") % {"error": error}) from None
    if not rows:
        raise ImportFileError(_("Le fichier est vide : il faut au moins la ligne d'en-tête."))
    return _dataset(rows[0], rows[1:])


def _filled(row):
    return any(cell is not None and str(cell).strip() != "" for cell in row)


def _read_xlsx(content):
    from openpyxl import load_workbook  # openpyxl uses defusedxml when it is installed

    try:
        entries = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except zipfile.BadZipFile:
        raise ImportFileError(_("Ce fichier n'est pas un classeur XLSX lisible.")) from None
    if len(entries) > XLSX_MAX_ENTRIES or sum(e.file_size for e in entries) > XLSX_MAX_UNCOMPRESSED:
        raise ImportFileError(_("Ce classeur est anormalement volumineux une fois décompressé."))
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ImportFileError(_("Ce fichier n'est pas un classeur XLSX lisible.")) from None
    rows = []
    for values in workbook.worksheets[0].iter_rows(values_only=True):
        if _filled(values):
            rows.append(["" if v is None else v for v in values])
        if len(rows) > settings.IMPORT_MAX_ROWS + 1:
            break
    workbook.close()
    if not rows:
        raise ImportFileError(_("Le classeur est vide : il faut au moins la ligne d'en-tête."))
    return _dataset(rows[0], rows[1:])


def _dataset(header, rows):
    header = [str(h).strip().lstrip("\ufeff") for h in header]
    # Trailing empty header cells are formatting, not columns.
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    overlong = [n for n, row in enumerate(rows, 1) if _filled(row[width:])]
    if overlong:
        raise ImportFileError(
            _("Lignes %(rows)s : plus de cellules que les %(width)s colonnes de l'en-tête.")
            % {"rows": ", ".join(map(str, overlong[:10])), "width": width}
        )
    dataset = tablib.Dataset(headers=header)
    for row in rows:
        dataset.append(list(row[:width]) + [""] * (width - len(row)))
    return dataset


def check_columns(resource_class, dataset):
    problems = resource_class.header_problems(dataset.headers)
    if problems:
        raise ImportFileError(problems)


def import_file(resource_name, path, *, dry_run=False):
    """Import `path` into `resource_name`: everything or nothing, every bad cell reported."""
    resource_class = resource_for(resource_name)
    dataset = read_dataset(path)
    check_columns(resource_class, dataset)
    return import_dataset(resource_class, dataset, dry_run=dry_run, name=resource_name)


def import_dataset(resource_class, dataset, *, dry_run=False, name=""):
    resource = resource_class()
    result = resource.import_data(
        dataset,
        dry_run=dry_run,
        use_transactions=True,
        rollback_on_validation_errors=True,
        raise_errors=False,
    )
    outcome = ImportOutcome(resource=name, rows=len(dataset), dry_run=dry_run)
    for invalid in result.invalid_rows:
        for attribute, messages in invalid.error_dict.items():
            column = "-" if attribute == NON_FIELD_ERRORS else resource.column_of(attribute)
            for message in messages:
                outcome.errors.append(RowError(invalid.number, column, _clean_message(message)))
    for number, errors in result.row_errors():
        for error in errors:
            outcome.errors.append(RowError(number, "-", _clean_message(error.error)))
    for error in result.base_errors:
        outcome.errors.append(RowError(0, "-", _clean_message(error.error)))
    outcome.errors.sort(key=lambda e: (e.row, e.column))
    totals = result.totals
    outcome.new, outcome.updated, outcome.unchanged = (
        totals["new"],
        totals["update"],
        totals["skip"],
    )
    return outcome


def _clean_message(message):
    if isinstance(message, ValidationError):
        return " ".join(message.messages)
    return " ".join(str(message).split())
