"""The staff's review in the admin: queue, review page, decisions, who is where, roles."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.models import (
    CheckAcknowledgement,
    Extension,
    InvestmentLine,
    Period,
    Publication,
    Reminder,
    Report,
    ReportStatus,
)
from portal.roles import PROGRAMME_MANAGERS, REVIEWERS
from tests.test_imports import load_fixtures

pytestmark = pytest.mark.django_db
S = ReportStatus


def staff_member(client, username, group=None):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.org", "x", is_staff=True
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


@pytest.fixture
def data():
    """The fixtures, with BETA's 2019-2020 report put back under review (submitted)."""
    load_fixtures()
    Report.objects.filter(partner__code="BETA", period__label="2019-2020").update(
        status=S.SUBMITTED
    )
    return Report.objects.get(partner__code="BETA", period__label="2019-2020")


def test_the_queue_counts_reports_by_status(client, data):
    staff_member(client, "revue", REVIEWERS)

    response = client.get(reverse("admin:portal_report_changelist"))

    assert response.status_code == 200
    counts = {status: count for _label, status, count in response.context["status_counts"]}
    assert counts == {"draft": 1, "submitted": 1, "returned": 1, "approved": 2}


def test_a_reviewer_approves_from_the_review_page_and_the_partner_is_told(
    client, data, mailoutbox, django_capture_on_commit_callbacks
):
    reviewer = staff_member(client, "revue", REVIEWERS)
    beta_user = get_user_model().objects.create_user("b", "b@beta.example", "x")
    data.partner.users.add(beta_user)

    page = client.get(reverse("admin:portal_report_change", args=[data.pk]))
    assert page.status_code == 200
    assert page.context["review_can"] == {"approve": True, "return": True, "reopen": False}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:portal_report_review", args=[data.pk]), {"decision": "approve"}
        )

    assert response.status_code == 302
    data.refresh_from_db()
    assert (data.status, data.reviewed_by) == (S.APPROVED, reviewer)
    assert [m.to for m in mailoutbox] == [["b@beta.example"]]


def test_returning_requires_a_comment(client, data):
    staff_member(client, "revue", REVIEWERS)
    url = reverse("admin:portal_report_review", args=[data.pk])

    client.post(url, {"decision": "return", "comment": "  "})
    data.refresh_from_db()
    assert data.status == S.SUBMITTED

    client.post(url, {"decision": "return", "comment": "Ventilez la sous-traitance."})
    data.refresh_from_db()
    assert (data.status, data.comment) == (S.RETURNED, "Ventilez la sous-traitance.")


def test_reopening_is_for_programme_managers_only(client, data):
    approved = Report.objects.get(partner__code="ALPHA", period__label="2019-2020")
    url = reverse("admin:portal_report_review", args=[approved.pk])
    staff_member(client, "revue", REVIEWERS)

    assert client.post(url, {"decision": "reopen", "comment": "Erreur"}).status_code == 403

    manager = staff_member(client, "gestion", PROGRAMME_MANAGERS)
    client.post(url, {"decision": "reopen", "comment": "Montant en double"})
    approved.refresh_from_db()
    assert (approved.status, approved.reviewed_by) == (S.RETURNED, manager)


def test_staff_without_a_group_cannot_decide(client, data):
    staff_member(client, "stagiaire")

    response = client.post(
        reverse("admin:portal_report_review", args=[data.pk]), {"decision": "approve"}
    )

    assert response.status_code == 403
    data.refresh_from_db()
    assert data.status == S.SUBMITTED


def test_bulk_approve_skips_reports_that_are_not_submitted(client, data):
    staff_member(client, "revue", REVIEWERS)
    draft = Report.objects.get(partner__code="ALPHA", period__label="2020-2021")

    response = client.post(
        reverse("admin:portal_report_changelist"),
        {"action": "approve_selected", "_selected_action": [data.pk, draft.pk]},
        follow=True,
    )

    data.refresh_from_db()
    draft.refresh_from_db()
    assert (data.status, draft.status) == (S.APPROVED, S.DRAFT)
    assert "1 rapport traité." in response.content.decode()


def test_bulk_return_asks_for_a_comment_then_returns(client, data):
    staff_member(client, "revue", REVIEWERS)
    url = reverse("admin:portal_report_changelist")

    form = client.post(url, {"action": "return_selected", "_selected_action": [data.pk]})
    assert form.status_code == 200 and "comment" in form.content.decode()
    data.refresh_from_db()
    assert data.status == S.SUBMITTED

    client.post(
        url,
        {
            "action": "return_selected",
            "_selected_action": [data.pk],
            "apply": "1",
            "comment": "Il manque les emplois.",
        },
    )
    data.refresh_from_db()
    assert (data.status, data.comment) == (S.RETURNED, "Il manque les emplois.")


def test_the_review_page_shows_last_year_and_changes_since_the_return(client, data):
    staff_member(client, "gestion", PROGRAMME_MANAGERS)
    criq = Report.objects.get(partner__code="CRIQ", period__label="2019-2020")
    criq.save()  # a fresh "returned" history row: the import's lines came before it
    line = InvestmentLine.objects.get(report=criq)
    line.amount = line.amount + 1
    line.save()

    page = client.get(reverse("admin:portal_report_change", args=[criq.pk]))

    assert page.status_code == 200
    changes = page.context["review_changes"]
    assert [(c.action, [name for name, _old, _new in c.changes]) for c in changes] == [
        ("~", ["montant ($)"])
    ]
    rows = page.context["review_rows"]
    assert [r.project.code for r in rows] == ["NUM-1"]
    assert rows[0].this_year.jobs == 80


def test_lines_are_read_only_while_under_review_or_approved(client, data):
    staff_member(client, "gestion", PROGRAMME_MANAGERS)
    line = InvestmentLine.objects.filter(report=data).first()

    page = client.get(reverse("admin:portal_investmentline_change", args=[line.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    valid = {
        "report": line.report_id,
        "project": line.project_id,
        "amount": "1.00",
        "category": line.category,
        "performer": line.performer,
    }
    # The same POST on a draft's line goes through: the refusal below is the report's status.
    draft = Report.objects.get(partner__code="ALPHA", period__label="2020-2021")
    draft_line = InvestmentLine.objects.create(
        report=draft,
        project=line.project.__class__.objects.get(code="NUM-1"),
        amount="5.00",
        category="labour",
        performer="self",
    )
    ok = client.post(
        reverse("admin:portal_investmentline_change", args=[draft_line.pk]),
        {**valid, "report": draft.pk, "project": draft_line.project_id},
    )
    assert ok.status_code == 302
    draft_line.refresh_from_db()
    assert draft_line.amount == 1

    refused = client.post(reverse("admin:portal_investmentline_change", args=[line.pk]), valid)

    assert refused.status_code == 403
    line.refresh_from_db()
    assert line.amount != 1


def test_no_line_is_added_or_moved_into_a_report_under_review(client, data):
    staff_member(client, "gestion", PROGRAMME_MANAGERS)
    draft = Report.objects.get(partner__code="ALPHA", period__label="2020-2021")
    draft_line = InvestmentLine.objects.create(
        report=draft,
        project=InvestmentLine.objects.filter(report__partner__code="ALPHA").first().project,
        amount="5.00",
        category="materials",
        performer="self",
    )
    approved = Report.objects.get(partner__code="ALPHA", period__label="2019-2020")
    before = approved.investments.count()
    fields = {"project": draft_line.project_id, "amount": "9.00", "performer": "other"}

    added = client.post(
        reverse("admin:portal_investmentline_add"),
        {**fields, "report": approved.pk, "category": "subcontracting"},
    )
    moved = client.post(
        reverse("admin:portal_investmentline_change", args=[draft_line.pk]),
        {**fields, "report": approved.pk, "category": "materials"},
    )

    assert added.status_code == moved.status_code == 200
    assert "ses lignes ne changent plus" in added.content.decode()
    assert approved.investments.count() == before
    draft_line.refresh_from_db()
    assert draft_line.report == draft


def test_history_can_be_read_but_never_reverted(client, data):
    staff_member(client, "gestion", PROGRAMME_MANAGERS)
    approved = Report.objects.get(partner__code="ALPHA", period__label="2019-2020")
    version = approved.history.last()
    url = reverse("admin:portal_report_simple_history", args=[approved.pk, version.history_id])

    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 403
    approved.refresh_from_db()
    assert approved.status == S.APPROVED


def test_the_review_page_does_not_grow_with_the_lines(client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests import factories as f

    staff_member(client, "revue", REVIEWERS)
    prog = f.programme()
    period = f.period(prog)
    partner = f.partner("ALPHA")
    report = f.report(partner, period, S.RETURNED, comment="Corrigez")
    report.save()  # the return, before the partner's corrections below

    def add_lines(start, count):
        for i in range(start, start + count):
            project = f.project(prog, f"X{i}", partner)
            f.investment(report, project, "10.00")
            f.jobs(report, project, 1, 1)
            f.product(report, project, f"Produit {i}", period.start)
        for line in InvestmentLine.objects.filter(report=report):
            line.amount += 1
            line.save()
        report.status = S.SUBMITTED
        report.save()

    url = reverse("admin:portal_report_change", args=[report.pk])
    add_lines(0, 3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_lines(3, 30)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)

    assert len(page.context["review_changes"]) > 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_acknowledgement_cannot_be_rewritten_in_the_admin(client, data):
    staff_member(client, "gestion", PROGRAMME_MANAGERS)
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
    acknowledgement = CheckAcknowledgement.objects.create(
        period=period, code="amount_over_threshold", subject="report:1", comment="vu"
    )

    response = client.post(
        reverse("admin:portal_checkacknowledgement_change", args=[acknowledgement.pk]),
        {"period": period.pk, "code": "x", "subject": "y", "comment": "réécrit"},
    )

    assert response.status_code == 403
    acknowledgement.refresh_from_db()
    assert acknowledgement.comment == "vu"


def test_granting_an_extension_tells_the_partner(
    client, data, mailoutbox, django_capture_on_commit_callbacks
):
    staff = staff_member(client, "gestion", PROGRAMME_MANAGERS)
    alpha_user = get_user_model().objects.create_user("a", "a@alpha.example", "x")
    Report.objects.get(partner__code="ALPHA", period__label="2020-2021").partner.users.add(
        alpha_user
    )
    period = Period.objects.get(programme__code="PSM-NUM", label="2020-2021")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:portal_extension_add"),
            {
                "period": period.pk,
                "partner": alpha_user.partners.get().pk,
                "new_deadline": "2021-07-15",
                "reason": "Panne du système comptable",
            },
        )

    assert response.status_code == 302
    extension = period.extensions.get(partner__code="ALPHA")
    assert extension.granted_by == staff
    (message,) = mailoutbox
    assert message.to == ["a@alpha.example"]
    assert "2021-07-15" in message.subject
    assert "Panne du système comptable" in message.body
    assert "is extended to 2021-07-15" in message.body


def test_who_is_where_lists_partners_without_a_report(client, data):
    staff_member(client, "revue", REVIEWERS)
    period = Period.objects.get(programme__code="PSM-NUM", label="2020-2021")

    page = client.get(reverse("admin:portal_report_cycle", args=[period.pk]))

    assert page.status_code == 200
    statuses = {row.partner.code: row.status for row in page.context["rows"]}
    # NUM-1 (ALPHA, CRIQ) runs on; NUM-2 ended in 2020-02: only ALPHA has a report.
    assert statuses == {"ALPHA": "draft", "CRIQ": "missing"}
    counts = {status: count for _label, status, count in page.context["counts"]}
    assert (counts["draft"], counts["missing"]) == (1, 1)


def test_warnings_are_listed_and_acknowledged_with_a_comment(client, data):
    reviewer = staff_member(client, "revue", REVIEWERS)
    period = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
    url = reverse("admin:portal_period_checks", args=[period.pk])

    page = client.get(url)
    assert page.status_code == 200
    finding = next(f for f in page.context["findings"] if f.code == "product_outside_period")
    client.post(url, {"code": finding.code, "subject": finding.subject, "comment": ""})
    assert not CheckAcknowledgement.objects.exists()

    client.post(
        url, {"code": finding.code, "subject": finding.subject, "comment": "Vu : lancé en 2019."}
    )

    acknowledgement = CheckAcknowledgement.objects.get()
    assert (acknowledgement.acknowledged_by, acknowledgement.comment) == (
        reviewer,
        "Vu : lancé en 2019.",
    )
    again = client.get(url)
    assert (
        next(f for f in again.context["findings"] if f.subject == finding.subject).acknowledgement
        == acknowledgement
    )


def test_partner_users_never_reach_the_admin_even_with_staff_flags(client, data):
    partner_user = get_user_model().objects.create_user("p", "p@alpha.example", "x", is_staff=True)
    partner_user.groups.add(Group.objects.get(name=REVIEWERS))
    data.partner.users.add(partner_user)
    client.force_login(partner_user)

    for url in (
        reverse("admin:portal_report_changelist"),
        reverse("admin:portal_report_change", args=[data.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    client.post(reverse("admin:portal_report_review", args=[data.pk]), {"decision": "approve"})
    data.refresh_from_db()
    assert data.status == S.SUBMITTED


def test_reviewers_see_but_do_not_edit_the_registry(client, data):
    staff_member(client, "revue", REVIEWERS)

    assert client.get(reverse("admin:portal_project_changelist")).status_code == 200
    assert client.get(reverse("admin:portal_project_add")).status_code == 403


@pytest.mark.parametrize(
    "model",
    [
        "report",
        "investmentline",
        "jobline",
        "productline",
        "project",
        "participation",
        "partner",
        "period",
        "extension",
        "reminder",
        "checkacknowledgement",
        "publication",
    ],
)
def test_changelist_queries_do_not_grow_with_rows(client, model, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests import factories as f

    staff_member(client, "gestion", PROGRAMME_MANAGERS)
    prog = f.programme()
    period = f.period(prog)
    url = reverse(f"admin:portal_{model}_changelist")

    def add_rows(start, count):
        for i in range(start, start + count):
            partner = f.partner(f"P{i}")
            project = f.project(prog, f"X{i}", partner)
            other = f.partner(f"Q{i}")
            project.participations.create(partner=other, role="participant")
            report = f.report(partner, period, S.SUBMITTED)
            f.investment(report, project, "10.00")
            f.jobs(report, project, 2, 1)
            f.product(report, project, f"Produit {i}", period.start)
            next_period = f.period(prog, f"{2030 + i}-{2031 + i}")
            Extension.objects.create(
                period=next_period,
                new_deadline=next_period.deadline + timedelta(days=30),
                reason="x",
            )
            Reminder.objects.create(
                partner=partner,
                period=period,
                kind="before",
                days=7,
                sent_on=period.deadline,
                recipients="a@b.c",
            )
            Publication.objects.create(period=next_period, figures={}, approved_reports=0)
            CheckAcknowledgement.objects.create(
                period=period,
                code="amount_over_threshold",
                subject=f"report:{report.pk}",
                comment="vu",
            )

    add_rows(0, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_rows(2, 20)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200

    assert len(many.captured_queries) == len(few.captured_queries)


def test_for_one_period_the_queue_also_counts_missing_reports_whatever_the_status_filter(
    client, data
):
    staff_member(client, "revue", REVIEWERS)
    period = Period.objects.get(programme__code="PSM-NUM", label="2020-2021")

    response = client.get(
        reverse("admin:portal_report_changelist"),
        {"period__id__exact": period.pk, "status__exact": "approved"},
    )

    counts = {status: count for _label, status, count in response.context["status_counts"]}
    assert counts == {"draft": 1, "submitted": 0, "returned": 0, "approved": 0, "missing": 1}


def test_who_is_where_shows_a_reminder_in_every_period_it_covered(client, data):
    import datetime

    staff_member(client, "revue", REVIEWERS)
    first = Period.objects.get(programme__code="PSM-NUM", label="2019-2020")
    second = Period.objects.get(programme__code="PSM-NUM", label="2020-2021")
    criq = Report.objects.get(partner__code="CRIQ", period=first).partner
    reminder = Reminder.objects.create(
        partner=criq,
        period=first,
        kind="overdue",
        days=-7,
        sent_on=datetime.date(2021, 6, 7),
        recipients="c@criq.example",
    )
    reminder.periods.set([first, second])

    page = client.get(reverse("admin:portal_report_cycle", args=[second.pk]))

    row = next(r for r in page.context["rows"] if r.partner == criq)
    assert row.last_reminder == datetime.date(2021, 6, 7)
