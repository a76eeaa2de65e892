"""Sessions that end after a while without a request, and deny by default.

- `SessionIdleTimeoutMiddleware`: a session ends SESSION_COOKIE_AGE seconds (SESSION_IDLE_TIMEOUT)
  after the person's last request. Each request pushes the expiry back, but the session row is
  written at most once a minute (ACTIVITY_WRITE_SECONDS), not at every request.
- `LoginRequiredMiddleware`: every view needs a signed-in person unless it is marked
  `@login_not_required` (Django's), and a form posted after the session ended is not lost: for a
  view marked `@keeps_expired_post`, when the request's cookie names a session that ended by
  expiry (its row stays until `clearsessions`), what was posted is kept, with the person it was
  theirs, in the new anonymous session; Django carries it over when they sign in again, and the
  view shows it back (`expired_post()`) to that same person only, never saving it by itself.
"""

import json
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, middleware
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

LAST_ACTIVITY = "portal_last_activity"
ACTIVITY_WRITE_SECONDS = 60

EXPIRED_POST = "portal_expired_post"
# A bigger POST is not kept (the session row would grow with it); a report of a few projects is
# a few KiB.
MAX_KEPT_BYTES = 64 * 1024


def keeps_expired_post(view):
    view.keeps_expired_post = True
    return view


def expired_post(request):
    """What this person posted to this page after their session expired (a QueryDict), once; or
    None. Kept for someone else (another person signing in on the same browser), it is dropped."""
    kept = request.session.get(EXPIRED_POST)
    if not kept or kept.get("path") != request.path:
        return None
    del request.session[EXPIRED_POST]
    if kept.get("user") != str(request.user.pk):
        return None
    data = QueryDict(mutable=True)
    for name, values in kept["data"]:
        data.setlist(name, values)
    return data


def expired_session_user(request):
    """The id (a string) of the person whose session this request's cookie names, when that
    session ended by expiry; otherwise None (no cookie, a session that never was, or one that
    ended by signing out: its row is gone)."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    row = Session.objects.filter(session_key=key, expire_date__lte=timezone.now()).first()
    user = row.get_decoded().get(SESSION_KEY) if row else None
    return str(user) if user is not None else None


class LoginRequiredMiddleware(middleware.LoginRequiredMiddleware):
    def handle_no_permission(self, request, view_func):
        if request.method == "POST" and getattr(view_func, "keeps_expired_post", False):
            self.keep_post(request)
        match = request.resolver_match
        if match is not None and match.app_name == "admin":
            # Every admin page signs in on the admin's own page (Django gives only the admin
            # site's views that login_url, not the ModelAdmins' ones).
            return redirect_to_login(
                request.get_full_path(), reverse("admin:login", current_app=match.namespace)
            )
        return super().handle_no_permission(request, view_func)

    def keep_post(self, request):
        user = expired_session_user(request)
        if user is None:
            return  # an anonymous visitor's post is nobody's work: nothing is kept
        fields = [(n, v) for n, v in request.POST.lists() if n != "csrfmiddlewaretoken"]
        if len(json.dumps(fields)) <= MAX_KEPT_BYTES:
            request.session[EXPIRED_POST] = {"path": request.path, "user": user, "data": fields}


def note_sign_in(sender, request, user, **kwargs):
    """user_logged_in: signing in is activity (the session is being written anyway); what was kept
    of someone else's expired session goes."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY] = int(time.time())
        kept = request.session.get(EXPIRED_POST)
        if kept and kept.get("user") != str(user.pk):
            del request.session[EXPIRED_POST]


class SessionIdleTimeoutMiddleware:
    """After SessionMiddleware: its answer is written after this one's, with the new expiry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - request.session.get(LAST_ACTIVITY, 0) >= ACTIVITY_WRITE_SECONDS:
                request.session[LAST_ACTIVITY] = now  # modified: saved with a new expiry
        return response
