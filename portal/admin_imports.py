"""The admin's imports and exports through the data contract's resources (ContractAdmin, the base
of every registry admin in portal/admin.py).

An upload is capped while it streams in (IMPORT_MAX_FILE_BYTES, portal.uploads), then read like
`import_data` reads a file (portal.imports): a refusal is a message on the import page, nothing
is written, and no copy of the file is left behind. Workbooks exported hold only characters a
workbook can hold.
"""

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path

import tablib
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ImportForm
from import_export.tmp_storages import TempFolderStorage

from portal import imports, uploads
from portal.exports import xlsx_legal
from portal.imports import ImportFileError, dataset_from_bytes


class ContractFileMixin:
    """Read an uploaded file exactly as `import_data` reads it: same caps, same messages."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        return dataset_from_bytes(in_stream, name=f"upload.{self.get_extension()}")


class ContractCSV(ContractFileMixin, CSV):
    pass


class ContractXLSX(ContractFileMixin, XLSX):
    pass


class ContractExportXLSX(XLSX):
    """The admin's workbook export: text the resources have neutralised, whose control characters
    (which openpyxl refuses, failing the whole export) are replaced."""

    def export_data(self, dataset, **kwargs):
        legal = tablib.Dataset(*([xlsx_legal(v) for v in row] for row in dataset))
        legal.headers = dataset.headers
        return super().export_data(legal, **kwargs)


UPLOAD_PREFIX = "psm-import-"
UPLOAD_KEPT_SECONDS = 24 * 3600  # a preview nobody confirmed in a day is abandoned


class UploadStorage(TempFolderStorage):
    """import-export's copy of an upload between its preview and its confirmation: a file of its
    own in the temporary folder (the confirmation form posts its name back: no other file is read
    or removed), read only within the size cap. Copies of abandoned previews are removed."""

    def save(self, data):
        with tempfile.NamedTemporaryFile(prefix=UPLOAD_PREFIX, delete=False) as file:
            file.write(data)
        self.name = os.path.basename(file.name)
        abandoned = time.time() - UPLOAD_KEPT_SECONDS
        for copy in Path(tempfile.gettempdir()).glob(UPLOAD_PREFIX + "*"):
            with contextlib.suppress(OSError):
                if copy.stat().st_mtime < abandoned:
                    copy.unlink()

    def get_full_path(self):
        name = os.path.basename(self.name or "")
        if not name.startswith(UPLOAD_PREFIX):
            raise ImportFileError(_("Ce fichier n'est plus disponible : recommencez l'import."))
        return os.path.join(tempfile.gettempdir(), name)

    def read(self):
        try:
            size = os.path.getsize(self.get_full_path())
        except OSError:
            raise ImportFileError(
                _("Ce fichier n'est plus disponible : recommencez l'import.")
            ) from None
        if size > settings.IMPORT_MAX_FILE_BYTES:
            raise imports.too_big()
        return super().read()

    def remove(self):
        with contextlib.suppress(OSError, ImportFileError):
            super().remove()


class ContractImportForm(ImportForm):
    """The import form: one .csv or .xlsx file, of the format chosen; an upload refused while it
    streamed in (portal.uploads) is the file's error."""

    def __init__(self, formats, resources, *, refusal=None, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.refusal = refusal
        upload = self.fields["import_file"]
        upload.widget.attrs["accept"] = ",".join(imports.ACCEPTED_SUFFIXES)
        upload.help_text = _(
            "CSV (UTF-8) ou XLSX, au plus %(size)s et %(rows)s lignes de données."
        ) % {
            "size": filesizeformat(settings.IMPORT_MAX_FILE_BYTES),
            "rows": number_format(settings.IMPORT_MAX_ROWS, force_grouping=True),
        }
        if refusal:
            upload.required = False  # its absence is the refusal, said once

    def clean(self):
        cleaned = super().clean()
        upload, choice = cleaned.get("import_file"), cleaned.get("format")
        if self.refusal:
            self.add_error("import_file", self.refusal)
        elif upload and choice not in (None, ""):
            suffix = Path(upload.name).suffix.lower()
            chosen = self.formats[int(choice)]()
            if suffix not in imports.ACCEPTED_SUFFIXES:
                self.add_error("import_file", imports.wrong_suffix(upload.name, suffix))
            elif suffix != f".{chosen.get_extension()}":
                self.add_error(
                    "import_file",
                    _(
                        "« %(name)s » est un fichier %(suffix)s, mais le format choisi est %(format)s."
                    )
                    % {"name": upload.name, "suffix": suffix, "format": chosen.get_title()},
                )
        return cleaned


class ContractAdmin(ImportExportModelAdmin):
    """Import/export through the contract's resources; a file with one bad row imports nothing.

    An upload is capped while it streams in (IMPORT_MAX_FILE_BYTES, portal.uploads), then read
    like `import_data` reads a file (portal.imports): a refusal is a message on the import page,
    nothing is written, and no copy of the file is left behind."""

    show_full_result_count = False
    import_formats = [ContractCSV, ContractXLSX]
    export_formats = [CSV, ContractExportXLSX]
    import_form_class = ContractImportForm
    import_template_name = "admin/portal/import.html"  # errors without their traceback
    tmp_storage_class = UploadStorage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def get_import_form_kwargs(self, request):
        return {
            **super().get_import_form_kwargs(request),
            "refusal": uploads.upload_refusal(request),
        }

    @method_decorator(csrf_exempt)
    def import_action(self, request, **kwargs):
        """The import page. The cap on uploads must be in place before anything reads the body,
        the CSRF check included: the token is checked here, once the body is read under the cap,
        rather than by the middleware."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            uploads.limit_uploads(request, max_bytes=settings.IMPORT_MAX_FILE_BYTES)
            try:
                request.POST  # noqa: B018 (the body is read here, under the cap)
            except (
                RequestDataTooBig,
                TooManyFieldsSent,
                TooManyFilesSent,
                MultiPartParserError,
            ) as error:
                return self.import_refused(request, error)
        return self.protected_import_action(request, **kwargs)

    @method_decorator(csrf_protect)
    def protected_import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        if uploads.upload_refusal(request):
            response.status_code = 413
        # The preview keeps the upload in a temporary file for its confirmation: without one (the
        # file was refused), nothing will read it again.
        upload = request.FILES.get("import_file")
        context = getattr(response, "context_data", None) or {}
        if getattr(upload, "tmp_storage_name", None) and not context.get("confirm_form"):
            self.get_tmp_storage_class()(name=upload.tmp_storage_name).remove()
        return response

    def write_to_tmp_storage(self, import_file, input_format):
        # import-export adds the chunks up one at a time (`data += chunk`): 16 s of copying for
        # 50 MB. Our formats are binary.
        tmp_storage = self.get_tmp_storage_class()(
            read_mode=input_format.get_read_mode(), **self.get_tmp_storage_class_kwargs()
        )
        tmp_storage.save(b"".join(import_file.chunks()))
        return tmp_storage

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except ImportFileError as error:
            # The temporary file is gone, or no longer readable as it was: start again.
            self.get_tmp_storage_class()(name=request.POST.get("import_file_name", "")).remove()
            self.message_user(request, str(error), messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")

    def import_refused(self, request, error):
        """A body Django would not read (DATA_UPLOAD_MAX_MEMORY_SIZE, _NUMBER_FIELDS,
        _NUMBER_FILES, or broken): the import page's refusal, rather than a bare 400."""
        logging.getLogger(f"django.security.{type(error).__name__}").warning(
            "Import refused: %s", error
        )
        if isinstance(error, RequestDataTooBig):
            status, message = (
                413,
                _("Le formulaire envoyé est trop gros : hors fichier, il ne peut dépasser %(max)s.")
                % {"max": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)},
            )
        elif isinstance(error, (TooManyFieldsSent, TooManyFilesSent)):
            status, message = 400, _("Le formulaire envoyé compte trop de champs ou de fichiers.")
        else:
            status, message = 400, _("Le formulaire envoyé est illisible (un envoi interrompu ?).")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import refusé"),
            "opts": self.opts,
            "message": message,
        }
        return TemplateResponse(request, "admin/portal/import_refused.html", context, status=status)
