"""Reminders to partners whose report of an open period still needs their action.

A partner is reminded when its report is missing, draft or returned, a set number of days before
its own deadline (extensions included) and a set number of days after it. At most one e-mail per
partner per day, recorded as a `Reminder`: running this every hour sends each reminder once.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects

from portal.models import (
    Partner,
    Period,
    PeriodState,
    Project,
    Reminder,
    ReminderKind,
    Report,
    ReportStatus,
)
from portal.notifications import email_partner

DEFAULT_DAYS_BEFORE = (30, 7, 1)
DEFAULT_DAYS_OVERDUE = (1, 7, 14, 30)
MISSING = "missing"
NEEDS_ACTION = {ReportStatus.DRAFT, ReportStatus.RETURNED}


def reminder_days():
    """The days before the deadline and the days after it on which partners are reminded."""
    before = getattr(settings, "REMINDER_DAYS_BEFORE", DEFAULT_DAYS_BEFORE)
    overdue = getattr(settings, "REMINDER_DAYS_OVERDUE", DEFAULT_DAYS_OVERDUE)
    # int() also accepts the strings of a setting read from the environment with env_list.
    return {int(days) for days in before}, {int(days) for days in overdue}


def is_reminder_day(days_left, days_before, days_overdue):
    """Whether a deadline `days_left` days away (negative: past) calls for a reminder today."""
    if days_left >= 0:
        return days_left in days_before
    return -days_left in days_overdue


@dataclass(frozen=True)
class DueReport:
    """One period's report that the partner is reminded of today."""

    period: Period
    report: Report | None
    deadline: datetime.date
    days_left: int  # negative once the deadline has passed
    extension_reason: str = ""

    @property
    def overdue(self):
        return self.days_left < 0

    @property
    def days_overdue(self):
        return -self.days_left

    @property
    def kind(self):
        return ReminderKind.OVERDUE if self.overdue else ReminderKind.BEFORE

    @property
    def status(self):
        """`missing`, `draft` or `returned`."""
        return self.report.status if self.report else MISSING

    @property
    def extended(self):
        return self.deadline != self.period.deadline


@dataclass(frozen=True)
class PartnerReminder:
    """Today's reminder to one partner: its due reports, most urgent first, and who gets it."""

    partner: Partner
    reports: tuple[DueReport, ...]
    recipients: tuple[str, ...]

    @property
    def most_urgent(self):
        return self.reports[0]


SENT = "sent"
WOULD_SEND = "would_send"
NO_RECIPIENTS = "no_recipients"
ALREADY_SENT = "already_sent"
FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    reminder: PartnerReminder
    result: str  # one of the constants above
    recipients: tuple[str, ...] = ()
    error: str = ""


def due_reminders(today):
    """The reminders to send on `today`, by partner code, leaving out partners reminded already.

    The number of queries does not grow with the partners: one per open period for its
    participants, plus one each for the periods, their extensions, the reports and the users.
    """
    days_before, days_overdue = reminder_days()
    periods = list(
        Period.objects.filter(state=PeriodState.OPEN)
        .select_related("programme")
        .prefetch_related("extensions")
    )
    if not periods:
        return []
    reminded_today = Reminder.objects.filter(sent_on=today).values("partner_id")
    reports = {
        (report.partner_id, report.period_id): report
        for report in Report.objects.filter(period__in=periods)
    }
    partners, due = {}, {}
    for period in periods:
        participants = Partner.objects.participating_in(
            Project.objects.in_progress_during(period)
        ).exclude(pk__in=reminded_today)
        for partner in participants:
            report = reports.get((partner.pk, period.pk))
            if report is not None and report.status not in NEEDS_ACTION:
                continue
            extension = period.extension_for(partner)
            deadline = extension.new_deadline if extension else period.deadline
            days_left = (deadline - today).days
            if is_reminder_day(days_left, days_before, days_overdue):
                partners.setdefault(partner.pk, partner)
                due.setdefault(partner.pk, []).append(
                    DueReport(
                        period=period,
                        report=report,
                        deadline=deadline,
                        days_left=days_left,
                        extension_reason=extension.reason if extension else "",
                    )
                )
    active_users = get_user_model().objects.filter(is_active=True).only("pk", "email")
    prefetch_related_objects(
        list(partners.values()), Prefetch("users", queryset=active_users, to_attr="active_users")
    )
    reminders = []
    for pk, partner in partners.items():
        # Earliest deadline first, so the most overdue report leads the e-mail and the record.
        reports_due = sorted(
            due[pk],
            key=lambda d: (d.deadline, d.period.programme.code, d.period.start),
        )
        # The rule of notifications.partner_recipients, read from the prefetched users.
        recipients = sorted({user.email for user in partner.active_users if user.email})
        reminders.append(PartnerReminder(partner, tuple(reports_due), tuple(recipients)))
    return sorted(reminders, key=lambda r: r.partner.code)


def send_reminders(*, today, dry_run=False):
    """E-mail today's reminders; each partner's e-mail and its record commit together or not at all.

    Returns one `Outcome` per partner due today, in partner code order.
    """
    outcomes = []
    for reminder in due_reminders(today):
        if not reminder.recipients:
            outcomes.append(Outcome(reminder, NO_RECIPIENTS))
        elif dry_run:
            outcomes.append(Outcome(reminder, WOULD_SEND, reminder.recipients))
        else:
            outcomes.append(_send(reminder, today))
    return outcomes


def _send(reminder, today):
    """Claim today's reminder (committed), then send; a failed send gives the claim back.

    The claim comes first so that a concurrent run fails on the one-per-day constraint before
    sending anything; the e-mail leaves only once the claim is committed, so a database failure
    can never leave an e-mail sent and unrecorded."""
    urgent = reminder.most_urgent
    try:
        with transaction.atomic():
            record = Reminder.objects.create(
                partner=reminder.partner,
                period=urgent.period,
                kind=urgent.kind,
                days=urgent.days_left,
                sent_on=today,
                recipients=", ".join(reminder.recipients),
            )
            record.periods.set([due.period for due in reminder.reports])
    except IntegrityError:
        return Outcome(reminder, ALREADY_SENT)
    try:
        recipients = email_partner(
            reminder.partner,
            "reminder",
            {
                "reports": reminder.reports,
                "most_urgent": urgent,
                "today": today,
                "portal_url": getattr(settings, "PORTAL_URL", ""),
            },
            on_commit=False,
        )
    except Exception as error:  # any mail backend's failure: give the claim back, go on
        record.delete()
        return Outcome(reminder, FAILED, error=f"{type(error).__name__}: {error}")
    if not recipients:
        # The partner's last user with an e-mail left between the selection and the sending.
        record.delete()
        return Outcome(reminder, NO_RECIPIENTS)
    if tuple(recipients) != reminder.recipients:
        record.recipients = ", ".join(recipients)
        record.save(update_fields=["recipients"])
    return Outcome(reminder, SENT, tuple(recipients))
