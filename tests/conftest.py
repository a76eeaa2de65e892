"""Shared test set-up."""

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import translation


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
