"""The state database (SQLite via sqlite-utils): the only package importing sqlite-utils."""

from provisioner.db.store import Store

__all__ = ["Store"]
