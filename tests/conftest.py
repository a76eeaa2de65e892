"""Shared test set-up."""

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def french_by_default():
    """Each test starts in the site's language: a request under /en/ must not leak English into
    the next test's messages."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
