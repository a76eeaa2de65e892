"""Backing up the `default` database to one file, and putting such a file back, all or nothing.

Used by `manage.py backup` and `manage.py restore` (`make backup`, `make restore`). PostgreSQL
(production) goes through pg_dump's custom format and the PostgreSQL client programs; SQLite
(development) through SQLite's online backup API, on Django's own connection. A backup holds
e-mail addresses and password hashes: its file is readable by its owner only.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
KIND_NAMES = {POSTGRESQL: "PostgreSQL", SQLITE: "SQLite"}
SUFFIXES = {POSTGRESQL: ".dump", SQLITE: ".sqlite3"}
# The first bytes of each kind of file: pg_dump's custom format, an SQLite database.
MAGIC = {POSTGRESQL: b"PGDMP", SQLITE: b"SQLite format 3\x00"}
# A table in `pg_restore --list`: "221; 1259 16411 TABLE public auth_group postgres".
DUMPED_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", re.MULTILINE)
# Every portal database has it; a dump or an SQLite file without it is someone else's.
MIGRATIONS_TABLE = "django_migrations"
# Its rows are not kept: they would be sessions (sign-ins) still open an hour after the backup,
# valid again once it is restored. A restore signs everyone out.
SESSIONS_TABLE = "django_session"


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message says why, in French first."""


@dataclass(frozen=True)
class Restored:
    path: Path
    kind: str
    # Tables of a later release than the backup's, dropped so that migrate can make them again.
    dropped_tables: tuple


def database_kind():
    kind = connection.vendor
    if kind not in KIND_NAMES:
        raise BackupError(
            _("Les sauvegardes ne prennent en charge que PostgreSQL et SQLite (base : %(vendor)s).")
            % {"vendor": kind}
        )
    return kind


def database_name():
    """The name a person types to confirm a restore: the database's, or the SQLite file's."""
    name = str(connection.settings_dict["NAME"])
    return Path(name).name if connection.vendor == SQLITE else name


def default_filename(kind):
    return timezone.localtime().strftime("psm-%Y%m%d-%H%M%S") + SUFFIXES[kind]


def backup(path=None):
    """Writes a consistent backup of the database to `path` (a file, or a folder for the default
    name; default: settings.BACKUP_DIR) and returns the file's path, once the file is read back
    whole. It is written under a temporary name first: a failed backup leaves no file."""
    kind = database_kind()
    if path is None:
        folder = Path(settings.BACKUP_DIR)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise BackupError(cannot_write(folder, error)) from None
        target = folder / default_filename(kind)
    else:
        target = Path(path)
        if target.is_dir():
            target = target / default_filename(kind)
    try:
        # mkstemp makes the file with mode 0600, before anything is written into it.
        descriptor, partial = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
    except OSError as error:
        raise BackupError(cannot_write(target.parent, error)) from None
    os.close(descriptor)
    partial = Path(partial)
    try:
        if connection.in_atomic_block:
            # pg_dump would miss what the transaction has not committed; SQLite would wait for it.
            raise BackupError(_("Une sauvegarde ne peut pas se faire dans une transaction."))
        if kind == POSTGRESQL:
            dump_postgresql(partial)
        else:
            copy_sqlite(partial)
        check(partial, kind=kind)
        try:
            os.chmod(partial, 0o600)  # whatever the copy did to the file's mode
            flush_to_disk(partial)
            os.replace(partial, target)
        except OSError as error:
            raise BackupError(cannot_write(target.parent, error)) from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def restore(path):
    """Replaces the whole content of the database with the backup at `path`, all or nothing;
    BackupError, and the database untouched, for a file that is not a complete backup of this
    kind of database. The caller then runs `migrate` (a backup of an older release)."""
    path = Path(path)
    kind = check(path)
    if connection.in_atomic_block:
        raise BackupError(_("Une restauration ne peut pas se faire dans une transaction."))
    dropped = restore_postgresql(path) if kind == POSTGRESQL else restore_sqlite(path)
    # Content types are cached by id, and the ids are the backup's now.
    ContentType.objects.clear_cache()
    return Restored(path=path, kind=kind, dropped_tables=tuple(dropped))


def check(path, *, kind=None):
    """The kind of database (POSTGRESQL, SQLITE) `path` is a backup of, once the file has been
    read back whole; BackupError for a missing, foreign, truncated or damaged file, or for a
    backup of another kind of database than this one (`kind`, by default the database's)."""
    path = Path(path)
    expected = kind or database_kind()
    try:
        with open(path, "rb") as file:
            head = file.read(len(MAGIC[SQLITE]))
    except FileNotFoundError:
        raise BackupError(_("Fichier introuvable : %(file)s.") % {"file": path}) from None
    except OSError as error:
        raise BackupError(
            _("Impossible de lire %(file)s : %(error)s.") % {"file": path, "error": error.strerror}
        ) from None
    found = next((name for name, magic in MAGIC.items() if head.startswith(magic)), None)
    if found is None:
        raise BackupError(
            _(
                "%(file)s n'est pas une sauvegarde du portail (ni une sauvegarde PostgreSQL de "
                "pg_dump --format=custom, ni une base SQLite)."
            )
            % {"file": path}
        )
    if found != expected:
        raise BackupError(
            _("%(file)s est une sauvegarde %(found)s ; la base de données du portail est %(kind)s.")
            % {"file": path, "found": KIND_NAMES[found], "kind": KIND_NAMES[expected]}
        )
    if found == POSTGRESQL:
        check_dump(path)
    else:
        check_sqlite_file(path)
    return found


def cannot_write(folder, error):
    return _("Impossible d'écrire dans %(folder)s : %(error)s.") % {
        "folder": folder,
        "error": error.strerror or error,
    }


def damaged(path, error):
    return _("La sauvegarde %(file)s est incomplète ou endommagée : %(error)s.") % {
        "file": path,
        "error": str(error).rstrip("."),
    }


def not_of_the_portal(path):
    return _("%(file)s n'est pas une sauvegarde du portail (pas de table %(table)s).") % {
        "file": path,
        "table": MIGRATIONS_TABLE,
    }


def flush_to_disk(path):
    """So that a file renamed into place after a crash is never an empty one."""
    with open(path, "rb") as file:
        os.fsync(file.fileno())


# --- PostgreSQL ------------------------------------------------------------------------------------


def client_arguments(settings_dict):
    """The connection options of pg_dump, pg_restore and psql for a Django database, and their
    environment: the password goes in PGPASSWORD, never on a command line (`ps` shows those)."""
    arguments = [f"--dbname={settings_dict['NAME']}"] if settings_dict.get("NAME") else []
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings_dict.get(key):
            arguments.append(f"{option}={settings_dict[key]}")
    environment = {}
    if settings_dict.get("PASSWORD"):
        environment["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    options = settings_dict.get("OPTIONS") or {}
    for option, variable in (
        ("service", "PGSERVICE"),
        ("passfile", "PGPASSFILE"),
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        if options.get(option):
            environment[variable] = str(options[option])
    return arguments, environment


def run(program, *arguments, environment=None):
    """Runs a PostgreSQL client program; its output, or BackupError when it is not installed."""
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(
            _(
                "%(program)s est introuvable : installez le client PostgreSQL (paquet "
                "postgresql-client, de la version du serveur ou plus récent)."
            )
            % {"program": program}
        )
    return subprocess.run(
        [executable, *arguments],
        env={**os.environ, **(environment or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def tool_error(result):
    """What a client program said on failure, without the notices before it."""
    return result.stderr.strip().rstrip(".")[-2000:] or _("code de sortie %(code)s") % {
        "code": result.returncode
    }


def dump_postgresql(target):
    arguments, environment = client_arguments(connection.settings_dict)
    result = run(
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--exclude-table-data={SESSIONS_TABLE}",
        f"--file={target}",
        *arguments,
        environment=environment,
    )
    if result.returncode != 0:
        raise BackupError(_("pg_dump a échoué : %(error)s.") % {"error": tool_error(result)})


def dumped_tables(path):
    """The tables a dump holds, from its table of contents."""
    result = run("pg_restore", "--list", str(path))
    if result.returncode != 0:
        raise BackupError(damaged(path, tool_error(result)))
    return set(DUMPED_TABLE.findall(result.stdout))


def check_dump(path):
    if MIGRATIONS_TABLE not in dumped_tables(path):
        raise BackupError(not_of_the_portal(path))
    # The table of contents comes first in the file: only reading the data finds a truncation.
    result = run("pg_restore", f"--file={os.devnull}", str(path))
    if result.returncode != 0:
        raise BackupError(damaged(path, tool_error(result)))


def restore_postgresql(path):
    """pg_restore --clean writes the script and psql plays it in one transaction, after dropping
    the tables that a later release than the backup's added (migrate makes them again): they may
    point at the backup's tables, which --clean could then not drop, and `pg_restore -d
    --single-transaction` runs nothing of ours in its transaction. Returns the tables dropped."""
    tables = dumped_tables(path)
    leftovers = sorted(
        set(connection.introspection.django_table_names(only_existing=True, include_views=False))
        - tables
    )
    arguments, environment = client_arguments(connection.settings_dict)
    # The script holds the data in clear: in a folder of our own (mode 0700), removed at once.
    with tempfile.TemporaryDirectory(prefix="psm-restore-") as folder:
        script = Path(folder) / "restore.sql"
        result = run(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--file={script}",
            str(path),
        )
        if result.returncode != 0:
            raise BackupError(damaged(path, tool_error(result)))
        drop = []
        if leftovers:
            names = ", ".join(connection.ops.quote_name(table) for table in leftovers)
            drop = [f"--command=DROP TABLE IF EXISTS {names} CASCADE"]
        # psql's DROP TABLE waits for every other session's locks: Django's own lets go first.
        connection.close()
        result = run(
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            *arguments,
            *drop,
            f"--file={script}",
            environment={**environment, "PGOPTIONS": "-c client_min_messages=warning"},
        )
    if result.returncode != 0:
        raise BackupError(
            _("La restauration a échoué : %(error)s.") % {"error": tool_error(result)}
        )
    return leftovers


# --- SQLite ----------------------------------------------------------------------------------------


def copy_sqlite(target):
    """The online backup API: a consistent copy, even while the portal writes."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
        copy.execute(f'DELETE FROM "{SESSIONS_TABLE}"')
        copy.commit()
    except sqlite3.Error as error:
        raise BackupError(_("La copie SQLite a échoué : %(error)s.") % {"error": error}) from None
    finally:
        copy.close()


def read_only(path):
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def check_sqlite_file(path):
    try:
        database = read_only(path)
        try:
            problems = [row[0] for row in database.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
        finally:
            database.close()
    except sqlite3.Error as error:
        raise BackupError(damaged(path, error)) from None
    if problems != ["ok"]:
        raise BackupError(damaged(path, "; ".join(problems[:3])))
    if MIGRATIONS_TABLE not in tables:
        raise BackupError(not_of_the_portal(path))


def restore_sqlite(path):
    """The backup API again, from the file into Django's connection: one step, so the database
    is replaced whole or not at all (it works on the test's in-memory database too)."""
    connection.ensure_connection()
    try:
        source = read_only(path)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    except sqlite3.Error as error:
        raise BackupError(
            _("La restauration a échoué : %(error)s.") % {"error": str(error).rstrip(".")}
        ) from None
    return []
