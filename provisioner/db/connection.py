"""Opening the state database: pragmas, migrations, refusal of newer schemas."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from provisioner.db.migrations import migrations
from provisioner.errors import DatabaseError

BUSY_TIMEOUT_MS = 10_000


def _known_names() -> set[str]:
    return {m.name for m in migrations._migrations}


def _refuse_newer(db: Database, path: Path) -> None:
    applied = {m.name for m in migrations.applied(db)}
    unknown = sorted(applied - _known_names())
    if unknown:
        raise DatabaseError(
            f"database {path} was written by a newer provisioner (schema step {unknown[-1]}); "
            "upgrade provisioner, or point --db at another file"
        )


def connect(path: Path) -> Database:
    """Open (creating if needed) and migrate the database at `path`.

    Raises:
        DatabaseError: the file cannot be opened, is not a database, or is newer than we are.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
        _refuse_newer(db, path)
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            f"database {path} cannot be opened ({exc}); check the path and permissions, "
            "or restore it from a backup"
        ) from exc
    except OSError as exc:
        raise DatabaseError(f"database {path} cannot be created ({exc}); check --db") from exc
    return db


def schema_steps(db: Database) -> list[str]:
    """Names of the migrations applied to `db`, oldest first."""
    return [m.name for m in migrations.applied(db)]
