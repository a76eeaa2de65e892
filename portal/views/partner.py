"""The partner portal: a partner's dashboard and its yearly reports.

Every object comes from a queryset scoped to the signed-in user's partners
(`Partner.objects.for_user`, then the partner's own projects, periods and reports): another
partner's code in a URL, or a period it does not report in, is a 404 by construction.
"""

import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tables2 import RequestConfig

from portal import publication as publishing
from portal import reporting
from portal.forms import ReportForms
from portal.highlights import contribution
from portal.models import Partner, Project, Report, ReportStatus, Sector
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


@dataclass
class ReportRow:
    """One line of the dashboard's reports table."""

    partner: Partner
    period: object
    report: Report | None
    window: reporting.Window
    to_do: list

    @property
    def status(self):
        return self.report.status if self.report else None

    @property
    def blocking(self):
        return [item for item in self.to_do if item.blocking]

    @property
    def url(self):
        return reverse(
            "partner-report",
            args=[self.partner.code, self.period.programme.code, self.period.label],
        )


def report_rows(partner):
    """The partner's reports, one row per period it reports in. What is left to do is worked out
    only for the reports it may still change (the open periods)."""
    reports = {report.period_id: report for report in Report.objects.filter(partner=partner)}
    rows = []
    for period in reporting.partner_periods(partner):
        report = reports.get(period.pk)
        state = reporting.window(partner, period, report)
        items = []
        if state.editable:
            items = reporting.to_do(report, reporting.report_projects(partner, period, report))
        rows.append(ReportRow(partner, period, report, state, items))
    return rows


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
    rows = report_rows(partner)
    reports = PartnerReportTable(rows)
    # The call to action: the open report with the nearest deadline.
    open_rows = sorted(
        (row for row in rows if row.window.editable), key=lambda r: r.window.deadline
    )
    return render(
        request,
        "portal/dashboard.html",
        {
            "current_partner": partner,
            "nav": "dashboard",
            "projects": projects,
            "reports": reports,
            "next_report": open_rows[0] if open_rows else None,
        },
    )


def _version(request):
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@login_required
def report(request, partner, programme, period):
    partner = user_partner(request, partner)
    period = partner_period(partner, programme, period)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    report = (
        Report.objects.select_related("submitted_by", "reviewed_by")
        .filter(partner=partner, period=period)
        .first()
    )
    state = reporting.window(partner, period, report)
    projects = list(reporting.report_projects(partner, period, report))
    saved = reporting.saved_lines(report)
    suggested = reporting.last_year(partner, period)
    version = report.version if report else 0
    stale = None

    forms = None
    if state.editable:
        data = request.POST if request.method == "POST" else None
        more = request.GET.get("more")
        forms = ReportForms(
            projects=projects,
            saved=saved,
            suggested=suggested,
            sectors=[(s.pk, s.name) for s in Sector.objects.all()],
            period=period,
            data=data,
            more=more,
        )
    if request.method == "POST":
        if forms is None:
            messages.error(request, state.reason)
            return redirect(request.path)
        posted_version = _version(request)
        if posted_version is None:
            return HttpResponseBadRequest(_("Le formulaire est incomplet : rechargez la page."))
        action = request.POST.get("action", "save")
        if forms.is_valid():
            try:
                saved_report = reporting.save_report(
                    partner=partner,
                    period=period,
                    user=request.user,
                    version=posted_version,
                    entries=forms.entries(),
                ).report
            except reporting.StaleReport as error:
                stale = error
                version = error.report.version  # a deliberate second save may go through
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, " ".join(_messages(error)))
                return redirect(request.path)
            else:
                return _after_save(request, saved_report, projects, action)
        else:
            messages.error(
                request,
                ngettext(
                    "Le rapport n'a pas été enregistré : %(count)s erreur à corriger.",
                    "Le rapport n'a pas été enregistré : %(count)s erreurs à corriger.",
                    forms.errors_count,
                )
                % {"count": forms.errors_count},
            )
    return render(
        request,
        "portal/report.html",
        {
            "current_partner": partner,
            "nav": "report",
            "period": period,
            "report": report,
            "window": state,
            "forms": forms,
            "projects": projects,
            "saved": saved,
            "suggested": suggested,
            "version": version,
            "stale": stale,
            "to_do": reporting.to_do(report, projects) if state.editable else [],
            "read_only_sections": [] if forms else saved.sections(projects),
            "read_only_total": reporting.investment_totals(
                (line.project_id, line.amount)
                for lines in saved.investments.values()
                for line in lines
            )[1],
            "receipt": _receipt(partner, period, report),
        },
        status=409 if stale else 200,
    )


def _messages(error):
    if isinstance(error, ValidationError):
        return error.messages
    return [str(error)]


def _after_save(request, report, projects, action):
    if action == "submit":
        try:
            reporting.submit_report(report=report, user=request.user, projects=projects)
        except (ValidationError, PermissionDenied) as error:
            messages.warning(
                request,
                _("Le brouillon est enregistré, mais le rapport n'a pas pu être soumis : %(why)s")
                % {"why": " ".join(_messages(error))},
            )
        else:
            messages.success(
                request,
                _(
                    "Le rapport est soumis. Un accusé de réception est envoyé par courriel aux "
                    "membres de votre organisation."
                ),
            )
        return redirect(request.path)
    messages.success(request, _("Le brouillon est enregistré."))
    prefix = action.removeprefix("add:")
    if action.startswith("add:") and ADD_ROWS.fullmatch(prefix):
        return redirect(f"{request.path}?more={prefix}#{prefix}")
    return redirect(request.path)


@dataclass(frozen=True)
class Receipt:
    mine: object  # highlights.Contribution
    published: object  # the publication's Highlights, or None
    publication: object
    included: bool  # whether the publication already counts this report


def _receipt(partner, period, report):
    """How an approved report's figures enter the programme's highlights. Programme totals are
    shown only once published (partners never see unpublished figures)."""
    if report is None or report.status != ReportStatus.APPROVED:
        return None
    current = publishing.latest(period)
    published = publishing.published_highlights(current) if current else None
    included = bool(
        current and (report.reviewed_at is None or report.reviewed_at <= current.published_at)
    )
    return Receipt(contribution(period, partner), published, current, included)
