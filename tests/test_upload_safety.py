"""Upload safety: a bulk file is CSV or XLSX within its size and row caps; archive and XML bombs
are refused before they cost anything; the admin's uploads are capped while they stream in; each
refusal is one clear message through the command and the admin, and nothing is written. Every
export writes formula-like text as text."""

import csv
import glob
import html
import io
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from portal import exports, imports
from portal.admin_imports import UPLOAD_PREFIX
from portal.highlights import PARTNERS, PRODUCTS, figure_rows
from portal.models import Partner, Period, ProductLine, Programme, Sector

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HEADER = "code,name,kind,quebec\n"
IMPORT_URL = reverse("admin:portal_partner_import")
CONFIRM_URL = reverse("admin:portal_partner_process_import")
CAP = 64 * 1024


# --- Files, built small in the test ------------------------------------------------------------


def partners_csv(rows, name="Alpha"):
    return (HEADER + "".join(f"P{n},{name},sme,oui\n" for n in range(rows))).encode()


def partners_xlsx(rows):
    workbook = Workbook()
    workbook.active.append(["code", "name", "kind", "quebec"])
    for n in range(rows):
        workbook.active.append([f"P{n}", "Alpha", "sme", "oui"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rebuild(content, replace=None, add=None, compression=zipfile.ZIP_DEFLATED):
    """The archive again, some entries' data replaced, some added."""
    replace, add = replace or {}, add or {}
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, data in add.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def entry(content, name):
    return zipfile.ZipFile(io.BytesIO(content)).read(name).decode()


def patch_directory(content, name, *, file_size=None, flag_bits=None):
    """The archive with an entry's central-directory record rewritten (a lie about its size)."""
    data = bytearray(content)
    offset = data.find(b"PK\x01\x02")
    while offset != -1:
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_length].decode() == name:
            if file_size is not None:
                struct.pack_into("<I", data, offset + 24, file_size)
            if flag_bits is not None:
                struct.pack_into("<H", data, offset + 8, flag_bits)
            return bytes(data)
        offset = data.find(b"PK\x01\x02", offset + 4)
    raise AssertionError(name)


SHEET = "xl/worksheets/sheet1.xml"
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet_xml(rows, dimension="A1:D1"):
    """A worksheet's XML with inline strings: rows are {row number: [(column letter, text)]}."""
    cells = "".join(
        f'<row r="{number}">'
        + "".join(
            f'<c r="{col}{number}" t="inlineStr"><is><t>{text}</t></is></c>' for col, text in row
        )
        + "</row>"
        for number, row in rows.items()
    )
    return f'<worksheet {MAIN}><dimension ref="{dimension}"/><sheetData>{cells}</sheetData></worksheet>'


def partner_cells(code):
    return [("A", code), ("B", "Alpha"), ("C", "sme"), ("D", "oui")]


HEADER_CELLS = [("A", "code"), ("B", "name"), ("C", "kind"), ("D", "quebec")]


def with_sheet(xml):
    return rebuild(partners_xlsx(0), replace={SHEET: xml})


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 if n > 1 else "")) * 10}">' for n in range(1, 10)
    )
    + "]>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def entity_in_sheet(doctype, reference):
    return with_sheet(doctype + sheet_xml({1: [("A", reference)]}))


def entity_in_shared_strings(doctype, reference):
    """A workbook with a shared-strings part (as Excel writes them) holding the entity."""
    content = partners_xlsx(0)
    types = entry(content, "[Content_Types].xml").replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    strings = f'{doctype}<sst {MAIN} count="1" uniqueCount="1"><si><t>{reference}</t></si></sst>'
    sheet = f'<worksheet {MAIN}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
    return rebuild(
        content,
        replace={"[Content_Types].xml": types, SHEET: sheet},
        add={"xl/sharedStrings.xml": strings},
    )


def entity_in_workbook(doctype, reference):
    content = partners_xlsx(0)
    workbook = entry(content, "xl/workbook.xml").replace('name="Sheet"', f'name="{reference}"')
    return rebuild(content, replace={"xl/workbook.xml": doctype + workbook})


def too_many_entries():
    return rebuild(partners_xlsx(1), add={f"customXml/item{n}.xml": "<a/>" for n in range(1001)})


def declares_a_gigabyte():
    """A few kilobytes whose directory says the sheet expands to 1 GB."""
    return patch_directory(partners_xlsx(1), SHEET, file_size=1024**3)


def one_entry_expands_a_thousand_times():
    return rebuild(partners_xlsx(1), add={"docProps/custom.xml": b" " * (2 * 1024 * 1024)})


def lies_small_about_its_sheet():
    """The directory says 200 bytes; the sheet inflates to megabytes."""
    rows = {1: HEADER_CELLS} | {n: partner_cells(f"P{n}") for n in range(2, 30_000)}
    return patch_directory(with_sheet(sheet_xml(rows)), SHEET, file_size=200)


def ods():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
UTF16 = (HEADER + "A1,École,sme,oui\n").encode("utf-16")
UNREADABLE = "Ce fichier n'est pas un classeur XLSX lisible."
BOMB = "Ce classeur est anormalement volumineux une fois décompressé."

# (name of the file, its bytes, the message) for both the command and the admin.
REFUSED = {
    "xls": ("partners.xls", lambda: OLE2, ".xls est l'ancien format d'Excel"),
    "xls-named-csv": ("partners.csv", lambda: OLE2, "c'est un fichier XLS (Excel 97-2003)"),
    "ods": ("partners.ods", ods, ".ods est un classeur OpenDocument"),
    "ods-named-xlsx": ("partners.xlsx", ods, "C'est un classeur OpenDocument (ODS)"),
    "xlsm": ("partners.xlsm", lambda: partners_xlsx(1), ".xlsm est un classeur avec macros"),
    "macros-named-xlsx": (
        "partners.xlsx",
        lambda: rebuild(partners_xlsx(1), add={"xl/vbaProject.bin": OLE2}),
        "Ce classeur contient des macros",
    ),
    "pdf": ("partners.pdf", lambda: PDF, "seuls les fichiers CSV (.csv, en UTF-8) et XLSX"),
    "pdf-named-csv": ("partners.csv", lambda: PDF, "c'est un fichier PDF"),
    "png": ("logo.png", lambda: PNG, "seuls les fichiers CSV (.csv, en UTF-8) et XLSX"),
    "png-named-csv": ("partners.csv", lambda: PNG, "c'est un fichier PNG"),
    "utf16": ("partners.csv", lambda: UTF16, "Ce CSV est en UTF-16"),
    "utf16-without-bom": ("partners.csv", lambda: UTF16[2:], "il contient des octets nuls"),
    "nul-byte": ("partners.csv", lambda: b"code,name\x00,kind,quebec\n", "octets nuls"),
    "latin-1": ("partners.csv", lambda: HEADER.encode() + "É".encode("latin-1"), "UTF-8"),
    "zip-named-csv": ("partners.csv", lambda: partners_xlsx(1), "porte l'extension .csv mais"),
    "text-named-xlsx": ("partners.xlsx", lambda: partners_csv(1), UNREADABLE),
    "broken-zip": ("partners.xlsx", lambda: b"PK\x03\x04" + b"\x00" * 100, UNREADABLE),
    "password": (
        "partners.xlsx",
        lambda: patch_directory(partners_xlsx(1), SHEET, flag_bits=0x1),
        "protégé par un mot de passe",
    ),
    "bzip2": (
        "partners.xlsx",
        lambda: rebuild(partners_xlsx(1), compression=zipfile.ZIP_BZIP2),
        UNREADABLE,
    ),
    "too-many-entries": ("partners.xlsx", too_many_entries, BOMB),
    "declares-1-gb": ("partners.xlsx", declares_a_gigabyte, BOMB),
    "expands-1000-times": ("partners.xlsx", one_entry_expands_a_thousand_times, BOMB),
    "lies-small": ("partners.xlsx", lies_small_about_its_sheet, UNREADABLE),
    "nested-by-name": (
        "partners.xlsx",
        lambda: rebuild(partners_xlsx(1), add={"xl/embeddings/oleObject1.bin": b"x"}),
        "contient une archive ou un objet incorporé (xl/embeddings/oleObject1.bin)",
    ),
    "nested-zip": (
        "partners.xlsx",
        lambda: rebuild(partners_xlsx(1), add={"xl/media/image1.png": partners_xlsx(1)}),
        "contient une archive ou un objet incorporé (xl/media/image1.png)",
    ),
    "laughs-in-sheet": ("p.xlsx", lambda: entity_in_sheet(LAUGHS, "&lol9;"), UNREADABLE),
    "laughs-in-strings": (
        "p.xlsx",
        lambda: entity_in_shared_strings(LAUGHS, "&lol9;"),
        UNREADABLE,
    ),
    "laughs-in-workbook": ("p.xlsx", lambda: entity_in_workbook(LAUGHS, "&lol9;"), UNREADABLE),
    "xxe-in-sheet": ("p.xlsx", lambda: entity_in_sheet(XXE, "&xxe;"), UNREADABLE),
    "xxe-in-strings": ("p.xlsx", lambda: entity_in_shared_strings(XXE, "&xxe;"), UNREADABLE),
    "xxe-in-workbook": ("p.xlsx", lambda: entity_in_workbook(XXE, "&xxe;"), UNREADABLE),
}


# --- Running them ---------------------------------------------------------------------------


def counts():
    from django.contrib.admin.models import LogEntry

    return {
        model.__name__: model.objects.count()
        for model in (Partner, Programme, Period, Sector, ProductLine, LogEntry)
    }


def kept_uploads():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), UPLOAD_PREFIX + "*")))


def run_command(tmp_path, name, content, resource="partners"):
    """(exit status, what the person reads)."""
    path = tmp_path / name
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_data", resource, str(path), stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, err.getvalue() + str(error)
    return 0, out.getvalue()


def upload(client, name, content, **extra):
    data = {
        "resource": "0",
        "format": "1" if name.endswith(".xlsx") else "0",
        "import_file": SimpleUploadedFile(name, content),
        **extra,
    }
    return client.post(IMPORT_URL, data)


def page(response):
    return html.unescape(response.content.decode())


def file_errors(response):
    return [str(error) for error in response.context["form"].errors.get("import_file", [])]


@pytest.fixture(autouse=True)
def previews_removed_afterwards():
    """A preview keeps its upload until it is confirmed: remove what these tests left."""
    before = kept_uploads()
    yield
    for path in kept_uploads() - before:
        os.remove(path)


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("personnel-import", "p@example.org", "x")
    client.force_login(user)
    return client


@pytest.fixture
def caps(settings):
    settings.IMPORT_MAX_FILE_BYTES = CAP
    settings.IMPORT_MAX_ROWS = 5
    return settings


# --- One clear message each, nothing written ------------------------------------------------


class TestWhatIsAcceptedCommand:
    @pytest.mark.parametrize("case", REFUSED)
    def test_it_refuses_with_one_message_and_writes_nothing(self, tmp_path, case):
        name, build, message = REFUSED[case]
        before = counts()
        started = time.monotonic()

        code, output = run_command(tmp_path, name, build())

        assert code == 1
        assert message in output
        assert len(output.strip().splitlines()) == 1, output
        assert "root:" not in output and "Traceback" not in output
        assert time.monotonic() - started < 10
        assert counts() == before

    def test_an_empty_file_is_named_empty(self, tmp_path):
        code, output = run_command(tmp_path, "partners.csv", b"")

        assert code == 1 and "Le fichier est vide" in output
        assert Partner.objects.count() == 0

    @pytest.mark.parametrize("name, content", [("p.csv", partners_csv), ("p.xlsx", partners_xlsx)])
    def test_the_accepted_kinds_still_import(self, tmp_path, name, content):
        code, output = run_command(tmp_path, name, content(3))

        assert code == 0, output
        assert Partner.objects.count() == 3


class TestWhatIsAcceptedAdmin:
    @pytest.mark.parametrize("case", REFUSED)
    def test_it_refuses_with_one_message_and_writes_nothing(self, staff, case):
        name, build, message = REFUSED[case]
        before, kept = counts(), kept_uploads()

        response = upload(staff, name, build())

        assert response.status_code == 200
        errors = file_errors(response)
        assert len(errors) == 1 and message in errors[0], errors
        assert "root:" not in response.content.decode()
        assert "confirm_form" not in response.context
        assert counts() == before
        assert kept_uploads() == kept, "no copy of a refused file is left behind"

    def test_an_empty_file_is_named_empty(self, staff):
        response = upload(staff, "partners.csv", b"")

        assert file_errors(response) == ["Le fichier soumis est vide."]
        assert Partner.objects.count() == 0

    @pytest.mark.parametrize(
        "name, format, message",
        [
            ("partners.xlsx", "0", "« partners.xlsx » est un fichier .xlsx, mais le format choisi"),
            ("partners.csv", "1", "« partners.csv » est un fichier .csv, mais le format choisi"),
            ("partners.txt", "0", "« partners.txt » : seuls les fichiers CSV"),
        ],
    )
    def test_the_name_must_agree_with_the_format(self, staff, name, format, message):
        response = upload(staff, name, partners_csv(1), format=format)

        assert message in file_errors(response)[0]
        assert Partner.objects.count() == 0

    def test_only_csv_and_xlsx_are_offered(self, staff):
        form = staff.get(IMPORT_URL).context["form"]

        assert [label for _value, label in form.fields["format"].choices] == ["---", "csv", "xlsx"]
        assert form.fields["import_file"].widget.attrs["accept"] == ".csv,.xlsx"
        assert "au plus 50,0" in str(form.fields["import_file"].help_text)

    def test_only_csv_and_xlsx_are_exported(self, staff):
        form = staff.get(reverse("admin:portal_partner_export")).context["form"]

        assert [label for _value, label in form.fields["format"].choices] == ["---", "csv", "xlsx"]


# --- Row caps -----------------------------------------------------------------------------


class TestRowCap:
    @pytest.mark.parametrize("name, build", [("p.csv", partners_csv), ("p.xlsx", partners_xlsx)])
    def test_the_command_takes_the_cap_and_refuses_one_more(self, tmp_path, caps, name, build):
        code, output = run_command(tmp_path, name, build(6))

        assert code == 1 and "Trop de lignes : plus de 5 lignes de données" in output
        assert Partner.objects.count() == 0
        assert run_command(tmp_path, name, build(5))[0] == 0
        assert Partner.objects.count() == 5

    @pytest.mark.parametrize("name, build", [("p.csv", partners_csv), ("p.xlsx", partners_xlsx)])
    def test_the_admin_refuses_one_more_than_the_cap(self, staff, caps, name, build):
        response = upload(staff, name, build(6))

        assert "Trop de lignes : plus de 5 lignes de données" in file_errors(response)[0]
        assert "confirm_form" in upload(staff, name, build(5)).context
        assert Partner.objects.count() == 0

    def test_the_xlsx_reader_stops_at_the_first_row_past_the_cap(self, tmp_path, caps):
        # The sheet's XML is cut after row 20: a reader that went on would fail on it, not count.
        rows = {1: HEADER_CELLS} | {n: partner_cells(f"P{n}") for n in range(2, 40)}
        xml = sheet_xml(rows)
        cut = with_sheet(xml[: xml.index('<row r="20">')])

        short = with_sheet(xml[: xml.index('<row r="4">')])  # the cut is reached: unreadable

        assert "Trop de lignes" in run_command(tmp_path, "p.xlsx", cut)[1]
        assert UNREADABLE in run_command(tmp_path, "p.xlsx", short)[1]
        assert Partner.objects.count() == 0

    def test_the_csv_reader_stops_at_the_first_row_past_the_cap(self, tmp_path, caps, settings):
        settings.IMPORT_MAX_FILE_BYTES = 1024 * 1024
        long_rows = partners_csv(12, name="A" * 10_000)  # 10 kB a row: several decoding chunks

        code, output = run_command(tmp_path, "p.csv", long_rows + b"\xff\xfe not UTF-8\n")

        assert code == 1 and "Trop de lignes" in output

    @pytest.mark.parametrize("where", ["command", "admin"])
    def test_blank_rows_do_not_run_on_forever(self, tmp_path, staff, caps, where):
        # One data row, then a row numbered ten million: openpyxl yields every row in between.
        xml = sheet_xml({1: HEADER_CELLS, 2: partner_cells("P1"), 10_000_000: partner_cells("P2")})
        started = time.monotonic()

        if where == "command":
            message = run_command(tmp_path, "p.xlsx", with_sheet(xml))[1]
        else:
            message = file_errors(upload(staff, "p.xlsx", with_sheet(xml)))[0]

        assert "Trop de lignes : plus de 12, lignes vides comprises" in message
        assert time.monotonic() - started < 5
        assert Partner.objects.count() == 0

    def test_a_csv_line_longer_than_any_row_is_refused(self, tmp_path, settings):
        content = HEADER.encode() + b"," * (imports.CSV_MAX_LINE + 10) + b"\n"

        code, output = run_command(tmp_path, "p.csv", content)

        assert code == 1 and "Ligne 2 : plus de 1048576 caractères" in output

    def test_a_header_wider_than_any_resource_is_refused(self, tmp_path):
        content = (",".join(f"c{n}" for n in range(100)) + "\n").encode()

        assert (
            "L'en-tête a 100 colonnes ; le maximum est 64."
            in run_command(tmp_path, "p.csv", content)[1]
        )


class TestSheetDimensions:
    """openpyxl's read-only mode trusts the sheet's <dimension>, which the file declares."""

    def test_a_dimension_smaller_than_the_sheet_loses_no_row(self, tmp_path):
        rows = {1: HEADER_CELLS} | {n: partner_cells(f"P{n}") for n in range(2, 5)}

        code, output = run_command(tmp_path, "p.xlsx", with_sheet(sheet_xml(rows, "A1:A1")))

        assert code == 0, output
        assert sorted(Partner.objects.values_list("code", flat=True)) == ["P2", "P3", "P4"]

    def test_a_dimension_of_the_whole_grid_costs_only_the_cells_there(self):
        # Before: every row padded to 16 384 cells, 53 s and 2.7 GB for these 20 000 rows.
        rows = {1: HEADER_CELLS} | {n: partner_cells(f"P{n}") for n in range(2, 20_000)}
        content = with_sheet(sheet_xml(rows, "A1:XFD1048576"))
        started = time.monotonic()

        dataset = imports.dataset_from_bytes(content, name="p.xlsx")

        assert (len(dataset), dataset.width) == (19_998, 4)
        assert time.monotonic() - started < 15

    def test_cells_far_to_the_right_are_not_read(self):
        # A cell in column XFD on every row would widen each row to 16 384 values.
        rows = {1: HEADER_CELLS} | {
            n: [*partner_cells(f"P{n}"), ("XFD", "")] for n in range(2, 2_000)
        }

        dataset = imports.dataset_from_bytes(with_sheet(sheet_xml(rows)), name="p.xlsx")

        assert dataset.width == 4 and len(dataset) == 1_998


# --- Bombs ---------------------------------------------------------------------------------


class TestArchivesAndXml:
    def test_zipfile_never_inflates_past_the_declared_size(self):
        # The assumption the archive checks rest on: a directory that lies small ends in a CRC
        # error once the declared size is read, never in more bytes.
        content = lies_small_about_its_sheet()
        info = zipfile.ZipFile(io.BytesIO(content)).getinfo(SHEET)
        read = b""
        archive = zipfile.ZipFile(io.BytesIO(content))
        with archive.open(info) as member, pytest.raises(zipfile.BadZipFile, match="CRC"):
            while chunk := member.read(16):
                read += chunk

        assert len(read) < info.file_size == 200
        assert info.compress_size > 10_000

    @pytest.mark.parametrize(
        "build",
        [
            lambda: entity_in_sheet(LAUGHS, "&lol9;"),
            lambda: entity_in_shared_strings(LAUGHS, "&lol9;"),
            lambda: entity_in_shared_strings(XXE, "&xxe;"),
        ],
    )
    def test_entities_are_refused_fast_in_little_memory(self, build):
        content = build()
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(imports.ImportFileError, match="XLSX lisible"):
                imports.dataset_from_bytes(content, name="p.xlsx")
            elapsed = time.monotonic() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

        assert elapsed < 2
        assert peak < 10 * 1024 * 1024

    def test_a_huge_directory_is_refused_before_zipfile_reads_it(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for n in range(100_000):
                archive.writestr(str(n), b"")
        content = buffer.getvalue()
        tracemalloc.start()
        try:
            with pytest.raises(imports.ImportFileError, match="anormalement volumineux"):
                imports.dataset_from_bytes(content, name="p.xlsx")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

        assert peak < 5 * 1024 * 1024  # zipfile's 100 000 ZipInfo objects: ~55 MiB

    def test_openpyxl_parses_through_defusedxml_here(self):
        import openpyxl
        from openpyxl.xml import functions

        assert openpyxl.DEFUSEDXML
        assert functions.iterparse.__module__.startswith("defusedxml.")
        assert imports.xml_is_defused()

    def test_openpyxl_defusedxml_false_turns_it_off_and_the_check_sees_it(self):
        code = "import openpyxl.xml.functions as f; print(f.iterparse.__module__)"
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "OPENPYXL_DEFUSEDXML": "False"},
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert done.stdout.strip() == "xml.etree.ElementTree"

    def test_without_defusedxml_no_workbook_is_read(self, tmp_path, staff, monkeypatch):
        from openpyxl.xml import functions

        monkeypatch.setattr(functions, "iterparse", ElementTree.iterparse)

        code, output = run_command(tmp_path, "p.xlsx", partners_xlsx(1))
        errors = file_errors(upload(staff, "p.xlsx", partners_xlsx(1)))

        assert code == 1 and "lecture des classeurs XLSX est désactivée" in output
        assert "lecture des classeurs XLSX est désactivée" in errors[0]
        assert Partner.objects.count() == 0


class TestPartsParsedWhole:
    """openpyxl streams a worksheet but parses every other part whole: only worksheets may be
    bigger than XLSX_MAX_PART (50 kB here, 16 MiB in production)."""

    @pytest.fixture(autouse=True)
    def small_parts(self, monkeypatch):
        monkeypatch.setattr(imports, "XLSX_MAX_PART", 50_000)

    def big_sheet(self):
        rows = {1: HEADER_CELLS} | {n: partner_cells(f"P{n}") for n in range(2, 1_000)}
        content = with_sheet(sheet_xml(rows))
        assert zipfile.ZipFile(io.BytesIO(content)).getinfo(SHEET).file_size > 50_000
        return content

    def test_a_big_worksheet_is_read(self):
        assert len(imports.dataset_from_bytes(self.big_sheet(), name="p.xlsx")) == 998

    def big_relationships(self):
        content = self.big_sheet()
        rels = entry(content, "xl/_rels/workbook.xml.rels").replace(
            "</Relationships>",
            "".join(
                f'<Relationship Id="x{n}" Type="http://x/y" Target="z{n}.xml"/>'
                for n in range(1_000)
            )
            + "</Relationships>",
        )
        return rebuild(content, replace={"xl/_rels/workbook.xml.rels": rels})

    def read_as_a_chart_sheet(self):
        content = self.big_sheet()
        rels = entry(content, "xl/_rels/workbook.xml.rels").replace(
            "</Relationships>",
            '<Relationship Id="rId99" Target="/xl/worksheets/sheet1.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/chartsheet"/></Relationships>',
        )
        return rebuild(content, replace={"xl/_rels/workbook.xml.rels": rels})

    def read_as_shared_strings(self):
        content = self.big_sheet()
        types = entry(content, "[Content_Types].xml").replace(
            "</Types>",
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        return rebuild(content, replace={"[Content_Types].xml": types})

    @pytest.mark.parametrize(
        "build", ["big_relationships", "read_as_a_chart_sheet", "read_as_shared_strings"]
    )
    def test_any_other_big_part_is_refused(self, tmp_path, staff, build):
        content = getattr(self, build)()

        code, output = run_command(tmp_path, "p.xlsx", content)
        errors = file_errors(upload(staff, "p.xlsx", content))

        assert code == 1 and BOMB in output
        assert errors == [BOMB]
        assert Partner.objects.count() == 0


# --- The admin's upload, capped as it streams in --------------------------------------------


@pytest.fixture
def stored(monkeypatch):
    """Bytes that reached Django's own upload handlers (memory or temporary file)."""
    received = []
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        original = handler.receive_data_chunk

        def counting(self, raw_data, start, original=original):
            received.append(len(raw_data))
            return original(self, raw_data, start)

        monkeypatch.setattr(handler, "receive_data_chunk", counting)
    return received


class TestStreamingCap:
    def test_a_file_far_over_the_cap_is_never_stored(self, staff, caps, stored):
        before, kept = counts(), kept_uploads()

        response = upload(staff, "partners.csv", partners_csv(200_000))

        assert response.status_code == 413
        assert file_errors(response) == ["Fichier trop gros : le maximum est 64,0\xa0Kio."]
        assert sum(stored) == 0
        assert counts() == before and kept_uploads() == kept

    def test_a_file_just_over_the_cap_is_dropped_at_the_cap(self, staff, caps, stored):
        content = partners_csv(CAP // 19 + 100)  # a little over 64 KiB: within the form's overhead
        assert CAP < len(content) < CAP + 64 * 1024

        response = upload(staff, "partners.csv", content)

        assert response.status_code == 413
        assert "Fichier trop gros" in file_errors(response)[0]
        assert 0 < sum(stored) <= CAP
        assert Partner.objects.count() == 0

    def test_a_file_within_the_cap_is_previewed_then_imported(self, staff, caps):
        kept = kept_uploads()

        response = upload(staff, "partners.csv", partners_csv(5))
        assert response.status_code == 200 and "confirm_form" in response.context
        assert len(kept_uploads() - kept) == 1, "the copy the confirmation reads"
        confirm = response.context["confirm_form"].initial

        done = staff.post(CONFIRM_URL, confirm)

        assert done.status_code == 302
        assert Partner.objects.count() == 5
        assert kept_uploads() == kept

    def test_copies_of_abandoned_previews_are_removed(self, staff):
        abandoned = Path(tempfile.gettempdir()) / f"{UPLOAD_PREFIX}abandoned"
        recent = Path(tempfile.gettempdir()) / f"{UPLOAD_PREFIX}recent"
        for path in (abandoned, recent):
            path.write_bytes(b"x")
        two_days_ago = time.time() - 2 * 24 * 3600
        os.utime(abandoned, (two_days_ago, two_days_ago))

        assert "confirm_form" in upload(staff, "partners.csv", partners_csv(1)).context

        assert not abandoned.exists()
        assert recent.exists()

    def test_a_second_file_is_refused(self, staff, caps, stored):
        response = upload(
            staff,
            "partners.csv",
            partners_csv(1),
            other=SimpleUploadedFile("other.csv", partners_csv(1)),
        )

        assert response.status_code == 413
        assert file_errors(response) == ["Au plus 1 fichier à la fois."]
        assert Partner.objects.count() == 0

    def test_a_form_too_big_to_read_is_a_clear_page(self, staff, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

        response = upload(staff, "partners.csv", partners_csv(1), note="x" * 4096)

        assert response.status_code == 413
        text = page(response)
        assert "Le formulaire envoyé est trop gros" in text
        assert "Rien n'a été importé." in text
        assert 'id="site-name"' in text, "in the admin's look"
        assert Partner.objects.count() == 0

    def test_too_many_fields_is_a_clear_page(self, staff, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

        response = upload(
            staff, "partners.csv", partners_csv(1), **{f"f{n}": "x" for n in range(20)}
        )

        assert response.status_code == 400
        assert "compte trop de champs" in page(response)
        assert Partner.objects.count() == 0

    def test_a_broken_body_is_a_clear_page(self, staff):
        response = staff.generic(
            "POST", IMPORT_URL, b"--x\r\n", content_type="multipart/form-data; boundary="
        )

        assert response.status_code == 400
        assert "Le formulaire envoyé est illisible" in page(response)

    def test_csrf_is_still_checked(self, staff):
        user = get_user_model().objects.get(username="personnel-import")
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        client.get(IMPORT_URL)  # sets the CSRF cookie
        data = {"resource": "0", "format": "0"}

        forged = client.post(IMPORT_URL, {**data, "import_file": SimpleUploadedFile("p.csv", b"x")})
        token = client.cookies["csrftoken"].value
        genuine = client.post(
            IMPORT_URL,
            {
                **data,
                "csrfmiddlewaretoken": token,
                "import_file": SimpleUploadedFile("p.csv", partners_csv(1)),
            },
        )

        assert forged.status_code == 403
        assert genuine.status_code == 200 and "confirm_form" in genuine.context

    def test_without_the_permission_the_body_is_not_read(self, client, stored):
        user = get_user_model().objects.create_user("lecteur", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_partner"))
        client.force_login(user)

        response = upload(client, "partners.csv", partners_csv(1))

        assert response.status_code == 403
        assert sum(stored) == 0

    def test_with_the_handler_in_settings_no_other_page_stores_a_file(
        self, client, staff, settings, stored
    ):
        settings.FILE_UPLOAD_HANDLERS = [
            "portal.uploads.UploadLimitHandler",
            *settings.FILE_UPLOAD_HANDLERS,
        ]
        sign_in = Client()

        response = sign_in.post(
            reverse("login"),
            {"username": "x", "password": "y", "f": SimpleUploadedFile("a.csv", b"x" * 100_000)},
        )
        assert response.status_code == 200
        assert sum(stored) == 0

        preview = upload(staff, "partners.csv", partners_csv(3))
        assert "confirm_form" in preview.context
        assert sum(stored) == len(partners_csv(3))


class TestConfirmation:
    """The confirmation posts back the name of the copy kept since the preview."""

    @pytest.mark.parametrize("name", ["../../etc/passwd", "passwd", "tmpabcdef", ""])
    def test_it_reads_no_other_file(self, staff, name):
        response = staff.post(
            CONFIRM_URL,
            {"import_file_name": name, "original_file_name": "p.csv", "format": "0"},
            follow=True,
        )

        assert Partner.objects.count() == 0
        if name:
            assert response.redirect_chain[-1][0] == IMPORT_URL
            assert "Ce fichier n'est plus disponible : recommencez l'import." in page(response)
        else:
            assert response.status_code == 200 and response.context["errors"]

    def test_a_copy_grown_past_the_cap_is_not_read(self, staff, caps):
        response = upload(staff, "partners.csv", partners_csv(1))
        confirm = response.context["confirm_form"].initial
        path = Path(tempfile.gettempdir()) / confirm["import_file_name"]
        path.write_bytes(partners_csv(1) + b"#" * (2 * CAP))

        done = staff.post(CONFIRM_URL, confirm, follow=True)

        assert "Fichier trop gros" in page(done)
        assert Partner.objects.count() == 0
        assert not path.exists()


# --- Exports: formula-like text comes out as text --------------------------------------------

TEXTS = ['=HYPERLINK("http://x","y")', "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]


def dangerous(cells):
    return [c for c in cells if isinstance(c, str) and c.startswith(exports.FORMULA_STARTS)]


def csv_cells(content):
    text = content.decode() if isinstance(content, bytes) else content
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def xlsx_cells(content):
    book = load_workbook(io.BytesIO(content), read_only=True)
    return [cell for sheet in book.worksheets for row in sheet.values for cell in row]


def expected(cells_are_xlsx):
    # A workbook stores a carriage return as a line feed.
    return {"'" + (t.replace("\r", "\n") if cells_are_xlsx else t) for t in TEXTS}


@pytest.fixture
def formula_texts(demo):
    """Six partners of 2019-2020 and its six new products named with formula-like text."""
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
    partners = list(figure_rows(period, PARTNERS).order_by("code")[: len(TEXTS)])
    products = list(figure_rows(period, PRODUCTS).order_by("pk"))
    assert len(products) == len(TEXTS)
    for text, partner, product in zip(TEXTS, partners, products, strict=True):
        Partner.objects.filter(pk=partner.pk).update(name=text)
        ProductLine.objects.filter(pk=product.pk).update(name=text)
    return period


@pytest.fixture
def superuser(client, demo):
    client.force_login(get_user_model().objects.create_superuser("s", "s@example.org", "x"))
    return client


def admin_export(client, model, resource, fields, format):
    response = client.post(
        reverse(f"admin:portal_{model}_export"),
        {"format": format, "resource": "0", **{f"{resource}_{f}": "on" for f in fields}},
    )
    assert response.status_code == 200, response.content[:500]
    return response.content


PARTNER_FIELDS = ["code", "name", "kind", "quebec"]
PRODUCT_FIELDS = ["period", "partner", "project", "name", "sector", "launch_date"]


def export_of(path, client, tmp_path):
    """(cells, is a workbook) of one export path."""
    kind, _, format = path.rpartition("-")
    xlsx = format == "xlsx"
    if kind == "admin-partners":
        content = admin_export(
            client, "partner", "partnerresource", PARTNER_FIELDS, "1" if xlsx else "0"
        )
    elif kind == "admin-products":
        content = admin_export(
            client, "productline", "productresource", PRODUCT_FIELDS, "1" if xlsx else "0"
        )
    elif kind == "command":
        output = tmp_path / f"highlights.{format}"
        call_command("highlights", "PSM-NUM", "2019-2020", "--format", format, "--output", output)
        content = output.read_bytes()
    elif kind == "download":
        response = client.get(
            f"/fr-ca/highlights/PSM-NUM/2019-2020/export.{format}", {"version": "live"}
        )
        assert response.status_code == 200
        content = b"".join(response.streaming_content) if response.streaming else response.content
    else:
        figure = kind.removeprefix("drilldown-")
        response = client.get(
            reverse("highlights-drilldown", args=["PSM-NUM", "2019-2020", figure]),
            {"_export": format},
        )
        assert response.status_code == 200
        content = b"".join(response.streaming_content) if response.streaming else response.content
    return (xlsx_cells(content) if xlsx else csv_cells(content)), xlsx


TEXT_PATHS = [
    f"{kind}-{format}"
    for kind in ["admin-partners", "admin-products", "drilldown-partners", "drilldown-products"]
    for format in ["csv", "xlsx"]
] + ["command-xlsx", "download-xlsx"]


class TestExportsNeutraliseFormulas:
    @pytest.mark.parametrize("path", TEXT_PATHS)
    def test_formula_like_text_comes_out_as_text(self, superuser, formula_texts, tmp_path, path):
        cells, xlsx = export_of(path, superuser, tmp_path)

        assert expected(xlsx) <= set(cells)
        assert dangerous(cells) == []
        # Numbers are not formulas: none of them got an apostrophe.
        assert not [c for c in cells if isinstance(c, str) and re.fullmatch(r"'[\d.,]+", c)]

    @pytest.mark.parametrize(
        "path", ["command-csv", "download-csv", "command-xlsx", "download-xlsx"]
    )
    def test_sector_codes_in_the_figures_come_out_as_text(self, superuser, demo, tmp_path, path):
        Sector.objects.filter(code="AUTO").update(code="+AUTO")

        cells, _xlsx = export_of(path, superuser, tmp_path)

        assert any(isinstance(c, str) and c.startswith("'+AUTO") for c in cells)
        assert dangerous(cells) == []

    def test_the_workbooks_keep_numbers_as_numbers(self, superuser, formula_texts, tmp_path):
        cells, _xlsx = export_of("download-xlsx", superuser, tmp_path)

        assert sum(1 for c in cells if isinstance(c, int | float)) > 50

    def test_there_is_no_export_action_beside_the_export_view(self, superuser):
        response = superuser.get(reverse("admin:portal_partner_changelist"))
        actions = [
            name for name, _label in response.context["action_form"].fields["action"].choices
        ]

        assert actions == ["", "delete_selected"]

    @pytest.mark.parametrize("format", ["0", "1"])
    def test_an_exported_file_imports_back_to_the_same_text(
        self, superuser, formula_texts, tmp_path, format
    ):
        texts = set(TEXTS) if format == "0" else set(TEXTS) - {"\r=1"}  # a workbook has no \r
        content = admin_export(superuser, "partner", "partnerresource", PARTNER_FIELDS, format)
        path = tmp_path / ("partners.csv" if format == "0" else "partners.xlsx")
        path.write_bytes(content)
        out = io.StringIO()

        call_command("import_data", "partners", str(path), stdout=out)

        assert texts <= set(Partner.objects.values_list("name", flat=True))
        if format == "0":
            assert "0 nouvelles, 0 modifiées" in out.getvalue()

    @pytest.mark.parametrize(
        "path",
        [*(p for p in TEXT_PATHS if p.endswith("csv")), "command-csv", "download-csv"],
    )
    def test_a_carriage_return_inside_a_text_starts_no_row(
        self, superuser, formula_texts, tmp_path, path
    ):
        # Unquoted, the carriage return ends the row for a spreadsheet, and "=1+1" runs.
        ProductLine.objects.filter(name="+1").update(name="Capteur\r=1+1")
        Partner.objects.filter(name="+1").update(name="Acme\r=1+1")
        Sector.objects.filter(code="AUTO").update(code="AUTO\r=1+1")

        cells, _xlsx = export_of(path, superuser, tmp_path)

        assert {"Capteur\r=1+1", "Acme\r=1+1"} & set(cells) or any(
            c.startswith("AUTO\r=1+1") for c in cells
        )
        assert dangerous(cells) == []

    def test_a_control_character_never_breaks_a_workbook(self, superuser, formula_texts, tmp_path):
        ProductLine.objects.filter(name="+1").update(name="Capteur\x0b\x1bX")

        for path in [
            "admin-products-xlsx",
            "drilldown-products-xlsx",
            "download-xlsx",
            "command-xlsx",
        ]:
            cells, _xlsx = export_of(path, superuser, tmp_path)
            assert "Capteur\ufffd\ufffdX" in cells, path


class TestRoundTripProperty:
    @pytest.mark.parametrize(
        "text",
        ["=1", "'=1", "''=1", "'abc", "abc", "", "'", "-", "@", "\t=1", "x=1", "'+1'", "\n=1"],
    )
    def test_restore_undoes_neutralise(self, text):
        assert exports.restore(exports.neutralise(text)) == text

    def test_numbers_are_left_alone(self):
        assert exports.neutralise(-1) == -1
        assert exports.xlsx_cell(3.5) == 3.5


def test_no_partner_page_accepts_a_file():
    """Partners upload nothing: no form of theirs is multipart, no view of theirs reads FILES."""
    templates = [*ROOT.glob("templates/portal/**/*.html"), *ROOT.glob("templates/registration/*")]
    views = [ROOT / "portal/views" / name for name in ("partner.py", "accounts.py", "pages.py")]

    assert templates and all(path.exists() for path in views)
    for path in templates:
        text = path.read_text()
        assert 'type="file"' not in text and "multipart/form-data" not in text, path
    for path in [*views, ROOT / "portal/forms.py", ROOT / "portal/reporting.py"]:
        text = path.read_text()
        assert "FILES" not in text and "FileField" not in text, path


@pytest.mark.skipif(
    not (ROOT / "locale/en/LC_MESSAGES/django.mo").exists(),
    reason="the English catalogue is not compiled (GNU gettext's msgfmt)",
)
def test_the_refusals_speak_english_too():
    with translation.override("en"):
        with pytest.raises(imports.ImportFileError) as kind:
            imports.dataset_from_bytes(PDF, name="partners.pdf")
        with pytest.raises(imports.ImportFileError) as bomb:
            imports.dataset_from_bytes(declares_a_gigabyte(), name="partners.xlsx")

    assert str(kind.value) == (
        "“partners.pdf”: only CSV (.csv, in UTF-8) and XLSX (.xlsx) files are accepted."
    )
    assert str(bomb.value) == "This workbook is abnormally large once uncompressed."
