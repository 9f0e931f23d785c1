"""Opening the state database: pragmas, migrations, refusal of newer schemas; and the
translation of sqlite3's errors into one-line `DatabaseError`s (`translate_errors`)."""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from provisioner.db.migrations import migrations
from provisioner.errors import DatabaseError

BUSY_TIMEOUT_MS = 10_000
C = TypeVar("C", bound=type)

# sqlite3's result code names (Python 3.11+ `sqlite_errorname`, primary code first)
# -> what is wrong with the database, and what the person at the keyboard should do.
_ADVICE: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("SQLITE_BUSY", "SQLITE_LOCKED"),
     "is locked by another command",
     "wait for it to finish and run again"),
    (("SQLITE_READONLY",), "is read-only",
     "allow writing to the file and its folder, or point --db at a writable file"),
    (("SQLITE_CORRUPT", "SQLITE_NOTADB"), "is damaged",
     "restore it from a backup, or point --db at another file"),
    (("SQLITE_FULL",), "cannot grow: the disk is full", "free space and run again"),
    (("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH"),
     "cannot be read or written", "check the disk, the file and its folder's permissions"),
    (("SQLITE_CONSTRAINT",), "refused a value against its rules",
     "nothing was written; please report this as a bug with the command you ran"),
)


def database_error(path: Path, exc: sqlite3.Error) -> DatabaseError:
    """One line naming the database file, what went wrong and what to do.

    The kind of failure is read from sqlite3's result code name, never from its message.
    """
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    state, todo = next(((state, todo) for prefixes, state, todo in _ADVICE
                        if name.startswith(prefixes)),
                       ("failed", "run again, and report this with the command you ran if it "
                        "stays"))
    return DatabaseError(f"database {path} {state} ({exc}); {todo}")


@contextmanager
def writing(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock when it begins (BEGIN IMMEDIATE).

    sqlite-utils' `atomic()` begins deferred: a transaction that reads first and writes
    after then fails at once (SQLITE_BUSY_SNAPSHOT) when another connection wrote in
    between, as when two schools are provisioned side by side. Taken up front, the lock
    waits out the other writer (`BUSY_TIMEOUT_MS`). Nested, it is a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def translate_errors(cls: C) -> C:
    """Class decorator: every public method turns sqlite3's errors into `DatabaseError`.

    The class must have a `path` attribute (the database file, named in the message).
    """
    for attr, method in list(vars(cls).items()):
        if attr.startswith("_") or not inspect.isfunction(method):
            continue
        setattr(cls, attr, _translating(method))
    return cls


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise database_error(self.path, exc) from exc

    return wrapper


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
    except sqlite3.Error as exc:
        raise database_error(path, exc) from exc
    except OSError as exc:
        raise DatabaseError(f"database {path} cannot be created ({exc}); check --db") from exc
    return db


def schema_steps(db: Database) -> list[str]:
    """Names of the migrations applied to `db`, oldest first."""
    return [m.name for m in migrations.applied(db)]
