"""Settings, built once: flag > PROVISIONER_* environment > config file > default."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from provisioner.errors import ConfigError

ENV_PREFIX = "PROVISIONER_"


def _data_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "provisioner"


def _cache_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "provisioner"


def _config_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "provisioner"


# The playbooks that come with the tool (beside the package in a checkout), so that
# `provision school` works from any folder; a city's own: PROVISIONER_PLAYBOOKS.
SHIPPED_PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"

@dataclass(frozen=True)
class Settings:
    """Everything the library needs to know about where things are.

    Attributes:
        db: the state database (SQLite file).
        inventories: the folder of per-school Ansible inventories.
        cache_dir: downloaded and built artefacts (the lab's base root filesystem).
        lab_dir: the running lab's state, credentials and per-host files.
        playbooks: the folder of site playbooks.
        management_networks: the only networks (CIDR) the tool may send a packet to; an
            inventory address outside them is refused before any connection. Default the
            city's 10.0.0.0/8; the test suite sets the lab's range only.
        health_retention_days: raw health samples are kept this many days, daily
            summaries after that.
        artifacts_retention_days: provisioning runs' ansible-runner artifacts are kept
            this many days.
        broker_config: the execution nodes' broker settings (TOML, docs/scale-out.md);
            read only when a school names an `execution_node`, or by `provision node`.
    """

    db: Path
    inventories: Path
    cache_dir: Path
    lab_dir: Path
    playbooks: Path
    management_networks: tuple[str, ...] = ("10.0.0.0/8",)
    health_retention_days: int = 30
    artifacts_retention_days: int = 30
    broker_config: Path = Path("broker.toml")

    def management_nets(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """`management_networks` parsed (validated when the settings were built)."""
        return [ipaddress.ip_network(n, strict=False) for n in self.management_networks]

    @classmethod
    def defaults(cls, env: Mapping[str, str]) -> Settings:
        """Settings with nothing given: per-user data dirs, the current folder's inventories."""
        data = _data_home(env)
        return cls(
            db=data / "provisioner.db",
            inventories=Path("inventories"),
            cache_dir=_cache_home(env),
            lab_dir=data / "lab",
            playbooks=SHIPPED_PLAYBOOKS,
            broker_config=_config_home(env) / "broker.toml",
        )


def _convert(name: str, value: Any, source: str) -> Any:
    """A raw setting (TOML value or environment text) as its field's type.

    Raises:
        ConfigError: the value is not of the setting's kind.
    """
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(str(value)).expanduser()
        if kind == "int":
            number = int(value)
            if number < 0:
                raise ValueError("negative")
            return number
        items = value.split(",") if isinstance(value, str) else list(value)
        nets = tuple(str(ipaddress.ip_network(str(i).strip(), strict=False)) for i in items)
        if not nets:
            raise ValueError("empty")
        return nets
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: setting {name} = {value!r} is not valid ({exc}); "
                          "see the README's settings table") from exc


def _from_file(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc}); fix or remove it") from exc
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known are {', '.join(sorted(known))}"
        )
    return {key: _convert(key, value, f"config file {path}") for key, value in raw.items()}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in fields(Settings):
        variable = ENV_PREFIX + f.name.upper()
        value = env.get(variable)
        if value:
            found[f.name] = _convert(f.name, value, f"environment {variable}")
    return found


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings from flags, environment, an optional config file and defaults.

    Args:
        flags: values given on the command line; None means "not given".
        env: the environment to read PROVISIONER_* from (default: os.environ).
        config_file: a TOML file; default `$XDG_CONFIG_HOME/provisioner/config.toml` if present.

    Raises:
        ConfigError: the config file is unreadable or names unknown settings.
    """
    env = os.environ if env is None else env
    settings = Settings.defaults(env)
    explicit_file = config_file or (Path(p) if (p := env.get(ENV_PREFIX + "CONFIG")) else None)
    path = explicit_file or _config_home(env) / "config.toml"
    if explicit_file is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist; create it or drop --config")
    if path.is_file():
        settings = replace(settings, **_from_file(path))
    settings = replace(settings, **_from_env(env))
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    return replace(settings, **given)
