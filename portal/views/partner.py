"""The partner portal: a partner's dashboard and its yearly reports.

Every object comes from a queryset scoped to the signed-in user's partners
(`Partner.objects.for_user`): another partner's code or id in a URL is a 404 by construction.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from portal.models import Partner

SESSION_PARTNER = "portal_partner"


def user_partner(request, code):
    """The user's partner with this code, or 404 (another organisation's code included)."""
    partner = Partner.objects.for_user(request.user).filter(code=code).first()
    if partner is None:
        raise Http404
    request.session[SESSION_PARTNER] = partner.code
    return partner


def home(request):
    """Where a person lands: sign-in, the admin for staff, or their organisation's dashboard."""
    if not request.user.is_authenticated:
        return redirect("login")
    partners = list(Partner.objects.for_user(request.user).only("code"))
    if not partners:
        if request.user.is_staff:
            return redirect("admin:index")
        return render(request, "portal/no_partner.html", status=403)
    remembered = request.session.get(SESSION_PARTNER)
    codes = [p.code for p in partners]
    if len(partners) == 1 or remembered in codes:
        return redirect("partner-dashboard", remembered if remembered in codes else codes[0])
    return redirect("partner-choose")


@login_required
def choose(request):
    partners = Partner.objects.for_user(request.user)
    return render(request, "portal/choose.html", {"partners": partners, "nav": "partners"})


@login_required
def dashboard(request, partner):
    partner = user_partner(request, partner)
    return render(request, "portal/dashboard.html", {"current_partner": partner, "nav": "dashboard"})


@login_required
def report(request, partner, programme, period):
    partner = user_partner(request, partner)
    raise Http404
