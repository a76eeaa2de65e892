"""The partner's yearly report in a real browser (issue #4): Playwright drives Debian's Chromium
against a live server. A partner signs in, types French-formatted amounts, saves a draft, is told
what is missing, submits; a reviewer approves in the admin; the live highlights show the figures.

Screenshots of the main pages, wide (1280 px) and phone-sized (390 px), are written to
`screenshots/` at the top of the repository (ignored by git) for people to look at.

Never `playwright install` here: the browser is Debian's (`apt-get install chromium`). Without it
the module is skipped, except in CI (`CI` set), where a missing browser fails.
"""

import importlib
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.utils import timezone

from portal.highlights import compute
from portal.models import (
    InvestmentLine,
    JobLine,
    PartnerKind,
    ProductLine,
    ProjectType,
    Report,
    ReportStatus,
)
from portal.roles import REVIEWERS
from portal.templatetags.psm_format import integer, money, money_millions
from tests import factories

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "Rapport-annuel-2026!"
SPACES = re.compile("[\u00a0\u202f]")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
        "in CI (CI set) a missing browser fails instead",
    ),
]


def plain(text):
    """Text with the no-break spaces French typography puts in numbers made ordinary."""
    return SPACES.sub(" ", text or "").strip()


# --- The browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module.

    Playwright's sync API keeps an asyncio loop running in the main thread while it is started,
    which makes Django refuse ORM calls (SynchronousOnlyOperation): they are allowed for as long
    as the browser lives, and only then. (Within that loop the test's ORM calls also get their
    own database connection object, to the same database.) The scope is the module's so that the loop (and the
    permission) end with this module rather than leak into the rest of the session."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser):
    """new_page(viewport=WIDE): a page in a fresh context (its own cookies), French (Canada).

    Whatever the Content-Security-Policy blocks on any page it visits (the browser reports it on
    the console: an inline script, a style sheet from elsewhere...) fails the test."""
    contexts, violations = [], []

    def watch(message):
        if "Content Security Policy" in message.text:
            violations.append(f"{message.location.get('url')}: {message.text}")

    def make(viewport=WIDE):
        context = browser.new_context(locale="fr-CA", viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", watch)
        return page

    yield make
    for context in contexts:
        context.close()
    assert violations == [], "the Content-Security-Policy blocked something"


def shoot(page, name, *, phone=False):
    """Full-page PNGs of what the page shows: `<name>-wide.png`, and with `phone`
    `<name>-phone.png` at 390 px. The window is made as tall as the page for each shot, so that
    sticky bars sit where they belong (a full-page shot of a short window repeats them mid-page);
    then it is put back as it was."""
    SCREENSHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    shots = [("wide", size["width"])] + ([("phone", PHONE["width"])] if phone else [])
    for suffix, width in shots:
        page.set_viewport_size({"width": width, "height": size["height"]})
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": width, "height": max(height, size["height"])})
        page.screenshot(path=SCREENSHOTS / f"{name}-{suffix}.png", full_page=True)
    page.set_viewport_size(size)


def in_view(locator):
    """Whether a person sees the element: scrolled to, within the window, and not hidden by
    anything (the point at its centre is the element itself, or within it)."""
    locator.scroll_into_view_if_needed()
    return locator.evaluate(
        """element => {
            const box = element.getBoundingClientRect();
            const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
            return box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                && box.right <= window.innerWidth && box.bottom <= window.innerHeight
                && hit !== null && element.contains(hit);
        }"""
    )


def page_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


def sign_in(page, base_url, username, *, screenshot=None):
    """Sign in through the portal's form, as a person does."""
    page.goto(f"{base_url}/fr-ca/accounts/login/")
    if screenshot:
        shoot(page, screenshot, phone=True)
    form = page.locator("main form")
    form.locator("[name=username]").fill(username)
    form.locator("[name=password]").fill(PASSWORD)
    follow(page, lambda: form.locator("button[type=submit]").click())


def follow(page, action):
    """Do `action` (a click, a key) and wait for the page it leads to."""
    with page.expect_navigation():
        action()


def save_button(page):
    """« Enregistrer le brouillon » as a person finds it (the form may hide a default button)."""
    return page.get_by_role("button", name="Enregistrer le brouillon", exact=True)


def submit_button(page):
    return page.get_by_role("button", name="Soumettre", exact=True)


def alert_texts(page):
    return [plain(text) for text in page.locator("main .messages .alert").all_inner_texts()]


def reviewers():
    """The « Évaluateurs » group, as migration 0004 makes it. A transactional test's flush empties
    every table, the migration's groups included (serialized_rollback cannot bring them back
    here: under Playwright's running loop the test's ORM calls get a database connection of their
    own, which lacks the contents serialized at set-up), so it is made again when missing."""
    group, created = Group.objects.get_or_create(name=REVIEWERS)
    if created:
        models = importlib.import_module("portal.migrations.0004_staff_groups").PORTAL_MODELS
        codenames = [f"view_{model}" for model in models] + [
            "review_report",
            "add_checkacknowledgement",
            "change_checkacknowledgement",
        ]
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="portal", codename__in=codenames)
        )
    return group


# --- The data --------------------------------------------------------------------------------------


class World:
    """A programme with a collection open today: two projects in progress led by ALPHA (whose
    user fills the report), BETA's approved report on the first one, and a reviewer."""

    def __init__(self):
        today = timezone.localdate()
        first = today.year if today.month >= 4 else today.year - 1
        self.programme = factories.programme(end=factories.D(first + 3, 3, 31))
        self.period = factories.period(self.programme, f"{first}-{first + 1}")
        assert self.period.start <= today < self.period.deadline
        factories.sector()  # Automobile, the projects' sector
        self.health = factories.sector("SANTE", "Sciences de la vie et santé", "Life sciences")
        self.alpha = factories.partner("ALPHA", name="Alpha Numérique inc.")
        self.beta = factories.partner("BETA", kind=PartnerKind.SME, name="Bêta PME")
        self.project_a = factories.project(
            self.programme, "NUM-001", self.alpha, participants=[self.beta]
        )
        self.project_b = factories.project(
            self.programme, "NUM-002", self.alpha, type=ProjectType.COLLABORATIVE_FUNDAMENTAL
        )
        beta_report = factories.report(self.beta, self.period)
        factories.investment(beta_report, self.project_a, "3000000.00", "labour", "self")
        factories.jobs(beta_report, self.project_a, 10, 4)

        users = get_user_model().objects
        self.partner_user = users.create_user(
            "alice@alpha.example",
            email="alice@alpha.example",
            password=PASSWORD,
            first_name="Alice",
            last_name="Tremblay",
        )
        self.alpha.users.add(self.partner_user)
        self.reviewer = users.create_user(
            "revue", email="revue@psm.example", password=PASSWORD, is_staff=True
        )
        self.reviewer.groups.add(reviewers())

    @property
    def report_path(self):
        return f"/fr-ca/partner/ALPHA/reports/PSM-NUM/{self.period.label}/"

    def report(self):
        return Report.objects.get(partner=self.alpha, period=self.period)


@pytest.fixture
def world():
    return World()


# --- The journey -----------------------------------------------------------------------------------


def test_partner_reports_staff_approve_and_the_highlights_count_it(live_server, new_page, world):
    base = live_server.url
    a, b = world.project_a.pk, world.project_b.pk
    page = new_page()

    # The partner signs in and lands on the dashboard, whose call to action opens the report.
    sign_in(page, base, "alice@alpha.example", screenshot="01-login")
    assert page.url == f"{base}/fr-ca/partner/ALPHA/"
    shoot(page, "02-dashboard", phone=True)
    call_to_action = page.get_by_role("region", name=f"Rapport {world.period.label} (PSM-NUM)")
    follow(
        page,
        lambda: call_to_action.get_by_role("link", name="Commencer le rapport", exact=True).click(),
    )
    assert page.url == base + world.report_path
    assert plain(page.locator(f'output[data-total="{a}"]').inner_text()) == "0 $"
    shoot(page, "03-report-empty", phone=True)

    assert in_view(page.locator(f"[name=inv-{a}-0-amount]"))  # wide: the rows are there to see

    # French-formatted amounts; a second line on project A through the JS « add a row » button.
    page.select_option(f"[name=inv-{a}-0-category]", "labour")
    page.select_option(f"[name=inv-{a}-0-performer]", "self")
    page.fill(f"[name=inv-{a}-0-amount]", "1 234 567,89")
    assert plain(page.locator(f'output[data-total="{a}"]').inner_text()) == "1 234 567,89 $"
    page.locator(f'[data-add-row="inv-{a}"]').click()
    assert page.url == base + world.report_path  # no round trip: JavaScript added the row
    assert page.locator(f"[name=inv-{a}-TOTAL_FORMS]").input_value() == "2"
    assert page.evaluate("document.activeElement.name") == f"inv-{a}-1-category"
    page.select_option(f"[name=inv-{a}-1-category]", "equipment")
    page.select_option(f"[name=inv-{a}-1-performer]", "quebec_sme")
    page.fill(f"[name=inv-{a}-1-amount]", "1 000 000")
    page.select_option(f"[name=inv-{b}-0-category]", "materials")
    page.select_option(f"[name=inv-{b}-0-performer]", "research_centre")
    page.fill(f"[name=inv-{b}-0-amount]", "2500000.50")
    assert plain(page.locator(f'output[data-total="{a}"]').inner_text()) == "2 234 567,89 $"
    assert plain(page.locator(f'output[data-total="{b}"]').inner_text()) == "2 500 000,50 $"
    assert plain(page.locator("#report-total").inner_text()) == "4 734 568,39 $"
    page.fill(f"[name=jobs-{a}-direct]", "5")
    page.fill(f"[name=jobs-{a}-indirect]", "2")

    # Half of project B's jobs: the page says what to fix and nothing is saved.
    page.fill(f"[name=jobs-{b}-direct]", "3")
    follow(page, lambda: save_button(page).click())
    summary = plain(page.locator("#error-summary").inner_text())
    assert "1 erreur à corriger" in summary
    assert "NUM-002, emplois indirects : Indiquez aussi ce nombre (0 s'il n'y en a pas)." in summary
    assert "n'a pas été enregistré" in alert_texts(page)[0]
    assert not Report.objects.filter(partner=world.alpha).exists()
    # What was typed is still there, the added row included.
    assert page.locator(f"[name=inv-{a}-1-amount]").input_value() == "1 000 000"
    assert plain(page.locator("#report-total").inner_text()) == "4 734 568,39 $"
    shoot(page, "04-report-errors", phone=True)

    # Project B's jobs left blank (not reported yet): the draft is saved, amounts to the cent.
    page.fill(f"[name=jobs-{b}-direct]", "")
    follow(page, lambda: save_button(page).click())
    assert alert_texts(page) == ["Le brouillon est enregistré."]
    report = world.report()
    assert report.status == ReportStatus.DRAFT
    assert sorted(
        report.investments.values_list("project_id", "category", "performer", "amount")
    ) == sorted(
        [
            (a, "labour", "self", Decimal("1234567.89")),
            (a, "equipment", "quebec_sme", Decimal("1000000.00")),
            (b, "materials", "research_centre", Decimal("2500000.50")),
        ]
    )
    assert list(report.jobs.values_list("project_id", "direct", "indirect")) == [(a, 5, 2)]
    assert plain(page.locator("#report-total").inner_text()) == "4 734 568,39 $"
    # The saved lines come back as a person writes them, and an empty row to add another.
    amounts = page.locator(f"table[data-formset=inv-{a}] input.money-input")
    assert sorted(plain(field.input_value()) for field in amounts.all()) == [
        "",
        "1 000 000,00",
        "1 234 567,89",
    ]

    # Submitting with project B's jobs missing: saved, not submitted, and the page says why.
    follow(page, lambda: submit_button(page).click())
    (warning,) = alert_texts(page)
    assert warning.startswith("Le brouillon est enregistré, mais le rapport n'a pas pu être soumis")
    assert "Projet NUM-002 : emplois non déclarés" in warning
    assert "Projet NUM-002 : emplois non déclarés" in plain(
        page.get_by_role("region", name="Reste à faire").inner_text()
    )
    assert world.report().status == ReportStatus.DRAFT
    assert page.locator("#report-form").is_visible()

    # Project B's jobs (0 is a number, not a blank) and a new product: submitted.
    page.fill(f"[name=jobs-{b}-direct]", "3")
    page.fill(f"[name=jobs-{b}-indirect]", "0")
    launched = world.period.start.replace(month=6, day=15)
    page.fill(f"[name=prod-{a}-0-name]", "Plateforme Alpha")
    page.select_option(f"[name=prod-{a}-0-sector]", str(world.health.pk))
    page.fill(f"[name=prod-{a}-0-launch_date]", launched.isoformat())
    assert page.locator(f"[name=prod-{a}-0-uses_programme_technology]").is_checked()
    del mail.outbox[:]
    follow(page, lambda: submit_button(page).click())
    assert alert_texts(page) == [
        "Le rapport est soumis. Un accusé de réception est envoyé par courriel aux membres de "
        "votre organisation."
    ]
    report = world.report()
    assert report.status == ReportStatus.SUBMITTED
    assert report.submitted_by == world.partner_user
    assert sorted(report.jobs.values_list("project_id", "direct", "indirect")) == [
        (a, 5, 2),
        (b, 3, 0),
    ]
    assert list(
        report.products.values_list(
            "project_id", "name", "sector_id", "launch_date", "uses_programme_technology"
        )
    ) == [(a, "Plateforme Alpha", world.health.pk, launched, True)]
    # Read-only now: no form, no buttons, and the reason why.
    assert page.locator("#report-form").count() == 0
    assert page.locator("button[name=action]").count() == 0
    assert "Lecture seule." in page.locator("#read-only-reason").inner_text()
    assert "Soumis" in page.locator("main").inner_text()
    shoot(page, "05-report-submitted", phone=True)
    # The receipt, by e-mail to the partner's users.
    (receipt,) = mail.outbox
    assert receipt.to == ["alice@alpha.example"]
    assert receipt.subject == f"Accusé de réception : rapport {world.period.label} — PSM-NUM"
    assert "3 ligne(s) d'investissement, 2 ligne(s) d'emplois et 1 nouveau(x) produit(s)" in (
        receipt.body
    )

    # A reviewer signs in to the admin (a browser of their own) and approves on the review page.
    staff = new_page()
    review_url = f"{base}/fr-ca/admin/portal/report/{report.pk}/change/"
    staff.goto(review_url)
    assert "/fr-ca/admin/login/" in staff.url
    staff.fill("#id_username", "revue")
    staff.fill("#id_password", PASSWORD)
    follow(staff, lambda: staff.locator("#login-form [type=submit]").click())
    assert staff.url == review_url
    review = staff.locator("#review")
    assert "soumis le" in review.locator("h2").inner_text()
    figures = plain(staff.locator("#review-figures tfoot").inner_text())
    assert "4 734 568,39 $" in figures
    shoot(staff, "06-admin-review")
    del mail.outbox[:]
    follow(
        staff,
        lambda: staff.locator("#review-decision button[name=decision][value=approve]").click(),
    )
    assert staff.url == review_url
    assert "approuvé" in staff.locator("ul.messagelist").inner_text()
    report = world.report()
    assert report.status == ReportStatus.APPROVED
    assert report.reviewed_by == world.reviewer
    assert [message.to for message in mail.outbox] == [["alice@alpha.example"]]

    # The live (unpublished, provisional) highlights include the partner's numbers.
    # By hand: ALPHA 1 234 567,89 + 1 000 000 + 2 500 000,50, BETA 3 000 000.
    expected = {
        "partner_investment": Decimal("7734568.39"),
        # ALPHA (a large enterprise): Quebec SME and research centre lines; BETA (a Quebec SME):
        # its own spending.
        "sme_research_spending": Decimal("6500000.50"),
        "jobs": 24,
        "jobs_direct": 18,
        "jobs_indirect": 6,
        "new_products": 1,
        "projects_in_progress": 2,
        "collaborative_projects": 1,
        "partners_involved": 2,
        "product_sectors": ("SANTE",),
        "cumulative_partner_investment": Decimal("7734568.39"),
    }
    rollup = compute(world.period)
    assert {key: getattr(rollup, key) for key in expected} == expected
    staff.goto(f"{base}/fr-ca/highlights/PSM-NUM/{world.period.label}/?version=live")
    assert (
        "Provisoire — chiffres non publiés" in staff.locator(".banner-provisional").text_content()
    )

    def tile(key):
        return plain(staff.locator(f".tile-{key} .tile-value").inner_text())

    assert tile("partner_investment") == plain(money_millions(rollup.partner_investment))
    assert tile("partner_investment") == "7,7 M$"
    assert tile("sme_research_spending") == plain(money_millions(rollup.sme_research_spending))
    assert tile("sme_research_spending") == "6,5 M$"
    assert tile("jobs") == integer(rollup.jobs) == "24"
    assert plain(staff.locator(".tile-jobs .tile-detail").inner_text()) == "18 directs, 6 indirects"
    assert tile("new_products") == "1"
    assert staff.locator(".tile-new_products .chip").all_inner_texts() == [
        "Sciences de la vie et santé"
    ]
    assert tile("projects_in_progress") == "2"
    assert tile("collaborative_projects") == "1"
    assert tile("partners_involved") == "2"
    shoot(staff, "07-highlights")
    # The page's own JSON download gives the figures to the cent.
    download = staff.request.get(
        f"{base}/fr-ca/highlights/PSM-NUM/{world.period.label}/export.json?version=live"
    )
    assert download.ok
    figures = download.json()
    assert figures["partner_investment"] == "7734568.39"
    assert figures["sme_research_spending"] == "6500000.50"
    assert (figures["jobs"], figures["new_products"]) == (24, 1)

    # The partner sees how the approved report enters the highlights.
    page.reload()
    items = [plain(text) for text in page.locator("#receipt li").all_inner_texts()]
    assert len(items) == 4, items
    investment, sme_research, jobs, products = items
    assert investment == f"investissements : {plain(money(Decimal('4734568.39')))} ;"
    assert investment == "investissements : 4 734 568,39 $ ;"
    assert sme_research.endswith("recherche publics : 3 500 000,50 $ ;")
    assert re.fullmatch(r"emplois : .*\b8\b.*directs?.*\b2\b.*indirects?\W*", jobs), jobs
    assert products == "1 nouveau produit."
    shoot(page, "08-report-approved", phone=True)


# --- Small screens and the keyboard --------------------------------------------------------------


def test_report_page_fits_a_phone(live_server, new_page, world):
    page = new_page(PHONE)
    page.goto(live_server.url + "/fr-ca/accounts/login/")
    assert page_width(page) <= PHONE["width"]
    sign_in(page, live_server.url, "alice@alpha.example")
    page.goto(live_server.url + world.report_path)
    # No horizontal scrolling of the page: the formset tables stack on a narrow screen.
    assert page_width(page) <= PHONE["width"]
    # The save button (in the sticky totals bar) is there to be tapped, and it works.
    save = save_button(page)
    assert in_view(save)
    follow(page, save.click)
    assert alert_texts(page) == ["Le brouillon est enregistré."]
    assert world.report().status == ReportStatus.DRAFT
    assert page_width(page) <= PHONE["width"]


def test_investment_rows_are_visible_on_a_phone(live_server, new_page, world):
    page = new_page(PHONE)
    sign_in(page, live_server.url, "alice@alpha.example")
    page.goto(live_server.url + world.report_path)
    a = world.project_a.pk
    for name in ("category", "performer", "amount"):
        assert in_view(page.locator(f"[name=inv-{a}-0-{name}]")), name
    assert in_view(page.locator(f'output[data-total="{a}"]'))


def test_dashboard_fits_a_phone(live_server, new_page, world):
    page = new_page(PHONE)
    sign_in(page, live_server.url, "alice@alpha.example")
    assert page.url.endswith("/fr-ca/partner/ALPHA/")
    assert page_width(page) <= PHONE["width"]


def test_report_form_is_usable_with_the_keyboard(live_server, new_page, world):
    page = new_page()
    sign_in(page, live_server.url, "alice@alpha.example")
    page.goto(live_server.url + world.report_path)
    a = world.project_a.pk

    def focused():
        return page.evaluate(
            "(() => { const e = document.activeElement;"
            " return {tag: e.tagName, id: e.id, name: e.getAttribute('name') || '',"
            " text: e.innerText || ''}; })()"
        )

    # The first Tab lands on the skip link, then Tab after Tab reaches the form's first input.
    page.keyboard.press("Tab")
    assert focused()["text"].strip() == "Aller au contenu"
    for _presses in range(30):
        page.keyboard.press("Tab")
        if focused()["name"] == f"inv-{a}-0-category":
            break
    else:
        pytest.fail(f"Tab never reached the first input; stopped on {focused()}")

    # The skip link moves the focus to the main content, from where the form is one Tab away
    # (past the breadcrumb), and a line is typed with the keyboard only.
    page.goto(live_server.url + world.report_path)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused()["id"] == "main"
    page.keyboard.press("Tab")
    assert focused()["text"] == world.alpha.name  # the breadcrumb
    page.keyboard.press("Tab")
    assert focused()["name"] == f"inv-{a}-0-category"
    page.keyboard.press("ArrowDown")  # « — » → the first category (main-d'œuvre)
    page.keyboard.press("Tab")
    assert focused()["name"] == f"inv-{a}-0-performer"
    page.keyboard.press("ArrowDown")  # the partner itself
    page.keyboard.press("Tab")
    assert focused()["name"] == f"inv-{a}-0-amount"
    page.keyboard.type("2 500,5")
    assert plain(page.locator(f'output[data-total="{a}"]').inner_text()) == "2 500,50 $"
    page.keyboard.press("Tab")  # an added row has no deletion box: next is « add a row »
    assert focused()["name"] == "action"
    assert focused()["text"] == "Ajouter une ligne d'investissement"
    page.keyboard.press("Enter")
    assert focused()["name"] == f"inv-{a}-1-category"  # the new row has the focus
    save_button(page).focus()  # many Tabs away: straight there
    follow(page, lambda: page.keyboard.press("Enter"))
    assert alert_texts(page) == ["Le brouillon est enregistré."]
    assert list(
        InvestmentLine.objects.filter(report__partner=world.alpha).values_list(
            "category", "performer", "amount"
        )
    ) == [("labour", "self", Decimal("2500.50"))]
    assert not JobLine.objects.filter(report__partner=world.alpha).exists()
    assert not ProductLine.objects.filter(report__partner=world.alpha).exists()
