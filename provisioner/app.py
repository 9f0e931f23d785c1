"""The composition root: settings, database and backends, built once per command."""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from provisioner.config import Settings, load_settings
from provisioner.db import Store
from provisioner.errors import NotFoundError, ProvisionerError
from provisioner.outcome import RunStatus
from provisioner.provision.runner import LocalRunner, PlaybookRunner, RunnerChoice
from provisioner.snmp import SnmpBackend


def _operator(env: Mapping[str, str]) -> str:
    # Under sudo the person is SUDO_USER, not root: that is who the audit log must name.
    return env.get("SUDO_USER") or getpass.getuser()


@dataclass
class AuditOutcome:
    """How an audited command ended, as the audit log records it.

    Attributes:
        outcome: "ok", or a word for a non-zero exit that is not an error ("warning",
            "critical", "devices failed", ...).
        detail: one line, e.g. "exit 10: health run 7, 42 device(s): 2 warning".
    """

    outcome: str = RunStatus.OK.value
    detail: str = ""


@dataclass
class App:
    """What every command works with. Built by `build_app`; nothing else reads the env."""

    settings: Settings
    user: str
    default_db: Path | None = None
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The state database, opened (and migrated) on first use."""
        if self._store is None:
            db = self.settings.db
            # Only the default location is made on first use: a mistyped --db in a folder
            # that does not exist would otherwise quietly start an empty database.
            if db != self.default_db and not db.parent.is_dir():
                raise NotFoundError(f"database {db}: its folder {db.parent} does not exist; "
                                    "fix --db / PROVISIONER_DB, or create the folder first")
            self._store = Store.open(db)
        return self._store

    def snmp(self, backend: str | None = None) -> SnmpBackend:
        """A new SNMP poller for one run (close it after): `backend` by name ("fast",
        "ezsnmp", "pysnmp"), else the default ("fast"; pysnmp is the pure-Python
        reference).

        Raises:
            ConfigError: an unknown backend, or its library is missing.
        """
        from provisioner.snmp import make_backend

        return make_backend(backend)

    def runners(self) -> RunnerChoice:
        """Where each school's playbooks run: on its inventory's `execution_node`, else
        on this machine. Celery and the broker settings are loaded only for a school
        that names a node."""
        settings = self.settings

        def choose(school_id: str) -> PlaybookRunner:
            from provisioner.nodes.assign import school_node

            node = school_node(settings.inventories, school_id)
            if node is None:
                return LocalRunner()
            from provisioner.nodes.config import load_broker_config
            from provisioner.nodes.provision import NodeRunner

            return NodeRunner(load_broker_config(settings.broker_config), node,
                              partial(_record_refusal, settings.db))

        return choose

    def remote_pollers(self) -> Callable[[Mapping[str, str]], Any]:
        """Builds the health check's poller for schools served by execution nodes
        (school id -> node); called only when a school names one."""
        settings = self.settings

        def build(nodes: Mapping[str, str]) -> Any:
            from provisioner.nodes.config import load_broker_config
            from provisioner.nodes.health import NodePoller

            return NodePoller(load_broker_config(settings.broker_config), nodes)

        return build

    @contextmanager
    def audited(self, command: str) -> Iterator[AuditOutcome]:
        """Record `command` and its outcome in the audit log, whatever ends it.

        The block gets an `AuditOutcome` to set when it ends in a non-zero exit that is
        not an error (a health check with warnings: "warning", "exit 10: ..."); left
        alone it is "ok". Any exception (a library error, a bug, Ctrl-C) is recorded
        as "failed" with its class name, then raised on; if the log itself cannot be
        written then, the command's own exception is the one raised.
        """
        outcome = AuditOutcome()
        try:
            yield outcome
        except BaseException as exc:
            # The database may be why the command failed: then its own error tells more.
            # Our errors' messages name the thing and never a secret: keep the first line.
            detail = (f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                      if isinstance(exc, ProvisionerError) and str(exc) else type(exc).__name__)
            with contextlib.suppress(ProvisionerError):
                self.store.audit(self.user, command, RunStatus.FAILED.value, detail)
            raise
        self.store.audit(self.user, command, outcome.outcome, outcome.detail)

    def close(self) -> None:
        """Close what was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None


def _record_refusal(db: Path, node: str, job: str, reason: str, detail: str) -> None:
    """A job an execution node refused, in the audit log (from any thread)."""
    store = Store.open(db)
    try:
        store.audit(f"node {node}", f"job {job}", f"refused ({reason})", detail)
    finally:
        store.close()


def build_app(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> App:
    """Build the app from command-line flags, the environment and the config file."""
    env = os.environ if env is None else env
    settings = load_settings(flags, env, config_file)
    return App(settings=settings, user=_operator(env),
               default_db=Settings.defaults(env).db)
