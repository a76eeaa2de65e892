"""Placeholder while this module is being written (issue 3); every view answers 404."""

from django.http import Http404


def _not_yet(*args, **kwargs):
    raise Http404


drilldown = _not_yet
