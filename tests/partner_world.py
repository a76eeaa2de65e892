"""The world of the partner-portal tests: a programme with an open period and last year's, a
partner (Alpha) with two users, an outsider (Bêta), a reviewer, three projects; and helpers that
fill and post the report form as a browser does. The fixtures `world` and `partner_client` are
registered for every test module by tests/conftest.py."""

import datetime
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from portal.models import PartnerKind, PeriodState
from portal.roles import REVIEWERS
from tests import factories as make
from tests.forms_support import form_data

D = datetime.date


@dataclass
class World:
    programme: object
    period: object  # open, deadline in 20 days
    last_period: object  # last year, approved
    alpha: object  # the partner of `user`
    beta: object  # an outsider
    user: object
    colleague: object  # a second user of alpha
    outsider: object  # beta's user
    reviewer: object
    own: object  # project led by alpha
    shared: object  # led by beta, alpha participates
    foreign: object  # beta's only
    sector: object


@pytest.fixture
def world(db):
    today = timezone.localdate()
    programme = make.programme(start=D(2019, 4, 1), end=D(today.year + 3, 3, 31))
    first = today.year - 1 if today.month >= 4 else today.year - 2
    last_period = make.period(
        programme,
        f"{first - 1}-{first}",
        state=PeriodState.PUBLISHED,
        deadline=today - datetime.timedelta(days=200),
    )
    period = make.period(
        programme, f"{first}-{first + 1}", deadline=today + datetime.timedelta(days=20)
    )
    alpha = make.partner("ALPHA", kind=PartnerKind.SME, name="Alpha inc.")
    beta = make.partner("BETA", name="Bêta ltée")
    users = get_user_model().objects
    user = users.create_user("marie", email="marie@alpha.example", password="pw-Alpha-2026")
    colleague = users.create_user("jean", email="jean@alpha.example", password="pw-Jean-2026")
    outsider = users.create_user("paul", email="paul@beta.example", password="pw-Beta-2026")
    alpha.users.add(user, colleague)
    beta.users.add(outsider)
    reviewer = users.create_user("eva", email="eva@psm.example", password="x", is_staff=True)
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    sector = make.sector()
    own = make.project(programme, "P-OWN", alpha, start=D(2019, 5, 1))
    shared = make.project(programme, "P-SHARED", beta, participants=[alpha], start=D(2019, 5, 1))
    foreign = make.project(programme, "P-FOREIGN", beta, start=D(2019, 5, 1))
    return World(
        programme,
        period,
        last_period,
        alpha,
        beta,
        user,
        colleague,
        outsider,
        reviewer,
        own,
        shared,
        foreign,
        sector,
    )


def report_url(world, partner=None, period=None, language="fr-ca"):
    period = period or world.period
    return (
        f"/{language}/partner/{(partner or world.alpha).code}/reports/"
        f"{period.programme.code}/{period.label}/"
    )


@pytest.fixture
def partner_client(client, world):
    client.force_login(world.user)
    return client


def fill(world, data, *, own_amounts=(), jobs=None, products=()):
    """Fill the report page's fields for the project `own` (and jobs for both projects)."""
    pk = world.own.pk
    for index, (category, performer, amount) in enumerate(own_amounts):
        data[f"inv-{pk}-{index}-category"] = category
        data[f"inv-{pk}-{index}-performer"] = performer
        data[f"inv-{pk}-{index}-amount"] = amount
    data[f"inv-{pk}-TOTAL_FORMS"] = str(max(int(data[f"inv-{pk}-TOTAL_FORMS"]), len(own_amounts)))
    for project, (direct, indirect) in (jobs or {}).items():
        data[f"jobs-{project.pk}-direct"] = direct
        data[f"jobs-{project.pk}-indirect"] = indirect
    for index, (name, launch) in enumerate(products):
        data[f"prod-{pk}-{index}-name"] = name
        data[f"prod-{pk}-{index}-sector"] = str(world.sector.pk)
        data[f"prod-{pk}-{index}-launch_date"] = launch
        data[f"prod-{pk}-{index}-uses_programme_technology"] = "on"
    data[f"prod-{pk}-TOTAL_FORMS"] = str(max(int(data[f"prod-{pk}-TOTAL_FORMS"]), len(products)))
    return data


def launch_in(period):
    return (period.start + datetime.timedelta(days=40)).isoformat()


def save(client, world, action="save", url=None, **values):
    url = url or report_url(world)
    data = fill(world, form_data(client.get(url)), **values)
    data["action"] = action
    return client.post(url, data)


def complete(world):
    return {
        "own_amounts": [("labour", "self", "12 345,67"), ("equipment", "quebec_sme", "1000.50")],
        "jobs": {world.own: ("3", "1"), world.shared: ("0", "0")},
        "products": [("Produit Alpha", launch_in(world.period))],
    }
