"""The broker settings of the controller or of one execution node (a small TOML file).

```toml
url = "amqps://broker.schulen.example:5671//"   # AMQP over TLS only
user = "controller"                             # or the node's name
password_file = "/etc/provisioner/broker.pass"  # the broker user's password (0600)
ca_file = "/etc/provisioner/ca.pem"             # verifies the broker's certificate
lease_s = 60          # a node silent this long mid-run is lost (its run `lost`)
state_dir = "/var/lib/provisioner/node"         # a node's own records (node only)
```

Only paths: the password stays in its file and is read when connecting.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from provisioner.errors import ConfigError

DEFAULT_LEASE_S = 60.0


@dataclass(frozen=True)
class BrokerConfig:
    """How to reach the broker, as whom, and how patiently.

    Attributes:
        url: `amqps://host:port/vhost` (no user or password in it).
        user: the broker user: `controller`, or the execution node's name.
        password_file: the file holding that user's password.
        ca_file: the CA certificate the broker's certificate must chain to.
        lease_s: seconds of silence after which a node counts as lost mid-run, and
            after which a job it has not taken is refused when it comes (never run).
        state_dir: where a node keeps the jobs it started and its school locks.
        source: the file the settings came from (for messages).
    """

    url: str
    user: str
    password_file: Path
    ca_file: Path
    lease_s: float = DEFAULT_LEASE_S
    state_dir: Path = Path("/var/lib/provisioner/node")
    source: str = ""

    @property
    def host(self) -> str:
        """The broker's host name or address."""
        return urlsplit(self.url).hostname or ""


def _check(config: BrokerConfig) -> BrokerConfig:
    parts = urlsplit(config.url)
    where = config.source or "broker settings"
    if parts.scheme != "amqps" or not parts.hostname:
        raise ConfigError(f"{where}: url {config.url!r} is not an amqps:// URL; the broker is "
                          "reached over TLS only (amqps://host:5671//)")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: url names a user or password; put the user in 'user' "
                          "and the password in the file 'password_file' names")
    if config.lease_s <= 0:
        raise ConfigError(f"{where}: lease_s must be a positive number of seconds")
    return config


def load_broker_config(path: Path) -> BrokerConfig:
    """The broker settings from `path`.

    Raises:
        ConfigError: the file is missing, unreadable, incomplete or names unknown keys.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"broker settings {path} cannot be read ({exc.strerror}); a school "
                          "names an execution_node: write the file (docs/scale-out.md) or "
                          "set PROVISIONER_BROKER_CONFIG") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"broker settings {path}: not valid TOML ({exc})") from exc
    known = {f.name for f in fields(BrokerConfig)} - {"source"}
    unknown = sorted(set(raw) - known)
    missing = sorted({"url", "user", "password_file", "ca_file"} - set(raw))
    if unknown or missing:
        raise ConfigError(f"broker settings {path}: " + "; ".join(
            ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
            + ([f"missing key(s) {', '.join(missing)}"] if missing else [])))
    try:
        config = BrokerConfig(
            url=str(raw["url"]), user=str(raw["user"]),
            password_file=Path(str(raw["password_file"])).expanduser(),
            ca_file=Path(str(raw["ca_file"])).expanduser(),
            lease_s=float(raw.get("lease_s", DEFAULT_LEASE_S)),
            state_dir=Path(str(raw.get("state_dir", BrokerConfig.state_dir))).expanduser(),
            source=str(path))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"broker settings {path}: a value is not valid ({exc})") from exc
    return _check(config)


def broker_config_text(config: BrokerConfig) -> str:
    """The TOML text of `config` (what `load_broker_config` reads back)."""
    return "".join(f'{key} = "{value}"\n' for key, value in (
        ("url", config.url), ("user", config.user), ("password_file", config.password_file),
        ("ca_file", config.ca_file), ("state_dir", config.state_dir))
    ) + f"lease_s = {config.lease_s}\n"
