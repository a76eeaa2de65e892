"""Sessions that end after a while without a request, and deny by default.

- `SessionIdleTimeoutMiddleware`: a session ends SESSION_COOKIE_AGE seconds (SESSION_IDLE_TIMEOUT)
  after the person's last request. Each request pushes the expiry back, but the session row is
  written at most once a minute (ACTIVITY_WRITE_SECONDS), not at every request.
- `LoginRequiredMiddleware`: every view needs a signed-in person unless it is marked
  `@login_not_required` (Django's), and a form posted after the session ended is not lost: for a
  view marked `@keeps_expired_post`, what was posted is kept in the new, anonymous session, which
  Django carries over when the person signs in again; the view then shows it back to them
  (`expired_post()`), and never saves it by itself.
"""

import time

from django.contrib.auth import middleware
from django.contrib.auth.views import redirect_to_login
from django.http import QueryDict
from django.urls import reverse

LAST_ACTIVITY = "portal_last_activity"
ACTIVITY_WRITE_SECONDS = 60

EXPIRED_POST = "portal_expired_post"
# A bigger POST is not kept (the session row would grow with it); the report form is far smaller.
MAX_KEPT_FIELDS = 5000


def keeps_expired_post(view):
    view.keeps_expired_post = True
    return view


def expired_post(request):
    """What was posted to this page after the session expired (a QueryDict), once; or None."""
    kept = request.session.get(EXPIRED_POST)
    if not kept or kept.get("path") != request.path:
        return None
    del request.session[EXPIRED_POST]
    data = QueryDict(mutable=True)
    for name, values in kept["data"]:
        data.setlist(name, values)
    return data


class LoginRequiredMiddleware(middleware.LoginRequiredMiddleware):
    def handle_no_permission(self, request, view_func):
        if request.method == "POST" and getattr(view_func, "keeps_expired_post", False):
            fields = [
                (name, values)
                for name, values in request.POST.lists()
                if name != "csrfmiddlewaretoken"
            ]
            if len(fields) <= MAX_KEPT_FIELDS:
                request.session[EXPIRED_POST] = {"path": request.path, "data": fields}
        match = request.resolver_match
        if match is not None and match.app_name == "admin":
            # Every admin page signs in on the admin's own page (Django gives only the admin
            # site's views that login_url, not the ModelAdmins' ones).
            return redirect_to_login(
                request.get_full_path(), reverse("admin:login", current_app=match.namespace)
            )
        return super().handle_no_permission(request, view_func)


def note_sign_in(sender, request, user, **kwargs):
    """user_logged_in: signing in is activity (the session is being written anyway)."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY] = int(time.time())


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
