"""The report's state machine: each transition, and its refusal from the wrong state."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal import workflow
from portal.models import Extension, ReportStatus
from portal.roles import PROGRAMME_MANAGERS, REVIEWERS
from tests import factories as f

pytestmark = pytest.mark.django_db
S = ReportStatus


@pytest.fixture
def setup():
    user = get_user_model().objects.create_user("marie", password="x")
    reviewer = get_user_model().objects.create_user("revue", password="x", is_staff=True)
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    today = timezone.localdate()
    prog = f.programme()
    period = f.period(
        prog,
        "2025-2026",
        start=datetime.date(2025, 4, 1),
        end=datetime.date(2026, 3, 31),
        deadline=today + datetime.timedelta(days=10),
    )
    partner = f.partner("ALPHA")
    partner.users.add(user)
    return user, reviewer, f.report(partner, period, S.DRAFT)


def test_submit_records_who_and_when_and_bumps_the_version(setup):
    user, _reviewer, report = setup

    workflow.report_submit(report=report, user=user)

    report.refresh_from_db()
    assert report.status == S.SUBMITTED
    assert report.submitted_by == user and report.submitted_at is not None
    assert report.version == 2
    assert report.history.first().history_change_reason == "submitted"


def test_approve_then_nothing_but_approved(setup):
    user, reviewer, report = setup
    workflow.report_submit(report=report, user=user)

    workflow.report_approve(report=report, reviewer=reviewer)

    report.refresh_from_db()
    assert (report.status, report.reviewed_by) == (S.APPROVED, reviewer)
    for transition in (
        lambda: workflow.report_submit(report=report, user=user),
        lambda: workflow.report_approve(report=report, reviewer=reviewer),
        lambda: workflow.report_return(report=report, reviewer=reviewer, comment="x"),
    ):
        with pytest.raises(workflow.TransitionError):
            transition()
    report.refresh_from_db()
    assert report.status == S.APPROVED


def test_return_requires_a_comment_and_allows_a_new_submission(setup):
    user, reviewer, report = setup
    workflow.report_submit(report=report, user=user)

    with pytest.raises(ValidationError) as error:
        workflow.report_return(report=report, reviewer=reviewer, comment="   ")
    assert "commentaire" in str(error.value)
    report.refresh_from_db()
    assert report.status == S.SUBMITTED

    workflow.report_return(report=report, reviewer=reviewer, comment="Ventilez les montants.")
    report.refresh_from_db()
    assert (report.status, report.comment) == (S.RETURNED, "Ventilez les montants.")

    workflow.report_submit(report=report, user=user)
    report.refresh_from_db()
    assert report.status == S.SUBMITTED
    assert [h.status for h in report.history.order_by("history_date")] == [
        S.DRAFT,
        S.SUBMITTED,
        S.RETURNED,
        S.SUBMITTED,
    ]


def test_a_draft_cannot_be_approved_or_returned(setup):
    _user, reviewer, report = setup

    with pytest.raises(workflow.TransitionError):
        workflow.report_approve(report=report, reviewer=reviewer)
    with pytest.raises(workflow.TransitionError):
        workflow.report_return(report=report, reviewer=reviewer, comment="x")
    assert workflow.allowed_transitions(report) == [workflow.SUBMIT]


def test_submission_after_the_deadline_is_refused_unless_extended(setup):
    user, _reviewer, report = setup
    period = report.period
    period.deadline = timezone.localdate() - datetime.timedelta(days=1)
    period.save()

    with pytest.raises(workflow.TransitionError) as error:
        workflow.report_submit(report=report, user=user)
    assert error.value.code == "deadline_passed"
    report.refresh_from_db()
    assert report.status == S.DRAFT

    Extension.objects.create(
        period=period,
        partner=report.partner,
        new_deadline=timezone.localdate() + datetime.timedelta(days=5),
        reason="Panne informatique",
    )
    workflow.report_submit(report=report, user=user)
    report.refresh_from_db()
    assert report.status == S.SUBMITTED


@pytest.fixture
def people(setup):
    """A partner user with an e-mail, a reviewer, a programme manager and a staff member with no
    group, around the setup's draft report."""
    user, reviewer, report = setup
    user.email = "marie@alpha.example"
    user.save()
    report.partner.users.add(user)
    manager = get_user_model().objects.create_user("gestion", password="x", is_staff=True)
    manager.groups.add(Group.objects.get(name=PROGRAMME_MANAGERS))
    bystander = get_user_model().objects.create_user("stagiaire", password="x", is_staff=True)
    return user, reviewer, manager, bystander, report


def test_only_reviewers_and_managers_approve_or_return(people):
    user, reviewer, manager, bystander, report = people
    workflow.report_submit(report=report, user=user)

    for someone in (bystander, user):
        with pytest.raises(PermissionDenied):
            workflow.report_approve(report=report, reviewer=someone)
        with pytest.raises(PermissionDenied):
            workflow.report_return(report=report, reviewer=someone, comment="x")
    report.refresh_from_db()
    assert report.status == S.SUBMITTED

    workflow.report_approve(report=report, reviewer=manager)
    report.refresh_from_db()
    assert report.status == S.APPROVED


def test_only_a_programme_manager_reopens_an_approved_report_with_a_reason(
    people, django_capture_on_commit_callbacks
):
    user, reviewer, manager, _bystander, report = people
    workflow.report_submit(report=report, user=user)
    workflow.report_approve(report=report, reviewer=reviewer)

    with pytest.raises(PermissionDenied):
        workflow.report_reopen(report=report, manager=reviewer, reason="Erreur de saisie")
    with pytest.raises(ValidationError):
        workflow.report_reopen(report=report, manager=manager, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_reopen(report=report, manager=manager, reason="Montant en double")
    reopened = mail.outbox[-1]
    assert reopened.subject == "Rapport 2025-2026 rouvert — PSM-NUM"
    assert "Montant en double" in reopened.body and "was reopened" in reopened.body

    report.refresh_from_db()
    assert (report.status, report.comment, report.reviewed_by) == (
        S.RETURNED,
        "Montant en double",
        manager,
    )
    latest = report.history.first()
    assert latest.history_user == manager
    assert latest.history_change_reason == "reopened: Montant en double"
    with pytest.raises(workflow.TransitionError):
        workflow.report_reopen(report=report, manager=manager, reason="encore")


def test_decisions_are_e_mailed_to_the_partners_users_after_commit(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    user, reviewer, _manager, _bystander, report = people
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_submit(report=report, user=user)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_return(report=report, reviewer=reviewer, comment="Ventilez les montants.")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_submit(report=report, user=user)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.report_approve(report=report, reviewer=reviewer)

    assert [m.to for m in mailoutbox] == [["marie@alpha.example"]] * 4
    receipt, returned, _receipt_again, approved = mailoutbox
    assert receipt.subject == "Accusé de réception : rapport 2025-2026 — PSM-NUM"
    assert "soumis le" in receipt.body
    assert "was submitted" in receipt.body
    assert returned.subject == "Rapport 2025-2026 à corriger — PSM-NUM"
    assert "Ventilez les montants." in returned.body
    assert "Your 2025-2026 report for PSM-NUM was returned for correction." in returned.body
    assert approved.subject == "Rapport 2025-2026 approuvé — PSM-NUM"
    assert "report for PSM-NUM was approved" in approved.body


def test_a_refused_transition_sends_nothing(people, mailoutbox, django_capture_on_commit_callbacks):
    _user, reviewer, _manager, _bystander, report = people

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(workflow.TransitionError):
        workflow.report_approve(report=report, reviewer=reviewer)

    assert mailoutbox == []


def test_only_the_partners_users_submit(setup):
    _user, reviewer, report = setup
    outsider = get_user_model().objects.create_user("autre", password="x")

    for someone in (outsider, reviewer):
        with pytest.raises(PermissionDenied):
            workflow.report_submit(report=report, user=someone)
    report.refresh_from_db()
    assert report.status == S.DRAFT


def test_nobody_decides_on_their_own_organisations_report(people):
    user, reviewer, _manager, _bystander, report = people
    workflow.report_submit(report=report, user=user)
    report.partner.users.add(reviewer)

    with pytest.raises(PermissionDenied):
        workflow.report_approve(report=report, reviewer=reviewer)


def test_a_returned_report_can_be_resubmitted_after_the_deadline(people):
    user, reviewer, _manager, _bystander, report = people
    workflow.report_submit(report=report, user=user)
    workflow.report_return(report=report, reviewer=reviewer, comment="Corrigez les emplois.")
    period = report.period
    period.deadline = timezone.localdate() - datetime.timedelta(days=30)
    period.save()

    workflow.report_submit(report=report, user=user)

    report.refresh_from_db()
    assert report.status == S.SUBMITTED
