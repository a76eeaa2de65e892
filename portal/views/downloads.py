"""Downloads of a period's annual figures: CSV, XLSX, JSON and the one-pager as PDF.

What is exported is what the page shows (access.visible_highlights): the latest publication for
everyone, the live figures for staff who ask (`?version=live`). Only staff get the drill-down
sheets in the workbook: a partner's own figures are confidential.
"""

import mimetypes
import tempfile
from urllib.parse import unquote, urljoin, urlsplit

from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import FileResponse, Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from portal import access, exports
from portal.views import pages

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@login_not_required
@require_safe
def export(request, programme, period, format):
    if format not in CONTENT_TYPES:
        raise Http404
    visible = access.visible_highlights(
        request, programme, period, live=request.GET.get("version") == "live"
    )
    if format == "xlsx":
        # On disk, not in memory: a staff workbook holds every drill-down row. FileResponse closes it.
        body = tempfile.TemporaryFile()  # noqa: SIM115
        exports.write_xlsx(
            visible.highlights, body, drilldowns_of=visible.period if visible.staff else None
        )
        body.seek(0)
        response = FileResponse(body, content_type=CONTENT_TYPES[format])
    else:
        if format == "pdf":
            content = one_pager_pdf(request, visible)
        else:
            content = exports.render(visible.highlights, format)
        response = HttpResponse(content, content_type=CONTENT_TYPES[format])
    filename = f"{visible.period.programme.code}_{visible.period.label}_faits-saillants.{format}"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    if visible.staff:
        # Live figures and drill-downs are for staff only: never kept by a shared cache.
        patch_cache_control(response, private=True, no_store=True)
    return response


def one_pager_pdf(request, visible):
    """The highlights page (its print stylesheet: one Letter page) rendered by WeasyPrint."""
    import weasyprint  # imported when used: it loads Pango

    html = render_to_string(
        "highlights/page.html", pages.page_context(request, visible), request=request
    )
    base_url = request.build_absolute_uri("/")
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=static_fetcher(base_url))
    return document.write_pdf()


def static_fetcher(base_url):
    """A WeasyPrint URL fetcher that reads the page's static files (CSS, fonts, images) from
    disk, and fetches nothing else: no request leaves the server while it renders a PDF."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    static_prefix = urljoin(base_url, staticfiles_storage.base_url)

    class StaticFilesFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = urlsplit(url).path
            prefix = urlsplit(static_prefix).path
            if not url.startswith(static_prefix) or not path.startswith(prefix):
                raise ValueError(f"not a static file: {url}")
            name = unquote(path.removeprefix(prefix))
            with open(static_file_path(name), "rb") as file:
                body = file.read()
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return StaticFilesFetcher()


def static_file_path(name):
    """The file behind a static name: collected (STATIC_ROOT, hashed names included) or found
    by the finders (development). Both refuse names that leave their folder."""
    if staticfiles_storage.exists(name):
        return staticfiles_storage.path(name)
    found = finders.find(name)
    if not found:
        raise FileNotFoundError(name)
    return found
