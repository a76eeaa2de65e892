"""Fuzzing (issue 6): Hypothesis strategies over the partner's report form, the accounts forms, the
language switch and `import_data`. Whatever is typed or uploaded: never a server error, never a
traceback, never a typed text rendered unescaped, never a redirect off the site, and a refused
save or import writes nothing.

Every example runs in a savepoint rolled back at its end (`rolled_back()`), with a new test client:
examples are independent. The profiles are in tests/conftest.py: `ci` (the default: derandomized,
a few examples per test) and `deep` (`HYPOTHESIS_PROFILE=deep`: many random examples).
"""

import contextlib
import csv
import datetime
import io
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from hypothesis import event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from portal import reporting, workflow
from portal.models import (
    InvestmentCategory,
    ParticipationRole,
    PartnerKind,
    Performer,
    Period,
    PeriodState,
    ProductLine,
    ProjectStatus,
    ProjectType,
    Report,
    ReportStatus,
)
from portal.resources import RESOURCES
from tests import factories as make
from tests.forms_support import form_data

pytestmark = pytest.mark.django_db
D = datetime.date
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "pw-Fuzz-2026"
MISSING = object()  # a field left out of the POST entirely


def budget(share):
    """`share` of the profile's number of examples, for a test whose examples are slow or fast."""
    examples = hypothesis_settings.default.max_examples
    return hypothesis_settings(max_examples=max(1, round(examples * share)))


@contextlib.contextmanager
def rolled_back():
    """One example's database work, undone at its end whatever happened."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def sometimes_missing(strategy):
    """Mostly `strategy`, sometimes MISSING (the field is not posted at all)."""
    return st.integers(0, 7).flatmap(lambda n: st.just(MISSING) if n == 0 else strategy)


def present(values):
    return {key: value for key, value in values.items() if value is not MISSING}


# --- What people (and attackers) type -------------------------------------------------------------

# Markup and script: every text drawn with one of them must reach a page escaped. Random text never
# contains "<" (see `plain_text`), so the check cannot mistake the page's own markup for a typed one.
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "<b>gras</b><!--",
    '" autofocus onfocus="alert(1)',
]
TEMPLATE_LIKE = ["{{ 7*7 }}", "{% debug %}", "{{ request.user.password }}", "%(value)s %s {0}"]
FORMULAS = ["=1+1", "@SUM(A1)", "+1", "-1+2", '=HYPERLINK("http://x.example","x")', "\t=1"]
ODD_TEXT = [
    "",
    " ",
    "\t",
    "\u00a0",
    "\u200b",
    "\ufeff",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202eevil\u202c",
    "🚀 Produit 🇨🇦 👩🏽‍🔬",
    "e\u0301cole",
    "Ⅻ ﬁ ß",
    "a\x00b",
    "\x01\x02\x1f\x7f",
    "a\x0bb\x0cc",
    "ligne\nligne",
    "a\r\nb",
    "x" * 200,
    "x" * 201,
    "é" * 201,
    "x" * 10_000,
]
# What a browser can send (no lone surrogate), without "<".
plain_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<"), max_size=40)
texts = st.one_of(
    st.sampled_from(PAYLOADS + TEMPLATE_LIKE + FORMULAS + ODD_TEXT),
    plain_text,
    st.builds(
        lambda before, payload, after: before + payload + after,
        plain_text,
        st.sampled_from(PAYLOADS + TEMPLATE_LIKE + FORMULAS),
        plain_text,
    ),
)
NUMBERS = [
    "1 234,56",
    "1234.56",
    "1,234.56",
    "1.234,56",
    "250,000",
    "1e9",
    "1E9",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "+0",
    "0",
    "-5",
    "+5",
    "0,001",
    "0.1",
    ".5",
    "5.",
    "٣",
    "١٢٣",
    "１２３",
    "1\u00a0234,56",
    "1\u202f234,56",
    "1\u2009234",
    "12 345 678 901,23",
    "999999999999.99",
    "999999999999.995",
    "1000000000000",
    "2147483647",
    "2147483648",
    "9" * 40,
    "9" * 41,
    "9" * 100,
    "1" + "0" * 39,
    "0" * 39 + "1",
    "",
    " ",
    "\t",
    "\n",
    "1_000",
    "0x10",
    "1/2",
    "½",
    "12$",
    "12 $",
    "(12)",
    "--1",
    "1,2,3",
    "1..2",
    "<script>alert(1)</script>",
]
numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers().map(str),
    st.decimals().map(str),  # NaN, sNaN, Infinity, 1E+2, -0E-7...
    st.floats().map(str),
    st.text(alphabet="0123456789 ,.+-eE\u00a0\u202f٣１", max_size=45),
    texts,
)
DATES = [
    "2020-02-30",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "10000-01-01",
    "2019-13-01",
    "2019-00-10",
    "",
    " ",
    "demain",
    "2019-04-01T00:00",
    "2019-04-01 00:00:00",
    "01/04/2019",
    "1/4/2019",
    "2019/04/01",
    "20190401",
    "-2019-04-01",
    "2019-4-1",
    "<script>alert(1)</script>",
]
dates = st.one_of(st.sampled_from(DATES), st.dates().map(D.isoformat), texts)
FORM_COUNTS = ["-1", "0", "1", "2", "3", "199", "200", "201", "1000", "100000", "9" * 30]
form_counts = st.one_of(
    st.sampled_from([*FORM_COUNTS, "abc", "", " 1", "1.5", "١", "1e3"]),
    st.integers().map(str),
    texts,
)
boxes = st.one_of(
    st.just(MISSING),
    st.sampled_from(["on", "off", "true", "false", "0", "1", "", "<script>alert(1)</script>"]),
)


def choices(values):
    return st.one_of(
        st.sampled_from(list(values)),
        st.sampled_from(["", "LABOUR", "labour ", "autre", "<script>alert(1)</script>"]),
        texts,
    )


def strings_in(values):
    """Every string drawn into `values` (a dict or a list), to check how pages render them."""
    items = values.items() if isinstance(values, dict) else enumerate(values)
    found = []
    for key, value in items:
        found += [part for part in (key, value) if isinstance(part, str)]
    return found


def assert_escaped(body, typed):
    """No typed markup reaches the page as markup: a payload shows only escaped."""
    for text in typed:
        for payload in PAYLOADS:
            if payload in text:
                assert payload not in body, f"{payload!r} rendered unescaped"
        for candidate in {text, text.strip()}:
            if "<" in candidate:
                assert candidate not in body, f"{candidate!r} rendered unescaped"


def assert_no_traceback(response):
    assert response.status_code != 500
    if not getattr(response, "streaming", False):
        assert b"Traceback" not in response.content


def on_site(location):
    return url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"})


# --- The partner's report -------------------------------------------------------------------------


@dataclass
class World:
    programme: object
    period: object  # open, deadline in 20 days
    partner: object
    user: object
    colleague: object
    staff: object  # a superuser: reviews, reads the admin and the drill-downs
    own: object  # led by `partner`
    shared: object  # led by the outsider, `partner` participates
    sectors: list

    def report_url(self, language="fr-ca"):
        return (
            f"/{language}/partner/{self.partner.code}/reports/"
            f"{self.programme.code}/{self.period.label}/"
        )

    def report(self):
        return Report.objects.filter(partner=self.partner, period=self.period).first()


@pytest.fixture
def fast_passwords(settings):
    # Signing in is fuzzed hundreds of times: Argon2id's 55 ms a password would be most of it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(fast_passwords):
    """A programme with an open period and last year's, a partner with two users and two projects,
    an outsider with its own, two sectors, and a superuser. Codes differ from tests/fixtures/'s,
    which the import tests load once for the module."""
    today = timezone.localdate()
    programme = make.programme("PSM-FZ", start=D(2019, 4, 1), end=D(today.year + 3, 3, 31))
    first = today.year - 1 if today.month >= 4 else today.year - 2
    make.period(
        programme,
        f"{first - 1}-{first}",
        state=PeriodState.PUBLISHED,
        deadline=today - datetime.timedelta(days=200),
    )
    period = make.period(
        programme, f"{first}-{first + 1}", deadline=today + datetime.timedelta(days=20)
    )
    partner = make.partner("OMEGA", kind=PartnerKind.SME, name="Oméga inc.")
    outsider = make.partner("SIGMA", name="Sigma ltée")
    users = get_user_model().objects
    user = users.create_user("marie", email="marie@omega.example", password=PASSWORD)
    colleague = users.create_user("jean", email="jean@omega.example", password=PASSWORD)
    # Invited, no password chosen yet: « Mot de passe oublié ? » serves them too.
    invited = users.create_user("invitee@omega.example", email="invitee@omega.example")
    partner.users.add(user, colleague, invited)
    staff = users.create_superuser("chef", "chef@psm.example", PASSWORD)
    sectors = [make.sector(), make.sector("SANTE", "Sciences de la vie et santé", "Life sciences")]
    own = make.project(programme, "P-OWN", partner, start=D(2019, 5, 1))
    shared = make.project(programme, "P-SHARED", outsider, participants=[partner])
    make.project(programme, "P-FOREIGN", outsider)
    return World(programme, period, partner, user, colleague, staff, own, shared, sectors)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


EMPTY_TOKEN = reporting.lines_token(reporting.Lines())
# The state of the report when the page is loaded, and what happens before it is posted back.
SCENARIOS = ["fresh", "draft", "returned", "stale", "submitted", "closed"]


# Texts that others typed, shown on the partner's page: escaped like the partner's own.
COLLEAGUES_PRODUCT = "<script>alert(1)</script> du collègue"
REVIEWERS_COMMENT = "Ventilez <b>les montants</b>.\n<script>alert(1)</script>"


def existing_lines(world, amount="100.00", direct=2, product="Produit existant"):
    return {
        world.own.pk: reporting.ProjectEntry(
            investments=[{"category": "labour", "performer": "self", "amount": Decimal(amount)}],
            jobs={"direct": direct, "indirect": 1},
            products=[
                {
                    "name": product,
                    "sector_id": world.sectors[0].pk,
                    "launch_date": world.period.start,
                    "uses_programme_technology": True,
                }
            ],
        ),
        world.shared.pk: reporting.ProjectEntry(jobs={"direct": 0, "indirect": 0}),
    }


def before_loading(world, scenario):
    if scenario == "fresh":
        return
    saved = reporting.save_report(
        partner=world.partner,
        period=world.period,
        user=world.user,
        version=0,
        token=EMPTY_TOKEN,
        entries=existing_lines(world),
        submit=scenario == "returned",
    )
    if scenario == "returned":
        workflow.report_return(report=saved.report, reviewer=world.staff, comment=REVIEWERS_COMMENT)


def before_posting(world, scenario):
    """What happens elsewhere while the page is open."""
    report = world.report()
    if scenario == "stale":
        reporting.save_report(
            partner=world.partner,
            period=world.period,
            user=world.colleague,
            version=report.version,
            token=reporting.lines_token(reporting.saved_lines(report)),
            entries=existing_lines(world, amount="250.00", direct=5, product=COLLEAGUES_PRODUCT),
        )
    elif scenario == "submitted":
        projects = list(reporting.report_projects(world.partner, world.period, report))
        reporting.submit_report(report=report, user=world.colleague, projects=projects)
    elif scenario == "closed":
        Period.objects.filter(pk=world.period.pk).update(state=PeriodState.CLOSED)


def report_state(world):
    """The report's version and lines as a page would see them (None before its first save)."""
    report = world.report()
    if report is None:
        return None
    return report.version, report.status, reporting.lines_token(reporting.saved_lines(report))


def field_values(world, name):
    """What to type into the field `name` of the report form."""
    kind = name.rsplit("-", 1)[-1]
    period_dates = st.dates(world.period.start, world.period.end).map(D.isoformat)
    strategies = {
        "amount": numbers,
        "direct": numbers,
        "indirect": numbers,
        "name": texts,
        "sector": st.one_of(
            st.sampled_from([str(sector.pk) for sector in world.sectors]),
            st.integers().map(str),
            texts,
        ),
        "launch_date": st.one_of(period_dates, dates),
        "category": choices(InvestmentCategory.values),
        "performer": choices(Performer.values),
        "uses_programme_technology": boxes,
        "DELETE": boxes,
        "TOTAL_FORMS": form_counts,
        "INITIAL_FORMS": form_counts,
        "MIN_NUM_FORMS": form_counts,
        "MAX_NUM_FORMS": form_counts,
        "version": st.one_of(
            st.integers().map(str), st.sampled_from(["", "1.0", "-1", "9" * 5000, "١"]), texts
        ),
        "token": st.one_of(st.sampled_from(["", "0" * 32, "x" * 10_000]), texts),
    }
    return sometimes_missing(strategies.get(kind, texts))


def new_row(world, prefix):
    """The fields of a row added to the formset `prefix` (index filled in by the caller)."""
    if prefix.startswith("inv"):
        fields = {
            "category": choices(InvestmentCategory.values),
            "performer": choices(Performer.values),
            "amount": numbers,
        }
    else:
        fields = {
            "name": texts,
            "sector": st.sampled_from([str(sector.pk) for sector in world.sectors]),
            "launch_date": st.one_of(
                st.dates(world.period.start, world.period.end).map(D.isoformat), dates
            ),
            "uses_programme_technology": boxes,
        }
    return st.fixed_dictionaries(fields)


REPORT_STATUSES = {200, 302, 400, 409}


@budget(4)
@given(
    scenario=st.sampled_from(SCENARIOS),
    language=st.sampled_from(["fr-ca", "en"]),
    data=st.data(),
)
def test_the_report_form_never_fails_and_never_half_saves(world, scenario, language, data):
    """The page as loaded, fields changed, left out or added, rows added, posted in each of the
    report's states: an answer of the view's own (saved, errors, tampered, stale or read-only),
    typed markup escaped, and nothing written unless the save went through."""
    with rolled_back():
        before_loading(world, scenario)
        client = signed_in(world.user)
        url = world.report_url(language)
        more = data.draw(
            st.sampled_from(["", f"inv-{world.own.pk}", f"prod-{world.shared.pk}", "x<script>"]),
            label="more",
        )
        page = client.get(url, {"more": more} if more else {})
        assert page.status_code == 200
        posted = form_data(page)

        # In an order that does not depend on the projects' ids: the same draws on every database.
        roles = {world.own.pk: "own", world.shared.pk: "shared"}

        def order(name):
            return re.sub(
                r"^([a-z]+)-(\d+)-", lambda m: f"{m[1]}-{roles.get(int(m[2]), m[2])}-", name
            )

        counts = sorted((name for name in posted if name.endswith("_FORMS")), key=order)
        fields = sorted((name for name in posted if not name.endswith("_FORMS")), key=order)
        changed = data.draw(
            st.lists(st.sampled_from(fields), unique=True, max_size=8), label="fields"
        )
        # The formsets' counts are changed less often: any change is refused (400) before the rest.
        changed += data.draw(
            st.integers(0, 3).flatmap(
                lambda n: (
                    st.lists(st.sampled_from(counts), unique=True, max_size=2)
                    if n == 0
                    else st.just([])
                )
            ),
            label="counts",
        )
        for name in changed:
            posted[name] = data.draw(field_values(world, name), label=name)
        prefixes = [
            f"{kind}-{pk}" for kind in ("inv", "prod") for pk in (world.own.pk, world.shared.pk)
        ]
        for prefix in data.draw(st.lists(st.sampled_from(prefixes), max_size=3), label="rows"):
            total = posted.get(f"{prefix}-TOTAL_FORMS", MISSING)
            if not re.fullmatch(r"[0-9]{1,3}", str(total)):
                continue  # already tampered with
            for name, value in data.draw(new_row(world, prefix), label=prefix).items():
                posted[f"{prefix}-{total}-{name}"] = value
            posted[f"{prefix}-TOTAL_FORMS"] = str(int(total) + 1)
        posted.update(data.draw(st.dictionaries(plain_text, texts, max_size=2), label="extra"))
        posted["action"] = data.draw(
            sometimes_missing(
                st.sampled_from(
                    [
                        "save",
                        "submit",
                        f"add:inv-{world.own.pk}",
                        f"add:prod-{world.shared.pk}",
                        "add:inv-0",
                        "add:<script>alert(1)</script>",
                        "",
                    ]
                )
                | texts
            ),
            label="action",
        )
        posted = present(posted)
        typed = strings_in(posted) + [more, COLLEAGUES_PRODUCT, REVIEWERS_COMMENT]
        before_posting(world, scenario)
        before = report_state(world)

        response = client.post(url, posted)

        event(f"{scenario}: {response.status_code}")  # --hypothesis-show-statistics
        assert_no_traceback(response)
        assert response.status_code in REPORT_STATUSES
        if response.status_code != 302:
            assert report_state(world) == before, "a refused save wrote something"
            assert_escaped(response.content.decode(), typed)
            return
        assert on_site(response["Location"]) and response["Location"].startswith(url)
        after = client.get(response["Location"])
        assert after.status_code == 200
        assert_escaped(after.content.decode(), typed)


def notations(amount):
    """The ways a person may type `amount` (two decimals) that the form must read exactly."""
    whole, cents = f"{amount:,.2f}".split(".")
    plain = f"{amount:.2f}"
    return st.sampled_from(
        [
            plain,
            plain.replace(".", ","),
            f"{whole}.{cents}",  # English: 1,234.56
            *(f"{whole.replace(',', space)},{cents}" for space in (" ", "\u00a0", "\u202f")),
            f"  {plain}\t",
            *([str(int(amount))] if cents == "00" else []),
        ]
    )


money = st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2)
# A count as typed: plain, or grouped with a space.
counts_typed = st.integers(0, 2147483647).flatmap(
    lambda n: st.tuples(st.just(n), st.sampled_from([str(n), f"{n:,}".replace(",", " ")]))
)


@budget(1)
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(InvestmentCategory.values),
            st.sampled_from(Performer.values),
            money.flatmap(lambda amount: st.tuples(st.just(amount), notations(amount))),
        ),
        unique_by=lambda line: line[:2],
        max_size=3,
    ),
    direct=counts_typed,
    indirect=counts_typed,
    language=st.sampled_from(["fr-ca", "en"]),
)
@example(
    lines=[("labour", "self", (Decimal("999999999999.99"), "999 999 999 999,99"))],
    direct=(2147483647, "2 147 483 647"),
    indirect=(0, "0"),
    language="en",
)
def test_numbers_in_every_accepted_notation_are_saved_exactly_and_shown_back(
    world, lines, direct, indirect, language
):
    """What the form accepts is saved to the cent; the page shows it back in a notation that the
    form reads again as the same number, so that saving the page unchanged changes nothing."""
    with rolled_back():
        client = signed_in(world.user)
        url = world.report_url(language)
        posted = form_data(client.get(url))
        pk = world.own.pk
        for index, (category, performer, (_amount, typed)) in enumerate(lines):
            posted[f"inv-{pk}-{index}-category"] = category
            posted[f"inv-{pk}-{index}-performer"] = performer
            posted[f"inv-{pk}-{index}-amount"] = typed
        posted[f"inv-{pk}-TOTAL_FORMS"] = str(max(1, len(lines)))
        posted[f"jobs-{pk}-direct"], posted[f"jobs-{pk}-indirect"] = direct[1], indirect[1]
        posted["action"] = "save"
        assert client.post(url, posted).status_code == 302

        report = world.report()
        saved = {(line.category, line.performer): line.amount for line in report.investments.all()}
        assert saved == {
            (category, performer): amount for category, performer, (amount, _) in lines
        }
        assert report.jobs.values_list("direct", "indirect").get() == (direct[0], indirect[0])
        again = form_data(client.get(url))
        again["action"] = "save"
        assert client.post(url, again).status_code == 302
        assert world.report().version == report.version, "the page showed other numbers"


# A product name that survives the form is shown on every page that lists products.
product_names = st.one_of(
    st.sampled_from(PAYLOADS + TEMPLATE_LIKE + FORMULAS),
    st.builds(
        lambda before, payload, after: before + payload + after,
        plain_text,
        st.sampled_from(PAYLOADS + TEMPLATE_LIKE + FORMULAS),
        plain_text,
    ),
    texts,
)


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def read_xlsx(response):
    content = b"".join(response) if response.streaming else response.content
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    cells = [
        cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    ]
    workbook.close()
    return cells


@budget(1.5)
@given(name=product_names, language=st.sampled_from(["fr-ca", "en"]))
@example(name="<script>alert(1)</script>", language="fr-ca")
@example(name='"><img src=x onerror=alert(1)>', language="en")
@example(name="{{ 7*7 }} {% debug %}", language="fr-ca")
@example(name='=HYPERLINK("http://x.example","x")', language="fr-ca")
def test_a_product_name_is_shown_escaped_on_every_page_that_lists_it(world, name, language):
    """Typed, submitted and approved: the name on the partner's pages, the admin's review page and
    the drill-down is text, never markup or template code, and its exports hold it."""
    with rolled_back():
        client = signed_in(world.user)
        url = world.report_url(language)
        posted = form_data(client.get(url))
        pk = world.own.pk
        posted.update(
            {
                f"prod-{pk}-0-name": name,
                f"prod-{pk}-0-sector": str(world.sectors[1].pk),
                f"prod-{pk}-0-launch_date": world.period.start.isoformat(),
                f"prod-{pk}-0-uses_programme_technology": "on",
                f"jobs-{pk}-direct": "1",
                f"jobs-{pk}-indirect": "0",
                f"jobs-{world.shared.pk}-direct": "0",
                f"jobs-{world.shared.pk}-indirect": "0",
                "action": "submit",
            }
        )
        response = client.post(url, posted)

        assert_no_traceback(response)
        assert_escaped(response.content.decode(), [name])
        if response.status_code == 200:  # refused by the form (blank, too long, NUL...)
            assert not ProductLine.objects.filter(report__partner=world.partner).exists()
            return
        assert response.status_code == 302
        product = ProductLine.objects.get(report__partner=world.partner)
        assert product.name == name.strip()
        report = world.report()
        assert report.status == ReportStatus.SUBMITTED
        workflow.report_approve(report=report, reviewer=world.staff)

        staff = signed_in(world.staff)
        with translation.override(language):
            code, label = world.programme.code, world.period.label
            pages = [
                (client, url, True),
                (client, reverse("partner-dashboard", args=[world.partner.code]), False),
                (staff, reverse("admin:portal_report_change", args=[report.pk]), True),
                (staff, reverse("highlights-drilldown", args=[code, label, "products"]), True),
            ]
            drilldown = reverse("highlights-drilldown", args=[code, label, "products"])
            export = reverse("highlights-export", args=[code, label, "xlsx"])
        for who, address, lists_it in pages:
            page = who.get(address)
            assert_no_traceback(page)
            assert page.status_code == 200, address
            body = page.content.decode()
            assert_escaped(body, [name])
            if lists_it:
                assert escape(product.name) in body, address

        exported = staff.get(drilldown, {"_export": "csv"})
        assert exported.status_code == 200
        cells = read_csv(exported)
        assert product.name in cells or "'" + product.name in cells
        # A workbook holds no control character but tab, line feed and carriage return (read
        # back as a line feed): the others are replaced.
        legal = ILLEGAL_CHARACTERS_RE.sub("\ufffd", product.name)
        legal = legal.replace("\r\n", "\n").replace("\r", "\n")
        for address in (f"{drilldown}?_export=xlsx", f"{export}?version=live"):
            exported = staff.get(address)
            assert exported.status_code == 200, address
            cells = read_xlsx(exported)
            assert legal in cells or "'" + legal in cells, address


# Codes and labels in addresses: anything a person (or a script) can put in a URL.
url_parts = st.one_of(
    st.sampled_from(
        ["OMEGA", "SIGMA", "PSM-FZ", "omega", "OMEGA\x00", "\x00", "x" * 5000, "..", "%"]
    ),
    plain_text.filter(lambda text: "/" not in text and text.strip()),
)


@budget(1.5)
@given(
    partner=st.one_of(st.just("OMEGA"), url_parts),
    programme=st.one_of(st.just("PSM-FZ"), url_parts),
    period=st.one_of(st.just("current"), url_parts),
    sort=sometimes_missing(st.one_of(st.sampled_from(["code", "-title", "role", "status"]), texts)),
    method=st.sampled_from(["get", "get", "head", "post", "put", "delete", "options"]),
)
# Found on PostgreSQL: a NUL in an address part reached a query, and PostgreSQL refused it (500).
@example(partner="OMEGA\x00", programme="PSM-FZ", period="current", sort=MISSING, method="get")
@example(partner="OMEGA", programme="PSM-FZ\x00", period="current", sort=MISSING, method="get")
@example(partner="OMEGA", programme="PSM-FZ", period="2019\x00", sort=MISSING, method="post")
def test_partner_addresses_never_fail(world, partner, programme, period, sort, method):
    """Another partner's code, an unknown period or a code no database can hold: 404."""
    with rolled_back():
        client = signed_in(world.user)
        period = world.period.label if period == "current" else period
        query = present({"projects-sort": sort})
        send = getattr(client, method)
        dashboard = send(f"/fr-ca/partner/{quote(partner)}/", query)
        report = send(
            f"/fr-ca/partner/{quote(partner)}/reports/{quote(programme)}/{quote(period)}/"
        )
        for response in (dashboard, report):
            assert_no_traceback(response)
            # 405: another method than the page's; 409: a POST of nothing (a stale page).
            assert response.status_code in {200, 404, 405, 409}
            assert_escaped(response.content.decode(), [partner, programme, period, *query.values()])
        if partner != "OMEGA":
            assert dashboard.status_code == report.status_code == 404


# The same NUL in the highlights' addresses (found on PostgreSQL, where it was a server error).
HIGHLIGHTS_ADDRESSES = [
    "/fr-ca/highlights/PSM-FZ%00/",
    "/fr-ca/highlights/PSM-FZ/2019%00/",
    "/fr-ca/highlights/PSM-FZ/2019%00/export.csv",
    "/fr-ca/highlights/PSM-FZ/2019%00/rows/products/",
    "/api/highlights/PSM-FZ%00/2019-2020.json",
]
ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.parametrize("address", HIGHLIGHTS_ADDRESSES)
def test_highlights_addresses_with_a_nul_are_not_found(world, address):
    for client in (Client(), signed_in(world.staff)):
        response = client.get(address)
        if response.status_code == 302:  # the drill-downs ask who is asking first
            assert response["Location"].startswith(reverse("login"))
        else:
            assert response.status_code == 404, address


# --- Accounts and the language switch -------------------------------------------------------------

NEXT_URLS = [
    "/",
    "/fr-ca/partner/OMEGA/",
    "//evil.example/",
    "///evil.example/",
    "https://evil.example/",
    "http://testserver/fr-ca/",
    "https://testserver/fr-ca/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/%2F%2Fevil.example",
    "/fr-ca/accounts/login/?next=//evil.example",
    "http:///evil.example",
    "https:evil.example",
    "http://evil.example@testserver/",
    "http://testserver@evil.example/",
    "http://[::1/",
    "/<script>alert(1)</script>",
    '/"><script>alert(1)</script>',
    "/fr-ca/" + "x" * 5000,
    "",
]
next_urls = st.one_of(
    st.sampled_from(NEXT_URLS),
    st.builds(
        lambda scheme, host, path: f"{scheme}{host}{path}",
        st.sampled_from(["", "/", "//", "http://", "https://", "ftp://", "\\\\", "/\\"]),
        st.sampled_from(["testserver", "evil.example", "testserver.evil.example", "", "тест.рф"]),
        plain_text,
    ),
    texts,
)
LOGIN_STATUSES = {200, 302, 429}  # 429: django-axes locks a username and address out
usernames = st.one_of(st.sampled_from(["marie", "MARIE", "chef"]), texts)


@budget(1.5)
@given(
    username=sometimes_missing(usernames),
    password=sometimes_missing(st.one_of(st.just(PASSWORD), texts)),
    next_url=sometimes_missing(next_urls),
    attempts=st.integers(1, 6),
)
@example(username="marie", password=PASSWORD, next_url="//evil.example/", attempts=1)
@example(username="marie", password="wrong", next_url="/", attempts=6)
def test_signing_in_never_fails_and_never_leaves_the_site(
    world, username, password, next_url, attempts
):
    with rolled_back():
        client = Client()
        query = present({"next": next_url})
        page = client.get(reverse("login"), query)
        assert_no_traceback(page)
        assert page.status_code == 200
        assert_escaped(page.content.decode(), strings_in(query))
        posted = present({"username": username, "password": password, "next": next_url})
        for _attempt in range(attempts):
            response = client.post(reverse("login"), posted)
            assert_no_traceback(response)
            assert response.status_code in LOGIN_STATUSES
            assert_escaped(response.content.decode(), strings_in(posted))
            if response.status_code == 302:
                assert on_site(response["Location"]), response["Location"]
                break


def test_a_username_longer_than_any_is_refused_like_a_wrong_one(world):
    # Found by the deep profile on PostgreSQL: 10 000 characters typed as the username, which
    # django-axes recorded in a column of 255 (portal.security.lockout_username).
    response = Client().post(reverse("login"), {"username": "x" * 256, "password": PASSWORD})
    assert response.status_code == 200
    assert response.context["form"].errors


emails = st.one_of(
    st.sampled_from(
        [
            "marie@omega.example",
            "MARIE@OMEGA.EXAMPLE",
            " marie@omega.example ",
            "invitee@omega.example",
            "marié@omega.example",
            "marie@omega.example\x00",
            "<script>alert(1)</script>@omega.example",
            '"<script>alert(1)</script>"@omega.example',
            "x" * 300 + "@omega.example",
            "ı@omega.example",
        ]
    ),
    st.emails().map(str),
    texts,
)


@budget(1)
@given(email=sometimes_missing(emails))
def test_asking_for_a_password_reset_never_fails(world, email, mailoutbox):
    with rolled_back():
        client = Client()
        posted = present({"email": email})
        response = client.post(reverse("password_reset"), posted)
        assert_no_traceback(response)
        assert response.status_code in {200, 302}
        assert_escaped(response.content.decode(), strings_in(posted))
        if response.status_code == 302:
            assert response["Location"] == reverse("password_reset_done")


passwords = st.one_of(
    st.sampled_from([PASSWORD, "", "12345678", "marie", "password", "Un-Mot-2026-long"]),
    st.sampled_from(["x" * 5000, "é" * 300]),
    texts,
)


@budget(1)
@given(
    old=sometimes_missing(st.one_of(st.just(PASSWORD), texts)),
    new=sometimes_missing(passwords),
    again=sometimes_missing(st.one_of(st.just("same"), passwords)),
)
@example(old=PASSWORD, new="Un-Mot-2026-long", again="same")
def test_changing_ones_password_never_fails(world, old, new, again):
    with rolled_back():
        client = signed_in(world.user)
        posted = present(
            {
                "old_password": old,
                "new_password1": new,
                "new_password2": new if again == "same" else again,
            }
        )
        response = client.post(reverse("password_change"), posted)
        assert_no_traceback(response)
        assert response.status_code in {200, 302}
        assert_escaped(response.content.decode(), strings_in(posted))
        if response.status_code == 302:
            assert response["Location"] == reverse("password_change_done")


uids = st.one_of(
    st.integers(-1, 2**70).map(lambda pk: urlsafe_base64_encode(str(pk).encode())),
    st.sampled_from(["MQ", "MQ==", "", "%00", "AA", urlsafe_base64_encode(b"\x00")]),
    url_parts,
)
tokens = st.one_of(
    st.sampled_from(["set-password", "abc-123", "zzzzzzzzzzzzzzzzzzzz-1", "1-1-1", "-", "١-١"]),
    url_parts,
)


@budget(1)
@given(
    view=st.sampled_from(["password_reset_confirm", "invitation-accept"]),
    uid=uids,
    token=tokens,
    own=st.booleans(),
)
def test_a_reset_or_invitation_link_never_fails(world, view, uid, token, own):
    """A link typed wrong, cut short, or made up: a page that says so, never a server error."""
    with rolled_back():
        if own:  # the person's own pk with a made-up token
            uid = urlsafe_base64_encode(str(world.user.pk).encode())
        uid = uid if uid.strip() else "x"
        token = token if token.strip() else "x"
        with translation.override("fr-ca"):
            address = reverse(view, kwargs={"uidb64": uid, "token": token})
        response = Client().get(address)
        assert_no_traceback(response)
        assert response.status_code in {200, 302, 404}
        if response.status_code == 302:
            assert on_site(response["Location"])
        assert_escaped(response.content.decode(), [uid, token])


@budget(1.5)
@given(
    language=sometimes_missing(
        st.one_of(st.sampled_from(["en", "fr-ca", "fr", "EN", "xx"]), texts)
    ),
    next_url=sometimes_missing(next_urls),
    referer=sometimes_missing(next_urls),
    signed=st.booleans(),
)
@example(language="en", next_url="//evil.example/", referer="https://evil.example/", signed=True)
@example(language="en", next_url=MISSING, referer="https://evil.example/", signed=False)
def test_the_language_switch_never_fails_and_never_leaves_the_site(
    world, language, next_url, referer, signed
):
    with rolled_back():
        client = signed_in(world.user) if signed else Client()
        headers = present({"referer": referer})
        response = client.post(
            "/i18n/setlang/", present({"language": language, "next": next_url}), headers=headers
        )
        assert_no_traceback(response)
        assert response.status_code in {302, 204}
        if response.status_code == 302:
            assert on_site(response["Location"]), response["Location"]


# --- import_data ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract_data(django_db_setup, django_db_blocker):
    """The contract's small data set (tests/fixtures/), imported once for the module in a
    transaction rolled back at its end; each test runs in a savepoint within it."""
    with django_db_blocker.unblock(), transaction.atomic():
        for name in RESOURCES:
            call_command("import_data", name, str(FIXTURES / f"{name}.csv"), stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def fixture_rows():
    """The rows of tests/fixtures/, by resource: rows that import (again) as they are."""
    found = {}
    for name in RESOURCES:
        with open(FIXTURES / f"{name}.csv", encoding="utf-8", newline="") as file:
            found[name] = list(csv.reader(file))[1:]
    return found


def fixture_values():
    """Every value of tests/fixtures/, by column: references that resolve."""
    values = {}
    for name, found in FIXTURE_ROWS.items():
        for row in found:
            for column, value in zip(RESOURCES[name].columns(), row, strict=True):
                values.setdefault(column, set()).add(value)
    return {column: sorted(found) for column, found in values.items()}


FIXTURE_ROWS = fixture_rows()
KNOWN = fixture_values()
MONEY_COLUMNS = {"government_aid", "investment_target", "amount", "sme_research_share_target"}
COUNT_COLUMNS = {"jobs_target", "direct", "indirect"}
DATE_COLUMNS = {"start", "end", "deadline", "extended_deadline", "launch_date"}
BOOLEAN_COLUMNS = {"quebec", "uses_programme_technology"}
BOOLEANS = ["true", "false", "yes", "no", "oui", "non", "1", "0", "vrai", "TRUE", "Oui", "2", "on"]


def choice_values(resource, column):
    return {
        "kind": PartnerKind.values,
        "type": ProjectType.values,
        "status": ReportStatus.values if resource == "reports" else ProjectStatus.values,
        "role": ParticipationRole.values,
        "category": InvestmentCategory.values,
        "performer": Performer.values,
    }.get(column)


def cell_texts(resource, column):
    """A CSV cell of `column`: mostly what the column expects, then anything."""
    if column in MONEY_COLUMNS or column in COUNT_COLUMNS:
        expected = numbers
    elif column in DATE_COLUMNS:
        expected = dates
    elif column in BOOLEAN_COLUMNS:
        expected = st.sampled_from(BOOLEANS)
    elif choice_values(resource, column):
        expected = choices(choice_values(resource, column))
    else:
        expected = st.sampled_from(KNOWN.get(column, ["x"]))
    anything = st.one_of(
        texts,
        st.sampled_from(["a,b", 'a"b', '"', "a\nb", "a\r\nb", "\ufeffa", "'=1+1"]),
    )
    return st.one_of(expected, expected, anything)


def xlsx_cells(resource, column):
    """An XLSX cell of `column`: the CSV's texts (without what XML cannot hold) or a typed value."""
    return st.one_of(
        cell_texts(resource, column).map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text)),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.datetimes(datetime.datetime(1900, 3, 1)),
        st.dates(D(1900, 3, 1)),
        st.times(),
        st.booleans(),
        st.none(),
        st.sampled_from(["x" * 10_000, "é" * 32_767]),
    )


@st.composite
def headers(draw, resource):
    """The resource's header row, mostly as it is; sometimes a column renamed, added or repeated."""
    columns = list(RESOURCES[resource].columns())
    change = draw(st.sampled_from(["none"] * 5 + ["rename", "add", "repeat", "case"]))
    index = draw(st.integers(0, len(columns) - 1))
    if change == "rename":
        columns[index] = draw(texts)
    elif change == "add":
        columns.insert(index, draw(texts))
    elif change == "repeat":
        columns.append(columns[index])
    elif change == "case":
        columns[index] = f" {columns[index].upper()} "
    return columns


@st.composite
def rows(draw, resource, cells):
    """Data rows: the right width mostly, sometimes short or long."""
    columns = RESOURCES[resource].columns()
    found = []
    for _row in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):  # a row of the contract's data set, a cell or two changed
            row = list(draw(st.sampled_from(FIXTURE_ROWS[resource])))
            for index in draw(st.lists(st.integers(0, len(row) - 1), max_size=2)):
                row[index] = draw(cells(resource, columns[index]))
        else:
            row = [draw(cells(resource, column)) for column in columns]
        shape = draw(st.sampled_from(["right"] * 6 + ["short", "long"]))
        if shape == "short":
            row = row[: draw(st.integers(0, len(row) - 1))]
        elif shape == "long":
            row += draw(st.lists(st.sampled_from(["", " ", "x", "=1+1"]), min_size=1, max_size=3))
        found.append(row)
    return found


@st.composite
def csv_files(draw, resource):
    """The bytes of a CSV file with the resource's header and generated rows."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerow(draw(headers(resource)))
    writer.writerows(draw(rows(resource, cell_texts)))
    text = buffer.getvalue() + draw(st.sampled_from(["", "\n\n", '\n"unclosed', "\n,,,,", "\r\n"]))
    if draw(st.booleans()):
        text = "\ufeff" + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


# What another spreadsheet program may write as a number cell's value (openpyxl writes NaN and
# infinities as empty values, and never the rest).
RAW_NUMBERS = ["nan", "inf", "-inf", "1e400", "-1e400", "1e-400", "", "abc", "0x10", "1,5", "١"]
MARKER = 987654321


@st.composite
def xlsx_files(draw, resource):
    """The bytes of a workbook with the resource's header and rows of typed cells."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", column) for column in draw(headers(resource))])
    found = draw(rows(resource, xlsx_cells))
    raw = draw(st.one_of(st.none(), st.sampled_from(RAW_NUMBERS)))
    if raw is not None and found and found[0]:
        found[0][draw(st.integers(0, len(found[0]) - 1))] = MARKER
    for row in found:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if raw is None:
        return buffer.getvalue()
    # The number cell's value, rewritten in the sheet's XML.
    rewritten = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename.startswith("xl/worksheets/"):
                content = content.replace(f"<v>{MARKER}</v>".encode(), f"<v>{raw}</v>".encode())
            target.writestr(entry, content)
    return rewritten.getvalue()


def table_counts():
    """Rows of every table of the portal (its history tables included)."""
    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("portal").get_models()
    }


ROW_ERROR = re.compile(r"row \d+, column [^:\n]+: [^\n]+")


def assert_imports_or_names_each_bad_cell(resource, path, *, dry_run=False):
    before = table_counts()
    out, err = io.StringIO(), io.StringIO()
    args = ["--dry-run"] if dry_run else []
    try:
        call_command("import_data", resource, str(path), *args, stdout=out, stderr=err)
    except CommandError as error:
        event("refused: cells" if err.getvalue() else f"refused: {str(error)[:30]}")
        assert error.returncode == 1
        message = str(error)
        assert message.strip() and "\n" not in message.strip(), message
        for line in err.getvalue().splitlines():
            assert ROW_ERROR.fullmatch(line), line
        assert table_counts() == before, "a refused import wrote something"
    else:
        event("imported")
        assert len(out.getvalue().strip().splitlines()) == 1
        assert not err.getvalue()
        if dry_run:
            assert table_counts() == before
    assert "Traceback" not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize("resource", list(RESOURCES))
@budget(1)
@given(data=st.data(), dry_run=st.booleans())
def test_a_csv_file_imports_or_names_its_bad_cells(
    contract_data, tmp_path, resource, data, dry_run
):
    path = tmp_path / f"{resource}.csv"
    path.write_bytes(data.draw(csv_files(resource), label="file"))
    with rolled_back():
        assert_imports_or_names_each_bad_cell(resource, path, dry_run=dry_run)


@pytest.mark.parametrize("resource", list(RESOURCES))
@budget(1)
@given(data=st.data())
def test_an_xlsx_file_imports_or_names_its_bad_cells(contract_data, tmp_path, resource, data):
    path = tmp_path / f"{resource}.xlsx"
    path.write_bytes(data.draw(xlsx_files(resource), label="file"))
    with rolled_back():
        assert_imports_or_names_each_bad_cell(resource, path)


def test_a_header_cell_with_a_line_break_is_named_on_one_line(contract_data, tmp_path):
    # Found by fuzzing: the refusal quoted the header cell as it was, on two lines.
    path = tmp_path / "periods.csv"
    path.write_text('"ligne\nligne",label,start,end,deadline,extended_deadline,extension_reason\n')
    with pytest.raises(CommandError) as refused:
        call_command("import_data", "periods", str(path))
    assert "colonnes inconnues : ligne\\u000aligne." in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory):
    """An SQLite database of its own for `manage.py` in a subprocess (the tests' database is not
    visible outside their transaction), migrated and filled with tests/fixtures/ once."""
    path = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "PYTHONIOENCODING": "utf-8"}
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from portal.resources import RESOURCES\n"
        "call_command('migrate', verbosity=0)\n"
        "for name in RESOURCES:\n"
        f"    call_command('import_data', name, f'{FIXTURES}/{{name}}.csv')\n"
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "psm.settings")
    subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return path, env


def cli_counts(path):
    with contextlib.closing(sqlite3.connect(path)) as database:
        tables = [
            name
            for (name,) in database.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'portal_%'"
            )
        ]
        return {
            table: database.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            for table in tables
        }


@budget(0.5)
@given(
    resource=st.sampled_from(list(RESOURCES)),
    kind=st.sampled_from(["csv", "xlsx"]),
    data=st.data(),
)
def test_the_command_line_prints_lines_never_a_traceback(
    cli_database, tmp_path, resource, kind, data
):
    database, env = cli_database
    files = csv_files if kind == "csv" else xlsx_files
    path = tmp_path / f"{resource}.{kind}"
    path.write_bytes(data.draw(files(resource), label="file"))
    before = cli_counts(database)
    done = subprocess.run(
        [sys.executable, "manage.py", "import_data", resource, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=120,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    if done.returncode == 0:
        assert len(done.stdout.strip().splitlines()) == 1
        return
    assert done.returncode == 1, done.stderr
    *cells, last = done.stderr.strip().splitlines()
    assert last.startswith("CommandError: ")
    for line in cells:
        assert ROW_ERROR.fullmatch(line), line
    assert cli_counts(database) == before
