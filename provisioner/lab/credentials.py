"""The lab's credentials: made once per lab, kept in 0600 files, passed by reference."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from provisioner import secrets as secrets_file
from provisioner.errors import ConfigError, LabError

SNMP_USER = "provisioner"
DEPLOY_USER = "deploy"
SWITCH_USER = "admin"


@dataclass(frozen=True)
class LabCredentials:
    """Where the lab's secrets live. Only paths: the secrets stay in their files.

    Attributes:
        ssh_key: private key of the `deploy` user on servers and APs.
        known_hosts: the pinned host keys of every SSH device in the lab.
        switch_password: the login (and enable) password of the simulated switches.
        snmp_auth: the SNMPv3 SHA authentication passphrase.
        snmp_priv: the SNMPv3 AES privacy passphrase.
        radius_secret: the shared secret between access points and RADIUS.
        wlan_psk: the pre-shared key of the devices' SSID (Geraete).
        wlan_password: the management password of the WLAN controllers.
        wlan_certs: the folder of the WLAN controllers' pinned TLS certificates.
    """

    directory: Path

    @property
    def ssh_key(self) -> Path:
        """Private key file (ed25519)."""
        return self.directory / "id_ed25519"

    @property
    def ssh_public_key(self) -> Path:
        """Public half of `ssh_key`, for authorized_keys."""
        return self.directory / "id_ed25519.pub"

    @property
    def known_hosts(self) -> Path:
        """Pinned host keys, one line per device address."""
        return self.directory / "known_hosts"

    @property
    def switch_password(self) -> Path:
        """Switch login and enable password."""
        return self.directory / "switch_password"

    @property
    def snmp_auth(self) -> Path:
        """SNMPv3 authentication passphrase (SHA)."""
        return self.directory / "snmp_auth"

    @property
    def snmp_priv(self) -> Path:
        """SNMPv3 privacy passphrase (AES-128)."""
        return self.directory / "snmp_priv"

    @property
    def radius_secret(self) -> Path:
        """RADIUS shared secret of the access points."""
        return self.directory / "radius_secret"

    @property
    def wlan_psk(self) -> Path:
        """WPA2 pre-shared key of the devices' SSID (8-63 characters)."""
        return self.directory / "wlan_psk"

    @property
    def wlan_password(self) -> Path:
        """The WLAN controllers' management (REST API) password."""
        return self.directory / "wlan_password"

    @property
    def wlan_certs(self) -> Path:
        """Pinned controller certificates, `<name>.pem` each."""
        return self.directory / "wlan_certs"


def read_secret(path: Path) -> str:
    """Read a lab secret file; the lab's errors point at `provision lab up`."""
    try:
        return secrets_file.read_secret(path, "lab credential")
    except ConfigError as exc:
        raise LabError(f"{exc}; run 'provision lab up' to make the lab's credentials") from exc


def _write_secret(path: Path, value: str) -> None:
    secrets_file.write_secret_file(path, value + "\n" if value else "")


def _make_ssh_key(creds: LabCredentials) -> None:
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "provisioner-lab",
             "-f", str(creds.ssh_key)],
            check=True, capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise LabError(f"cannot make the lab's SSH key ({exc}); install openssh-client") from exc


def ensure_credentials(directory: Path) -> LabCredentials:
    """Create the lab's credentials once; later calls reuse them (so `up` twice is safe)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    creds = LabCredentials(directory)
    if not creds.ssh_key.exists():
        _make_ssh_key(creds)
    for path in (creds.switch_password, creds.snmp_auth, creds.snmp_priv,
                 creds.radius_secret, creds.wlan_psk, creds.wlan_password):
        if not path.exists():
            # SNMPv3 passphrases must be at least 8 characters; 24 url-safe ones are plenty.
            _write_secret(path, secrets.token_urlsafe(18))
    if not creds.known_hosts.exists():
        _write_secret(creds.known_hosts, "")
    creds.known_hosts.chmod(0o600)
    return creds
