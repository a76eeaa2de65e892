"""The « Évaluateurs » and « Gestionnaires de programme » groups and their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWERS = "Évaluateurs"
PROGRAMME_MANAGERS = "Gestionnaires de programme"
PORTAL_MODELS = [
    "programme",
    "period",
    "extension",
    "partner",
    "sector",
    "project",
    "participation",
    "report",
    "investmentline",
    "jobline",
    "productline",
    "checkacknowledgement",
    "reminder",
    "publication",
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    portal = Permission.objects.filter(content_type__app_label="portal")

    reviewers, _ = Group.objects.get_or_create(name=REVIEWERS)
    reviewers.permissions.set(
        portal.filter(codename__in=[f"view_{m}" for m in PORTAL_MODELS])
        | portal.filter(
            codename__in=[
                "review_report",
                "add_checkacknowledgement",
                "change_checkacknowledgement",
            ]
        )
    )
    managers, _ = Group.objects.get_or_create(name=PROGRAMME_MANAGERS)
    managers.permissions.set(portal)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[REVIEWERS, PROGRAMME_MANAGERS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_publications"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
