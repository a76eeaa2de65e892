"""Shared test set-up."""

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import translation

from tests.partner_world import partner_client, world  # noqa: F401 (fixtures for every module)


@pytest.fixture(autouse=True)
def french_by_default():
    """Each test starts in the site's language: a request under /en/ must not leak English into
    the next test's messages."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo (PSM-NUM 2019-2020 and 2020-2021 published, 2021-2022 not), loaded once for the
    module in a transaction rolled back at the end; each test runs in a savepoint within it."""
    from tests.test_demo import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield
        transaction.set_rollback(True)


def _hypothesis_profiles():
    """Hypothesis's profiles (tests/test_fuzz.py), chosen by HYPOTHESIS_PROFILE: `ci`, the default,
    is repeatable (derandomized, no example database) and small enough for every run; `deep` hunts
    with many more random examples, remembered in .hypothesis/ so that a failure found once is
    tried again first."""
    import os

    from hypothesis import HealthCheck, Phase
    from hypothesis import settings as profiles

    common = {
        "deadline": None,  # a request's time varies with the machine's load, not with the input
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        # No "explain" phase: with requests of a tenth of a second it takes minutes.
        "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    }
    profiles.register_profile("ci", derandomize=True, database=None, max_examples=10, **common)
    profiles.register_profile("deep", max_examples=400, **common)
    profiles.load_profile(os.getenv("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()
