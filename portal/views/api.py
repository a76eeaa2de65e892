"""The read-only JSON API of published highlights: public, cached, with ETag.

Only publications are served, never the live rollup, whoever asks: the API is the public record.
A period's document is its latest publication's `figures`, the same JSON as
`manage.py highlights --format json`; republishing changes its ETag and its content.
"""

import hashlib
import json

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db.models import Max
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from portal import exports
from portal import publication as publishing
from portal.models import Period

MAX_AGE = 300  # seconds a client or proxy may reuse an answer without asking again
BODY_CACHE_SECONDS = 24 * 3600  # a publication's document never changes; old ones just expire


@login_not_required
@require_safe
def published_list(request):
    """Every published period: programme, period, date of its latest publication, its URL."""
    periods = (
        Period.objects.filter(publications__isnull=False)
        .annotate(published_at=Max("publications__published_at"))
        .select_related("programme")
        .order_by("programme__code", "start")
    )
    body = json.dumps(
        [
            {
                "programme": period.programme.code,
                "period": period.label,
                "published_at": period.published_at.isoformat(),
                "url": request.build_absolute_uri(
                    reverse("api-highlights-detail", args=[period.programme.code, period.label])
                ),
            }
            for period in periods
        ],
        ensure_ascii=False,
        indent=2,
    ).encode()
    return _conditional(request, body, etag=hashlib.sha256(body).hexdigest())


@login_not_required
@require_safe
def published_detail(request, programme, period):
    """The latest publication's figures, exactly the keys of `highlights --format json`."""
    found = (
        Period.objects.select_related("programme")
        .filter(programme__code=programme, label=period)
        .first()
    )
    publication = found and publishing.latest(found)
    if publication is None:
        return JsonResponse(
            {
                "detail": _(
                    "Aucune publication des faits saillants pour ce programme et cette période."
                )
            },
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    # A publication never changes: its id and date name its content (a republish is a new one).
    etag = hashlib.sha256(f"{publication.pk}:{publication.published_at.isoformat()}".encode())
    etag = etag.hexdigest()
    return _conditional(
        request,
        lambda: cache.get_or_set(
            f"api:highlights:{etag}",
            lambda: exports.render(publishing.published_highlights(publication), "json").encode(),
            timeout=BODY_CACHE_SECONDS,
        ),
        etag=etag,
        last_modified=publication.published_at,
    )


def _conditional(request, body, *, etag, last_modified=None):
    """200 with `body` (bytes, or a callable returning them, only called when needed), or 304
    when the client's copy is current; cacheable by anyone for MAX_AGE seconds."""
    etag = quote_etag(etag)
    timestamp = int(last_modified.timestamp()) if last_modified else None
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        response = HttpResponse(
            body() if callable(body) else body, content_type="application/json; charset=utf-8"
        )
    elif response.status_code != 304:
        return response  # 412: a precondition (If-Match) failed
    response["ETag"] = etag
    if timestamp is not None:
        response["Last-Modified"] = http_date(timestamp)
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response
