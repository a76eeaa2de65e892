"""The staff's groups. Created with their permissions by migration 0003; names are what staff see."""

REVIEWERS = "Évaluateurs"
PROGRAMME_MANAGERS = "Gestionnaires de programme"


def is_programme_manager(user):
    return user.is_superuser or user.has_perm("portal.reopen_report")


def is_reviewer(user):
    return user.is_superuser or user.has_perm("portal.review_report")
