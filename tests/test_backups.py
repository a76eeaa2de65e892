"""`manage.py backup` and `manage.py restore`: a restored database gives the same highlights for
every period; a bad file is refused and changes nothing; a failed backup leaves no file.

Run on SQLite and on PostgreSQL (DATABASE_URL): each database has its own way of backing up.
"""

import io
import os
import re
import sqlite3
import stat
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import F
from django.test import override_settings

from portal import backups
from portal.highlights import compute
from portal.models import InvestmentLine, Period, Programme, Publication, Report, ReportStatus
from portal.roles import PROGRAMME_MANAGERS, REVIEWERS
from tests import factories
from tests.test_demo import load_demo

pytestmark = pytest.mark.django_db
# Committed data: pg_dump reads through a connection of its own, and neither a backup nor a
# restore runs inside a transaction. Refusals need none: a bad file is refused before anything.
committed = pytest.mark.django_db(transaction=True)

ON_POSTGRESQL = connection.vendor == backups.POSTGRESQL
only_on_postgresql = pytest.mark.skipif(not ON_POSTGRESQL, reason="pg_dump: PostgreSQL only")
BACKUP_NAME = re.compile(r"psm-\d{8}-\d{6}\.(dump|sqlite3)")


def every_highlight():
    return {
        (period.programme.code, period.label, provisional): compute(
            period, provisional=provisional
        ).as_json()
        for period in Period.objects.select_related("programme")
        for provisional in (False, True)
    }


def row_counts():
    models = [
        *apps.get_app_config("portal").get_models(include_auto_created=True),
        get_user_model(),
    ]
    return {model._meta.label: model.objects.count() for model in models}


def backup(output):
    """The file `manage.py backup --output OUTPUT` writes (OUTPUT: a folder or a file)."""
    call_command("backup", output=str(output), stdout=io.StringIO())
    if output.is_dir():
        (path,) = output.glob("psm-*")
        return path
    return output


def restore(path):
    call_command("restore", str(path), noinput=True, stdout=io.StringIO(), verbosity=0)


def a_backup_of_the_other_kind(folder):
    """An SQLite database under PostgreSQL; under SQLite, a file that begins as pg_dump's custom
    format does (the kind of a backup is read from its first bytes)."""
    if ON_POSTGRESQL:
        path = folder / "psm.sqlite3"
        database = sqlite3.connect(path)
        database.execute("CREATE TABLE django_migrations (id integer PRIMARY KEY)")
        database.commit()
        database.close()
        return path, "SQLite"
    path = folder / "psm.dump"
    path.write_bytes(b"PGDMP" + bytes(4096))
    return path, "PostgreSQL"


@pytest.fixture(scope="module")
def a_backup(django_db_setup, django_db_blocker, tmp_path_factory):
    """A backup of the database as the tests found it, made once for the module (outside any
    transaction) by `manage.py backup` into a BACKUP_DIR that does not exist yet."""
    folder = tmp_path_factory.mktemp("backup") / "backups"
    with django_db_blocker.unblock(), override_settings(BACKUP_DIR=folder):
        call_command("backup", stdout=io.StringIO())
    (path,) = folder.iterdir()
    return path


# --- The round trip --------------------------------------------------------------------------------


@committed
def test_a_restored_database_gives_the_same_highlights_for_every_period(tmp_path):
    load_demo()
    highlights, counts = every_highlight(), row_counts()
    assert len(highlights) >= 8 and counts["portal.InvestmentLine"] > 0
    path = backup(tmp_path)

    # Damage: approved reports deleted, amounts changed, a period added.
    for report in Report.objects.filter(status=ReportStatus.APPROVED)[:10]:
        report.delete()
    InvestmentLine.objects.update(amount=F("amount") + Decimal("1000.00"))
    factories.period(Period.objects.first().programme, "2031-2032")
    assert every_highlight() != highlights

    restore(path)

    assert every_highlight() == highlights
    assert row_counts() == counts
    assert not Period.objects.filter(label="2031-2032").exists()
    # Sequences came back too: new rows do not collide with restored ones.
    factories.period(Period.objects.first().programme, "2032-2033")


@committed
def test_a_backup_of_an_older_release_comes_up_to_date(tmp_path):
    # The release before publications and staff groups (migrations 0003 and later).
    call_command("migrate", "portal", "0002", verbosity=0)
    try:
        older = backup(tmp_path)
    finally:
        call_command("migrate", verbosity=0)
    factories.programme()

    # Publications point at periods: their table goes before the backup's tables come back.
    restore(older)

    assert ("portal", "0004_staff_groups") in MigrationRecorder(connection).applied_migrations()
    assert Publication.objects.count() == 0
    assert Group.objects.filter(name__in=[REVIEWERS, PROGRAMME_MANAGERS]).count() == 2
    assert not Programme.objects.exists()


# --- Refusals: the database is left as it was -----------------------------------------------------


def test_it_refuses_a_missing_file(tmp_path):
    counts = row_counts()

    with pytest.raises(CommandError, match="Fichier introuvable"):
        restore(tmp_path / "psm-20250101-000000.dump")

    assert row_counts() == counts


def test_it_refuses_a_random_file(tmp_path):
    path = tmp_path / "psm-20250101-000000.dump"
    path.write_bytes(os.urandom(4096))
    counts = row_counts()

    with pytest.raises(CommandError, match="n'est pas une sauvegarde du portail"):
        restore(path)

    assert row_counts() == counts


def test_it_refuses_a_truncated_backup(a_backup, tmp_path):
    content = a_backup.read_bytes()
    path = tmp_path / a_backup.name
    path.write_bytes(content[: len(content) // 2])
    counts = row_counts()

    with pytest.raises(CommandError, match="incomplète ou endommagée"):
        restore(path)

    assert row_counts() == counts


def test_it_refuses_a_backup_of_the_other_kind_of_database(tmp_path):
    path, kind = a_backup_of_the_other_kind(tmp_path)
    counts = row_counts()

    with pytest.raises(CommandError, match=f"est une sauvegarde {kind} ;"):
        restore(path)

    assert row_counts() == counts


def test_it_restores_nothing_until_the_database_name_is_typed(a_backup, monkeypatch):
    factories.sector()
    counts = row_counts()
    monkeypatch.setattr("builtins.input", lambda prompt: "oui")

    with pytest.raises(CommandError, match="Restauration annulée"):
        call_command("restore", str(a_backup), stdout=io.StringIO())

    assert row_counts() == counts


# --- The backup file --------------------------------------------------------------------------------


def test_by_default_it_writes_into_backup_dir_for_its_owner_only(a_backup):
    assert BACKUP_NAME.fullmatch(a_backup.name)
    assert stat.S_IMODE(a_backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(a_backup.parent.stat().st_mode) == 0o700
    assert backups.check(a_backup) == connection.vendor


@committed
def test_a_backup_that_does_not_read_back_leaves_no_file(tmp_path, monkeypatch):
    def damaged(path, kind=None):
        raise backups.BackupError(backups.damaged(path, "relue en défaut"))

    monkeypatch.setattr(backups, "check", damaged)

    with pytest.raises(CommandError, match="relue en défaut"):
        backup(tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_a_backup_inside_a_transaction_is_refused_and_leaves_no_file(tmp_path):
    # A plain test runs inside a transaction, whose changes pg_dump would miss.
    with pytest.raises(CommandError, match="dans une transaction"):
        backup(tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_a_clear_message(tmp_path):
    with pytest.raises(CommandError, match="Impossible d'écrire dans"):
        backup(tmp_path / "missing" / "psm.dump")


@committed
@only_on_postgresql
def test_a_failing_pg_dump_leaves_no_file(tmp_path, monkeypatch):
    bin_folder, output = tmp_path / "bin", tmp_path / "backups"
    bin_folder.mkdir()
    output.mkdir()
    fake = bin_folder / "pg_dump"
    fake.write_text(
        "#!/bin/sh\n"
        'for arg; do case "$arg" in --file=*) printf PGDMP > "${arg#--file=}";; esac; done\n'
        'echo "pg_dump: error: connection to server lost" >&2\n'
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")

    with pytest.raises(CommandError, match="pg_dump a échoué : .*connection to server lost"):
        backup(output)

    assert list(output.iterdir()) == []


@committed
@only_on_postgresql
def test_a_missing_pg_dump_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(CommandError, match="pg_dump est introuvable"):
        backup(tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_the_password_is_never_on_the_command_line():
    arguments, environment = backups.client_arguments(
        {
            "NAME": "psm",
            "USER": "psm",
            "PASSWORD": "s3cret",
            "HOST": "db.example.org",
            "PORT": 5432,
            "OPTIONS": {"sslmode": "require"},
        }
    )

    assert arguments == [
        "--dbname=psm",
        "--host=db.example.org",
        "--port=5432",
        "--username=psm",
    ]
    assert environment == {"PGPASSWORD": "s3cret", "PGSSLMODE": "require"}


@committed
def test_open_sessions_are_not_kept_in_a_backup(tmp_path, client):
    client.force_login(get_user_model().objects.create_user("marie", "marie@x.example", "x"))
    assert Session.objects.count() == 1
    path = backup(tmp_path)

    restore(path)

    assert Session.objects.count() == 0  # nobody is signed in again by a restore
    assert get_user_model().objects.filter(username="marie").exists()
