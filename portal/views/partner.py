"""The partner portal: a partner's dashboard and its yearly reports.

Every object comes from a queryset scoped to the signed-in user's partners
(`Partner.objects.for_user`, then the partner's own projects, periods and reports): another
partner's code in a URL, or a period it does not report in, is a 404 by construction.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tables2 import RequestConfig

from portal import reporting
from portal.forms import ReportForms
from portal.middleware import expired_post, keeps_expired_post
from portal.models import Partner, Project, Report, Sector
from portal.tables import PartnerProjectTable, PartnerReportTable

SESSION_PARTNER = "portal_partner"
ADD_ROWS = re.compile(r"(inv|prod)-\d+")  # the formsets a no-JavaScript « add a row » names


def user_partner(request, code):
    """The user's partner with this code, or 404 (another organisation's code included)."""
    partner = Partner.objects.for_user(request.user).filter(code=code).first()
    if partner is None:
        raise Http404
    if request.session.get(SESSION_PARTNER) != partner.code:
        request.session[SESSION_PARTNER] = partner.code  # where « home » leads next time
    return partner


def partner_period(partner, programme, label):
    """A period the partner reports in, or 404 (a period of a programme it is not part of)."""
    period = (
        reporting.partner_periods(partner).filter(programme__code=programme, label=label).first()
    )
    if period is None:
        raise Http404
    return period


@login_not_required  # it sends an anonymous visitor to the sign-in page itself
def home(request):
    """Where a person lands: sign-in, the admin for staff, or their organisation's dashboard."""
    if not request.user.is_authenticated:
        return redirect("login")
    codes = list(Partner.objects.for_user(request.user).values_list("code", flat=True))
    if not codes:
        if request.user.is_staff:
            return redirect("admin:index")
        return render(request, "portal/no_partner.html", status=403)
    remembered = request.session.get(SESSION_PARTNER)
    if remembered in codes:
        return redirect("partner-dashboard", remembered)
    if len(codes) == 1:
        return redirect("partner-dashboard", codes[0])
    return redirect("partner-choose")


@login_required
def choose(request):
    partners = Partner.objects.for_user(request.user)
    return render(request, "portal/choose.html", {"partners": partners, "nav": "partners"})


@login_required
def dashboard(request, partner):
    partner = user_partner(request, partner)  # another partner's code: 404 before anything
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    projects = PartnerProjectTable(
        Project.objects.with_participant(partner).select_related("sector", "programme"),
        partner=partner,
        prefix="projects-",
    )
    RequestConfig(request, paginate=False).configure(projects)
    rows = reporting.report_rows(partner)
    return render(
        request,
        "portal/dashboard.html",
        {
            "current_partner": partner,
            "nav": "dashboard",
            "projects": projects,
            "reports": PartnerReportTable(rows),
            "next_report": reporting.next_report(rows),
        },
    )


@keeps_expired_post
@login_required
def report(request, partner, programme, period):
    partner = user_partner(request, partner)
    period = partner_period(partner, programme, period)
    if request.method == "POST":
        return _save(request, ReportPage(partner, period))
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    page = ReportPage(partner, period)
    kept = expired_post(request)
    if kept is not None:
        return _restore(request, page, kept)
    return page.render(request)


class ReportPage:
    """Everything the report page shows, read from the database when it is built."""

    def __init__(self, partner, period):
        self.partner, self.period = partner, period
        self.report = (
            Report.objects.select_related("submitted_by", "reviewed_by")
            .filter(partner=partner, period=period)
            .first()
        )
        self.window = reporting.window(partner, period, self.report)
        self.projects = list(reporting.report_projects(partner, period, self.report))
        self.saved = reporting.saved_lines(self.report)
        self.suggested = reporting.last_year(partner, period)
        self._sectors = None

    def forms(self, data=None, more=None):
        if self._sectors is None:
            self._sectors = [(sector.pk, sector.name) for sector in Sector.objects.all()]
        return ReportForms(
            projects=self.projects,
            saved=self.saved,
            suggested=self.suggested,
            sectors=self._sectors,
            period=self.period,
            data=data,
            more=more,
        )

    def render(self, request, *, forms=None, stale=None, refused="", typed=(), status=200):
        if forms is None and self.window.editable:
            forms = self.forms(more=request.GET.get("more"))
        context = {
            "current_partner": self.partner,
            "nav": "report",
            "period": self.period,
            "report": self.report,
            "window": self.window,
            "forms": forms if self.window.editable else None,
            "projects": self.projects,
            "version": self.report.version if self.report else 0,
            "token": reporting.lines_token(self.saved),
            "stale": stale,
            "refused": refused,
            "typed": [(project, texts) for project, texts in typed if texts],
            "to_do": (reporting.to_do(self.report, self.projects) if self.window.editable else []),
            "read_only_sections": []
            if self.window.editable
            else self.saved.sections(self.projects),
            "read_only_total": self.saved.total,
            "receipt": reporting.receipt(self.partner, self.period, self.report),
        }
        return render(request, "portal/report.html", context, status=status)


def _save(request, page):
    """Save (and with « Soumettre », submit) what the person typed, or say why not: a page that is
    read-only or stale is answered 409 with what they typed, nothing is half-written."""
    posted = page.forms(data=request.POST)
    version, token = _loaded(request.POST)
    not_now = _cannot_save(page, posted, version, token)
    if not_now:
        return page.render(request, **not_now, status=409)
    if posted.tampered():
        return page.render(
            request,
            refused=_("Le formulaire ne correspond plus au rapport : rechargez la page."),
            status=400,
        )
    if not posted.is_valid():
        messages.error(
            request,
            ngettext(
                "Le rapport n'a pas été enregistré : %(count)s erreur à corriger.",
                "Le rapport n'a pas été enregistré : %(count)s erreurs à corriger.",
                posted.errors_count,
            )
            % {"count": posted.errors_count},
        )
        return page.render(request, forms=posted)
    action = request.POST.get("action", "save")
    try:
        saved = reporting.save_report(
            partner=page.partner,
            period=page.period,
            user=request.user,
            version=version,
            token=token,
            entries=posted.entries(),
            submit=action == "submit",
        )
    except reporting.StaleReport as error:
        fresh = ReportPage(page.partner, page.period)  # what it is now, after the other save
        return fresh.render(request, stale=error, typed=posted.typed(), status=409)
    except (ValidationError, PermissionDenied) as error:
        texts = error.messages if isinstance(error, ValidationError) else [str(error)]
        fresh = ReportPage(page.partner, page.period)
        return fresh.render(request, refused=" ".join(texts), typed=posted.typed(), status=409)
    if action == "submit" and saved.refused:
        messages.warning(
            request,
            _("Le brouillon est enregistré, mais le rapport n'a pas pu être soumis : %(why)s")
            % {"why": " ".join(saved.refused)},
        )
    elif action == "submit":
        messages.success(
            request,
            _(
                "Le rapport est soumis. Un accusé de réception est envoyé par courriel aux "
                "membres de votre organisation."
            ),
        )
    else:
        messages.success(request, _("Le brouillon est enregistré."))
        prefix = action.removeprefix("add:")
        if action.startswith("add:") and ADD_ROWS.fullmatch(prefix):
            return redirect(f"{request.path}?more={prefix}#{prefix}")
    return redirect(request.path)


def _loaded(data):
    """The report as the page that posted `data` showed it: (version, lines' fingerprint)."""
    try:
        version = int(data.get("version", ""))
    except ValueError:
        version = None
    return version, data.get("token", "")


def _cannot_save(page, posted, version, token):
    """Why what was posted from a page loaded at (`version`, `token`) cannot be saved now, as the
    page's arguments (the reason, and what was typed so that nothing is lost); None when it can:
    the report is read-only now, or it changed since that page was loaded."""
    if not page.window.editable:
        return {"refused": page.window.reason, "typed": posted.typed()}
    if reporting.is_stale(page.report, page.saved, version=version, token=token):
        report = page.report or Report(partner=page.partner, period=page.period, version=0)
        changes = reporting.stale_changes(page.report, version)
        return {"stale": reporting.StaleReport(report, version, changes), "typed": posted.typed()}
    return None


def _restore(request, page, data):
    """What the person posted after their session had expired, shown back once they are signed in
    again: in the form, never saved by itself. As for a save, a report that changed since their
    page was loaded shows what changed and what they typed."""
    posted = page.forms(data=data)
    not_now = _cannot_save(page, posted, *_loaded(data))
    if not_now:
        return page.render(request, **not_now)
    if posted.tampered():
        return page.render(request)
    posted.is_valid()  # what needs correcting shows next to its field
    messages.warning(
        request,
        _(
            "Votre session avait expiré. Ce que vous aviez saisi est rétabli ci-dessous, mais "
            "n'est pas encore enregistré : vérifiez-le, puis enregistrez."
        ),
    )
    return page.render(request, forms=posted)
