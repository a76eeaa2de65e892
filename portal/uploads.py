"""A cap on the files a request uploads, enforced while its body streams in.

Django keeps an uploaded file whole, in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE and then in a
temporary file, with no size limit of its own: DATA_UPLOAD_MAX_MEMORY_SIZE counts the form's other
fields, never files. `UploadLimitHandler` goes first in line and stops passing a file on to
Django's handlers once the request's files exceed `max_bytes` together, or once there are more
than `max_files`: the rest of the file is read and dropped, the form's other fields still arrive,
and `upload_refusal(request)` says why, for the view to show.

Listed first in FILE_UPLOAD_HANDLERS it accepts no file at all, on every page; a view that takes
files (the admin's imports) calls `limit_uploads()` before anything reads the body. Without the
setting, `limit_uploads()` puts the handler in place for that view alone.

A reverse proxy must still refuse bodies bigger than the largest upload before they reach the
server (README, "Upload limits"): this handler reads what it drops.
"""

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Besides its file, a form posts a few small fields (the CSRF token, the format): a body bigger
# than the cap by more than this holds a file bigger than the cap.
FORM_OVERHEAD = 64 * 1024


def limit_uploads(request, *, max_bytes, max_files=1):
    """Let `request` upload `max_files` files of `max_bytes` together (before anything reads
    request.POST or request.FILES: the CSRF check does)."""
    handlers = request.upload_handlers
    handlers[:] = [
        UploadLimitHandler(request, max_bytes=max_bytes, max_files=max_files),
        *(handler for handler in handlers if not isinstance(handler, UploadLimitHandler)),
    ]


def upload_refusal(request):
    """Why files of this request were dropped (a sentence), or None."""
    return getattr(request, "_upload_refusal", None)


class UploadLimitHandler(FileUploadHandler):
    def __init__(self, request=None, *, max_bytes=0, max_files=0):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.body_length = 0
        self.files = 0
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.body_length = content_length or 0  # the client's word, checked as bytes arrive

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.files += 1
        if upload_refusal(self.request):
            raise SkipFile  # once the request is refused, none of its files is kept
        if self.max_files == 0:
            self.refuse(_("Cette page n'accepte pas de fichier."))
        if self.files > self.max_files:
            self.refuse(
                ngettext(
                    "Au plus %(count)s fichier à la fois.",
                    "Au plus %(count)s fichiers à la fois.",
                    self.max_files,
                )
                % {"count": self.max_files}
            )
        if self.body_length > self.max_bytes + FORM_OVERHEAD:
            self.refuse(self.too_big())

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.refuse(self.too_big())
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers keep the file

    def too_big(self):
        return _("Fichier trop gros : le maximum est %(max)s.") % {
            "max": filesizeformat(self.max_bytes)
        }

    def refuse(self, reason):
        self.request._upload_refusal = reason
        raise SkipFile
