"""The report's state machine: the only code that changes a report's status.

    draft ──submit──▶ submitted ──approve──▶ approved
                         │  ▲                    │
                  return │  │ submit             │ reopen (programme manager, with a reason)
                         ▼  │                    │
                       returned ◀────────────────┘

Each transition is a keyword-only function, atomic, that checks the person's permission, locks the
report row, checks the current status, records who and when, bumps the version, leaves a history
row with the person and a reason, and e-mails the partner's users once the change is committed.
Views, admin actions and commands call these functions; they never assign `status` themselves.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Report, ReportStatus
from portal.notifications import email_partner

SUBMIT = "submit"
APPROVE = "approve"
RETURN = "return"
REOPEN = "reopen"

# transition -> (statuses it may start from, status it leads to)
TRANSITIONS = {
    SUBMIT: ({ReportStatus.DRAFT, ReportStatus.RETURNED}, ReportStatus.SUBMITTED),
    APPROVE: ({ReportStatus.SUBMITTED}, ReportStatus.APPROVED),
    RETURN: ({ReportStatus.SUBMITTED}, ReportStatus.RETURNED),
    REOPEN: ({ReportStatus.APPROVED}, ReportStatus.RETURNED),
}
# Who may ask for a transition besides the partner's own users (submission).
PERMISSIONS = {
    APPROVE: "portal.review_report",
    RETURN: "portal.review_report",
    REOPEN: "portal.reopen_report",
}


class TransitionError(ValidationError):
    """A transition asked from a status that does not allow it."""


def allowed_transitions(report):
    return [name for name, (sources, _target) in TRANSITIONS.items() if report.status in sources]


def can(user, name):
    """Whether `user` may ask for the staff transition `name`."""
    return bool(user and user.is_active and user.has_perm(PERMISSIONS[name]))


def _transition(report, name, *, reason, user):
    member = user is not None and report.partner.users.filter(pk=user.pk).exists()
    if name in PERMISSIONS and (not can(user, name) or member):
        # Staff decide; nobody decides on their own organisation's report.
        raise PermissionDenied(_("Vous n'avez pas la permission d'effectuer cette action."))
    if name == SUBMIT and not member:
        raise PermissionDenied(_("Seuls les utilisateurs du partenaire soumettent son rapport."))
    sources, target = TRANSITIONS[name]
    # Lock the row: two reviewers (or a reviewer and the partner) cannot both move it.
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.status not in sources:
        raise TransitionError(
            _("Impossible de passer de « %(current)s » à « %(target)s ».")
            % {"current": locked.get_status_display(), "target": ReportStatus(target).label},
            code="invalid_transition",
        )
    locked.previous_status = locked.status
    locked.status = target
    locked.version += 1
    locked._change_reason = reason
    locked._history_user = user  # recorded even outside a request (commands, tests)
    return locked


def _save(report, source):
    report.full_clean()
    report.save()
    # Keep the caller's object in step with the database.
    for field in (
        "status",
        "version",
        "comment",
        "submitted_at",
        "submitted_by_id",
        "reviewed_at",
        "reviewed_by_id",
    ):
        setattr(source, field, getattr(report, field))
    return source


@transaction.atomic
def report_submit(*, report, user):
    """One of the partner's users submits its report: read-only until a reviewer returns it.

    A draft must be submitted by the partner's deadline (extensions included); a returned report
    may be resubmitted after it, since the reviewer asked for the correction."""
    locked = _transition(report, SUBMIT, reason="submitted", user=user)
    deadline = locked.period.deadline_for(locked.partner)
    if locked.previous_status == ReportStatus.DRAFT and timezone.localdate() > deadline:
        raise TransitionError(
            _("La période de remise est terminée depuis le %(date)s.") % {"date": deadline},
            code="deadline_passed",
        )
    locked.submitted_at = timezone.now()
    locked.submitted_by = user
    _save(locked, report)
    _notify(locked, "report_submitted")  # the receipt, to every user of the partner
    return report


@transaction.atomic
def report_approve(*, report, reviewer):
    locked = _transition(report, APPROVE, reason="approved", user=reviewer)
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = reviewer
    _save(locked, report)
    _notify(locked, "report_approved")
    return report


@transaction.atomic
def report_return(*, report, reviewer, comment):
    """Send a report back to its partner; the comment says what to fix and is required."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(
            {"comment": _("Un commentaire est requis pour retourner un rapport.")}
        )
    locked = _transition(report, RETURN, reason="returned", user=reviewer)
    locked.comment = comment
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = reviewer
    _save(locked, report)
    _notify(locked, "report_returned")
    return report


@transaction.atomic
def report_reopen(*, report, manager, reason):
    """A programme manager reopens an approved report: it goes back to the partner, returned with
    the reason as the comment, and leaves the highlights until it is approved again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"comment": _("Un motif est requis pour rouvrir un rapport.")})
    locked = _transition(report, REOPEN, reason=f"reopened: {reason}"[:100], user=manager)
    locked.comment = reason
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = manager
    _save(locked, report)
    _notify(locked, "report_reopened")
    return report


def _notify(report, template):
    email_partner(report.partner, template, {"report": report, "period": report.period})


def record_imported_status(*, report, status, comment):
    """Set the status a `reports` import gives (migrating past years), without a transition.

    The import saves the report (one history row, reason "import") and sends no e-mail. Only the
    contract's rule is checked here: a returned report carries the reviewer's comment.
    """
    if status not in ReportStatus.values:
        raise ValidationError(_("Statut inconnu « %(status)s ».") % {"status": status})
    if status == ReportStatus.RETURNED and not (comment or "").strip():
        raise ValidationError(_("Le commentaire est requis pour un rapport retourné."))
    if report.pk is None or report.status != status:
        report.version = (report.version or 0) + 1 if report.pk else 1
    report.status = status
    report.comment = (comment or "").strip()
