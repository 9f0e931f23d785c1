"""A real net-snmp `snmpd` on loopback addresses, for tests and benchmarks.

Starts `snmpd -f -Lo -C -c CONF ADDRESSES...` with a config and a persistent dir of
its own (the SNMPv3 user is a `createUser` line in the persistent `snmpd.conf`, which
snmpd turns into localized keys on start), answering v2c for one community and v3
authPriv (SHA/AES) for one user, with a full read-only view. Listen addresses are
given on the command line: a config's `agentaddress` stops at about 122 of them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.errors import EnvironmentProblemError

SNMPD = "/usr/sbin/snmpd"


@dataclass
class SnmpdAgent:
    """One snmpd process listening on `addresses` (each "IP:PORT", UDP).

    Attributes:
        workdir: a directory of its own (config, persistent dir, log).
        addresses: "127.x.y.z:port" endpoints it answers on.
        community: the v2c community.
        user, auth_pass, priv_pass: the SNMPv3 authPriv user (SHA/AES) and passphrases.
        extra_config: more snmpd.conf lines (e.g. `proc sshd`, `sysLocation ...`).
    """

    workdir: Path
    addresses: Sequence[str]
    community: str = "public"
    user: str = "pvtest"
    auth_pass: str = "auth-pass-123"
    priv_pass: str = "priv-pass-456"
    extra_config: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _write_config(self) -> Path:
        persist = self.workdir / "persist"
        persist.mkdir(parents=True, exist_ok=True)
        (persist / "snmpd.conf").write_text(
            f'createUser {self.user} SHA "{self.auth_pass}" AES "{self.priv_pass}"\n')
        conf = self.workdir / "snmpd.conf"
        # With -C snmpd reads no default config, the persistent one included: the
        # createUser line goes into the main config too (snmpd stores the localized
        # keys in the persistent dir after the first start).
        lines = [
            f'createUser {self.user} SHA "{self.auth_pass}" AES "{self.priv_pass}"',
            "view all included .1",
            f"rocommunity {self.community} default -V all",
            f"rouser {self.user} priv -V all",
            "sysName pv-test-agent",
            "sysLocation lab",
            "sysContact it@example.org",
            *self.extra_config,
        ]
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, wait_s: float = 10.0) -> None:
        """Start snmpd and wait until its first address answers.

        Raises:
            EnvironmentProblemError: snmpd is not installed or exited at once.
        """
        if not Path(SNMPD).exists() and shutil.which("snmpd") is None:
            raise EnvironmentProblemError("net-snmp's snmpd is not installed; run "
                                          "'apt-get install snmpd'")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self._write_config()
        log = (self.workdir / "snmpd.log").open("wb")
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.workdir / "persist"),
               "MIBS": "", "MIBDIRS": "/nonexistent"}
        cmd = [SNMPD, "-f", "-Lo", "-C", "-c", str(conf), "-I", "-smux",
               *(f"udp:{a}" for a in self.addresses)]
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        log.close()
        self._wait_ready(wait_s)

    def _wait_ready(self, wait_s: float) -> None:
        address, port = self.addresses[0].rsplit(":", 1)
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if self.process is not None and self.process.poll() is not None:
                raise EnvironmentProblemError(
                    f"snmpd exited at once: {self.log_tail()}; see {self.workdir}/snmpd.log")
            probe = subprocess.run(
                ["snmpget", "-v2c", "-c", self.community, "-t", "0.3", "-r", "0", "-On",
                 f"{address}:{port}", "1.3.6.1.2.1.1.3.0"], capture_output=True, check=False)
            if probe.returncode == 0:
                return
        raise EnvironmentProblemError(f"snmpd on {self.addresses[0]} did not answer in "
                                      f"{wait_s:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        """The last lines snmpd logged, on one line."""
        try:
            text = (self.workdir / "snmpd.log").read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-3:])

    def stop(self) -> None:
        """Stop snmpd (SIGTERM, then SIGKILL after 3 s); safe to call twice."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(3)
