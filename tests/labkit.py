"""The lab as the lab test modules drive it: a home of their own, the CLI as users run it.

Each module's lab lives in its own `home` (data, config and database), so labs of
different modules never meet (the lab finds its processes by their lab folder); the
lab's base comes from the machine's lab cache; the tool may reach the lab's management
network only.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.config import Settings, load_settings
from provisioner.inventory import load_inventories
from provisioner.lab.credentials import LabCredentials

#: The lab's addresses: the only network the tests let the tool send to.
LAB_NETWORKS = "10.213.0.0/16"

#: A host's status and its PLAY RECAP counts, by host name (`CliLab.provision`).
Hosts = dict[str, dict[str, object]]
AnyLab = TypeVar("AnyLab", bound="CliLab")


def lab_env(home: Path) -> dict[str, str]:
    """The environment of a lab in `home`: its own data and config folders, the cache."""
    return {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "cfg"),
            "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
            "PROVISIONER_MANAGEMENT_NETWORKS": LAB_NETWORKS}


class CliLab:
    """A lab in `home`, driven through `provision` with the lab's database and inventories.

    Attributes:
        school: the school `provision` and `address` mean unless told otherwise.
        outputs: everything the CLI printed, in order (the secret tests search it).
    """

    def __init__(self, home: Path, school: str = "100001") -> None:
        self.home = home
        self.school = school
        self.lab_dir = home / "data" / "provisioner" / "lab"
        self.inventories = self.lab_dir / "inventories"
        self.db = home / "state.db"
        self.env = lab_env(home)
        self.outputs: list[str] = []

    def run(self, *args: str) -> Result:
        """`provision --db DB --inventories INVENTORIES ARGS...`."""
        result = CliRunner(env=self.env).invoke(
            cli, ["--db", str(self.db), "--inventories", str(self.inventories), *args],
            catch_exceptions=False)
        self.outputs.append(result.output)
        return result

    def provision(self, *args: str) -> tuple[Result, Hosts]:
        """`provision --json school --id SCHOOL --yes ARGS...` and its hosts."""
        result = self.run("--json", "school", "--id", self.school, "--yes", *args)
        parsed = json.loads(result.stdout) if result.stdout.startswith("[") else []
        # Each host with its PLAY RECAP counts beside its status (they are nested in JSON).
        hosts = {h["host"]: {**h, **h["counts"]} for h in parsed[0]["hosts"]} \
            if parsed and "hosts" in parsed[0] else {}
        return result, hosts

    @property
    def creds(self) -> LabCredentials:
        """The lab's credential files (references only)."""
        return LabCredentials(self.lab_dir / "credentials")

    def settings(self) -> Settings:
        """The settings `run` gives the CLI, for calling the library directly."""
        return load_settings({"db": self.db, "inventories": self.inventories},
                             env={**os.environ, **self.env})

    def address(self, name: str, school: str | None = None) -> str:
        """A device's management address, from its school's inventory."""
        devices = load_inventories(self.inventories, school or self.school).devices
        return next(d.address for d in devices if d.name == name)


@contextlib.contextmanager
def lab_up(lab: AnyLab, plan: Path, *up_args: str, sync: bool = True) -> Iterator[AnyLab]:
    """`lab`, with `plan` imported, `lab up UP_ARGS...` (and `inventory sync` unless told
    not to); `lab down` afterwards, which must succeed.

    Yields:
        `lab` and the output of its `lab up` in `lab.outputs[-1]` (or [-2] with sync).
    """
    imported = lab.run("plan", "import", str(plan))
    assert imported.exit_code == 0, imported.output
    up = lab.run("lab", "up", *up_args)
    try:
        assert up.exit_code == 0, up.output
        if sync:
            synced = lab.run("inventory", "sync")
            assert synced.exit_code == 0, synced.output
        yield lab
    finally:
        down = lab.run("lab", "down")
        assert down.exit_code == 0, down.output
