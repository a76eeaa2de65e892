"""Both staff groups may unlock a locked-out sign-in (django-axes' « Tentatives d'accès »: deleting
an attempt lifts its lockout); programme managers also read the sign-in logs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWERS = "Évaluateurs"
PROGRAMME_MANAGERS = "Gestionnaires de programme"
UNLOCK = ["view_accessattempt", "delete_accessattempt"]
LOGS = ["view_accesslog", "view_accessfailurelog"]


def grant(apps, schema_editor):
    axes = apps.get_app_config("axes")
    axes.models_module = True
    create_permissions(axes, apps=apps, verbosity=0)
    axes.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="axes")
    for name, codenames in ((REVIEWERS, UNLOCK), (PROGRAMME_MANAGERS, UNLOCK + LOGS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions.filter(codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="axes")
    for group in Group.objects.filter(name__in=[REVIEWERS, PROGRAMME_MANAGERS]):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_staff_groups"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
