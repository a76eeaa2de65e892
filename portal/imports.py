"""Reading a bulk file (CSV or XLSX) and importing it through its resource, all or nothing.

Used by `manage.py import_data` and the admin's imports; the errors come back as (row, column,
message) so that every caller can say which cell to fix.

Reading is the part an uploaded file could abuse, so it refuses before it spends: the file's size
(IMPORT_MAX_FILE_BYTES), its kind (CSV in UTF-8 or XLSX, by content and by name), an XLSX
archive's entries (count, total and per-entry expansion, macros, nested archives) before openpyxl
opens it, XML with entities (openpyxl parses through defusedxml), and rows (IMPORT_MAX_ROWS):
both readers stop at the first row past the cap.
"""

import csv
import io
import posixpath
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import tablib
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.resources import RESOURCES

ACCEPTED_SUFFIXES = (".csv", ".xlsx")
# The contract's widest resource has 10 columns; a header may not have more than this.
MAX_COLUMNS = 64
# A CSV line longer than this is not a line of the contract (csv's own cap is 128 KiB a field).
CSV_MAX_LINE = 1024 * 1024
# XLSX files are zip archives: refuse archive bombs before openpyxl expands anything.
XLSX_MAX_ENTRIES = 1_000
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
# One entry may not expand more than this many times (Apache POI's default, 1 % minimum inflate
# ratio; real sheets expand 10-20 times), once it is bigger than XLSX_RATIO_GRACE.
XLSX_MAX_RATIO = 100
XLSX_RATIO_GRACE = 1024 * 1024
# openpyxl reads a worksheet row by row, but every other part whole, as a tree about twelve times
# its size (a 100 MB relationships part: 31 s and 1.2 GB): only worksheets may be bigger than this.
XLSX_MAX_PART = 16 * 1024 * 1024
WORKSHEET_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003, encrypted workbooks, embedded objects
# What a file is, from its first bytes, when it is neither CSV nor XLSX.
_SIGNATURES = [
    (b"%PDF-", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (_OLE2, gettext_lazy("XLS (Excel 97-2003) ou chiffré")),
    (b"\x1f\x8b", "GZIP"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"Rar!\x1a\x07", "RAR"),
]
# Archives (and OLE containers) inside an XLSX: nothing a data sheet needs, and a bomb's way in.
_NESTED = (*_ZIP, b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", _OLE2)
_NESTED_SUFFIXES = (".zip", ".xlsx", ".xlsm", ".xlsb", ".docx", ".pptx", ".gz", ".7z", ".rar")


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
    if path.stat().st_size > settings.IMPORT_MAX_FILE_BYTES:
        raise too_big()
    return dataset_from_bytes(path.read_bytes(), name=path.name)


def dataset_from_bytes(content, *, name=""):
    """A tablib Dataset from the bytes of a CSV or XLSX file: what the command and the admin read.

    `name` is the file's name: its extension, when it has one, must be .csv or .xlsx and agree
    with the content. Headers are stripped, blank rows skipped, short rows padded (a CSV may omit
    trailing empty cells)."""
    if len(content) > settings.IMPORT_MAX_FILE_BYTES:
        raise too_big()
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in ACCEPTED_SUFFIXES:
        raise ImportFileError(wrong_suffix(name, suffix))
    if content.startswith(_ZIP) or zipfile.is_zipfile(io.BytesIO(content)):
        if suffix == ".csv":
            raise ImportFileError(
                _(
                    "Ce fichier porte l'extension .csv mais c'est une archive ZIP (un classeur "
                    "XLSX ?) : renommez-le en .xlsx ou enregistrez-le en CSV."
                )
            )
        return _read_xlsx(content)
    if suffix == ".xlsx":
        raise ImportFileError(_("Ce fichier n'est pas un classeur XLSX lisible."))
    return _read_csv(content)


def too_big():
    return ImportFileError(
        _("Fichier trop gros : le maximum est %(max)s.")
        % {"max": filesizeformat(settings.IMPORT_MAX_FILE_BYTES)}
    )


def wrong_suffix(name, suffix):
    hints = {
        ".xls": _("l'ancien format d'Excel : enregistrez-le en .xlsx ou en CSV UTF-8"),
        ".xlsm": _("un classeur avec macros : enregistrez-le en .xlsx, sans macros"),
        ".xlsb": _("un classeur binaire : enregistrez-le en .xlsx"),
        ".ods": _("un classeur OpenDocument : enregistrez-le en .xlsx ou en CSV UTF-8"),
    }
    message = _(
        "« %(name)s » : seuls les fichiers CSV (.csv, en UTF-8) et XLSX (.xlsx) sont acceptés."
    ) % {"name": name}
    if suffix in hints:
        message += " " + _("%(suffix)s est %(hint)s.") % {"suffix": suffix, "hint": hints[suffix]}
    return message


def _too_many_rows():
    return ImportFileError(
        _("Trop de lignes : plus de %(max)s lignes de données, le maximum.")
        % {"max": settings.IMPORT_MAX_ROWS}
    )


def _too_many_blank_rows(limit):
    return ImportFileError(
        _(
            "Trop de lignes : plus de %(limit)s, lignes vides comprises (le maximum est %(max)s "
            "lignes de données)."
        )
        % {"limit": limit, "max": settings.IMPORT_MAX_ROWS}
    )


def _row_limits():
    """(data rows, rows read at most, blank ones included): a reader stops at the first past."""
    data_rows = settings.IMPORT_MAX_ROWS
    return data_rows, 2 * (data_rows + 1)


# --- CSV -------------------------------------------------------------------------------------------


def _read_csv(content):
    for signature, kind in _SIGNATURES:
        if content.startswith(signature):
            raise ImportFileError(
                _(
                    "Ce fichier n'est ni un CSV en UTF-8 ni un classeur XLSX : c'est un fichier %(kind)s."
                )
                % {"kind": kind}
            )
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            _(
                "Ce CSV est en UTF-16 : enregistrez-le en « CSV UTF-8 » (Excel : Enregistrer "
                "sous, CSV UTF-8)."
            )
        )
    if b"\x00" in content:
        raise ImportFileError(
            _(
                "Ce fichier n'est ni un CSV en UTF-8 ni un classeur XLSX : il contient des "
                "octets nuls (un CSV en UTF-16 ?)."
            )
        )
    data_rows, most_rows = _row_limits()
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    rows = []
    try:
        for number, row in enumerate(csv.reader(_csv_lines(text)), 1):
            if number > most_rows:
                raise _too_many_blank_rows(most_rows)
            if _filled(row):
                rows.append(row)
                if len(rows) > data_rows + 1:
                    raise _too_many_rows()
    except UnicodeDecodeError:
        raise ImportFileError(
            _("Ce fichier n'est ni un CSV en UTF-8 ni un classeur XLSX.")
        ) from None
    except csv.Error as error:
        raise ImportFileError(_("Ce CSV est illisible : %(error)s.") % {"error": error}) from None
    if not rows:
        raise ImportFileError(_("Le fichier est vide : il faut au moins la ligne d'en-tête."))
    return _dataset(rows[0], rows[1:])


def _csv_lines(text):
    """The file's lines for csv.reader, none longer than CSV_MAX_LINE (a line is read whole)."""
    number = 0
    while line := text.readline(CSV_MAX_LINE + 1):
        number += 1
        if len(line) > CSV_MAX_LINE:
            raise ImportFileError(
                _("Ligne %(line)s : plus de %(max)s caractères, ce n'est pas une ligne de CSV.")
                % {"line": number, "max": CSV_MAX_LINE}
            )
        yield line


def _filled(row):
    return any(cell is not None and str(cell).strip() != "" for cell in row)


# --- XLSX ------------------------------------------------------------------------------------------


def _read_xlsx(content):
    _check_archive(content)
    from openpyxl import load_workbook

    if not xml_is_defused():
        raise ImportFileError(
            _(
                "La lecture des classeurs XLSX est désactivée sur ce serveur (defusedxml n'est "
                "pas actif) : envoyez le fichier en CSV UTF-8."
            )
        )
    unreadable = ImportFileError(_("Ce fichier n'est pas un classeur XLSX lisible."))
    try:
        workbook = load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False
        )
    except Exception:
        raise unreadable from None
    data_rows, most_rows = _row_limits()
    rows = []
    try:
        sheet = workbook.worksheets[0]
        # The sheet's own <dimension> is not trusted: too small, openpyxl drops the rows past it;
        # too big (A1:XFD1048576), it pads every row to 16 384 cells.
        sheet.reset_dimensions()
        cells = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(cells, 1):
            if number > most_rows:
                raise _too_many_blank_rows(most_rows)
            if _filled(values):
                rows.append(["" if v is None else v for v in values])
                if len(rows) > data_rows + 1:
                    raise _too_many_rows()
    except ImportFileError:
        raise
    except Exception:
        # The sheet is parsed as it is read: bad XML, an entity (defusedxml), a bad CRC.
        raise unreadable from None
    finally:
        workbook.close()
    if not rows:
        raise ImportFileError(_("Le classeur est vide : il faut au moins la ligne d'en-tête."))
    return _dataset(rows[0], rows[1:])


def xml_is_defused():
    """Whether openpyxl parses XML through defusedxml (no entities, so no billion laughs and no
    external entity): it does when defusedxml is installed, unless OPENPYXL_DEFUSEDXML=False."""
    import openpyxl
    from openpyxl.xml import functions

    return openpyxl.DEFUSEDXML and functions.iterparse.__module__.startswith("defusedxml")


def _check_archive(content):
    """Refuse what openpyxl should never open, from the zip's directory and a peek at each entry:
    too many entries, too much once expanded (in all, one entry for its compressed size, or a
    part that is not a worksheet), encryption or compression methods a workbook never uses,
    macros, an OpenDocument file, and archives within the archive. Python's zipfile never expands an entry past the size the
    directory declares (a lie there ends in a CRC error), so these sizes bound what follows."""
    unreadable = ImportFileError(_("Ce fichier n'est pas un classeur XLSX lisible."))
    bomb = ImportFileError(_("Ce classeur est anormalement volumineux une fois décompressé."))
    # zipfile reads the whole directory before anyone can count it (2.8 s and 232 MiB for the
    # 400 000 entries of a 35 MB file): count its records' signatures first.
    if content.count(b"PK\x01\x02") > XLSX_MAX_ENTRIES:
        raise bomb
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise unreadable from None
    if len(entries) > XLSX_MAX_ENTRIES:
        raise bomb
    if sum(entry.file_size for entry in entries) > XLSX_MAX_UNCOMPRESSED:
        raise bomb
    for entry in entries:
        if entry.file_size > XLSX_RATIO_GRACE and (
            entry.file_size > XLSX_MAX_RATIO * max(entry.compress_size, 1)
        ):
            raise bomb
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise unreadable
        if entry.flag_bits & 0x1:
            raise ImportFileError(
                _("Ce classeur est protégé par un mot de passe : enregistrez-le sans.")
            )
        name = entry.filename.lower()
        if "vbaproject" in name or "/macrosheets/" in name:
            raise ImportFileError(
                _(
                    "Ce classeur contient des macros : enregistrez-le en .xlsx, sans macros "
                    "(les .xlsm ne sont pas acceptés)."
                )
            )
        if name.endswith(_NESTED_SUFFIXES) or "/embeddings/" in name:
            raise _nested(entry)
    try:
        _check_big_parts(archive, entries, bomb)
        names = {entry.filename for entry in entries}
        if "mimetype" in names and archive.read("mimetype")[:100].startswith(
            b"application/vnd.oasis.opendocument"
        ):
            raise ImportFileError(
                _(
                    "C'est un classeur OpenDocument (ODS), pas un XLSX : enregistrez-le en "
                    ".xlsx ou en CSV UTF-8."
                )
            )
        for entry in entries:
            with archive.open(entry) as member:
                if member.read(8).startswith(_NESTED):
                    raise _nested(entry)
    except ImportFileError:
        raise
    except Exception:
        raise unreadable from None


def _check_big_parts(archive, entries, bomb):
    """A part bigger than XLSX_MAX_PART must be a worksheet, and read as one: its content type is
    a worksheet's, and no relationship makes openpyxl read it as anything else (a chart sheet,
    say, which it would parse whole)."""
    big = {entry.filename for entry in entries if entry.file_size > XLSX_MAX_PART}
    if not big:
        return
    if "[Content_Types].xml" in big:
        raise bomb
    worksheets = set()
    for node in fromstring(archive.read("[Content_Types].xml")):
        part = node.get("PartName", "").lstrip("/")
        if node.tag.endswith("}Override") and part in big:
            if node.get("ContentType") != WORKSHEET_CONTENT_TYPE:
                raise bomb  # e.g. declared a worksheet, and shared strings too
            worksheets.add(part)
    if worksheets != big:
        raise bomb
    for rels in (entry.filename for entry in entries if entry.filename.endswith(".rels")):
        source_folder = posixpath.dirname(posixpath.dirname(rels))  # as openpyxl resolves them
        for relationship in fromstring(archive.read(rels)):
            target = relationship.get("Target", "")
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(source_folder, target))
            kind = relationship.get("Type", "")
            if target in big and not kind.endswith("/relationships/worksheet"):
                raise bomb


def _nested(entry):
    return ImportFileError(
        _(
            "Ce classeur contient une archive ou un objet incorporé (%(entry)s) : copiez les "
            "données seules dans un nouveau classeur XLSX."
        )
        % {"entry": entry.filename}
    )


def _dataset(header, rows):
    header = [str(h).strip().lstrip("\ufeff") for h in header]
    # Trailing empty header cells are formatting, not columns.
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    if width > MAX_COLUMNS:
        raise ImportFileError(
            _("L'en-tête a %(width)s colonnes ; le maximum est %(max)s.")
            % {"width": width, "max": MAX_COLUMNS}
        )
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
    """One line, and no control character from a cell (a terminal's escape sequence, in the
    command's output): those are written as their code, `\\u001b`."""
    text = " ".join(message.messages) if isinstance(message, ValidationError) else str(message)
    text = " ".join(text.split())
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cc" else c for c in text)
