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
import sys
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

    def write_secrets(self, folder: Path) -> Path:
        """Write the passphrases as an inventory references them: `folder`/auth and
        `folder`/priv (mode 0600, one line each); returns `folder`."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, secret in (("auth", self.auth_pass), ("priv", self.priv_pass)):
            (folder / name).write_text(secret + "\n")
            (folder / name).chmod(0o600)
        return folder

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


@dataclass
class SnmpsimAgent:
    """An snmpsim responder serving recordings on one loopback endpoint.

    v2c: the community is the recording's path without extension (e.g.
    "network/switch/cisco-c3560"); v3: the same path is the context name, for the one
    authPriv (SHA/AES) user. As root snmpsim drops to nobody: `workdir` must be
    readable by it (the data and cache dirs are made so here).

    Attributes:
        workdir: a directory of its own (data, cache, log); made world-readable.
        recordings: the recordings' .snmprec files, by their path without extension.
        address: "127.x.y.z:port".
        variation_dir: snmpsim variation modules dir (for `:numeric` lines), optional.
    """

    workdir: Path
    recordings: dict[str, Path]
    address: str
    user: str = "pvtest"
    auth_pass: str = "auth-pass-123"
    priv_pass: str = "priv-pass-456"
    variation_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _prepare(self) -> Path:
        import bz2

        data = self.workdir / "data"
        for name, source in self.recordings.items():
            target = data / f"{name}.snmprec"
            target.parent.mkdir(parents=True, exist_ok=True)
            raw = source.read_bytes()
            target.write_bytes(bz2.decompress(raw) if source.suffix == ".bz2" else raw)
        for path in [self.workdir, *self.workdir.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        cache = self.workdir / "cache"
        cache.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(cache, "nobody", "nogroup")
            for parent in self.workdir.resolve().parents:
                # nobody must reach the data: every parent needs the others' x bit.
                if not parent.stat().st_mode & 0o001:
                    raise EnvironmentProblemError(
                        f"snmpsim runs as nobody and cannot enter {parent}; put its "
                        "workdir under a directory others may traverse (chmod o+x)")
        return data

    def argv(self, data: Path) -> list[str]:
        """The responder's command line (passphrases included: tests only)."""
        # snmpsim's responder after the imports it would make once it is nobody (who
        # may not be able to read this venv: a clone in a `mktemp -d` folder).
        responder = [sys.executable, "-m", "provisioner.lab.snmpsim_runner", "--responder"]
        argv = [*responder, f"--cache-dir={self.workdir / 'cache'}",
                "--log-level=error", "--logging-method=stderr"]
        if os.geteuid() == 0:
            argv += ["--process-user=nobody", "--process-group=nogroup"]
        if self.variation_dir is not None:
            argv.append(f"--variation-modules-dir={self.variation_dir}")
        return [
            *argv, "--v3-engine-id=auto", f"--v3-user={self.user}",
            f"--v3-auth-key={self.auth_pass}",
            "--v3-auth-proto=SHA", f"--v3-priv-key={self.priv_pass}", "--v3-priv-proto=AES",
            f"--data-dir={data}", f"--agent-udpv4-endpoint={self.address}"]

    def start(self, wait_s: float = 60.0) -> None:
        """Start the responder and wait until the first recording answers.

        Raises:
            EnvironmentProblemError: snmpsim is missing or did not come up.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self._prepare()
        log = (self.workdir / "snmpsim.log").open("wb")
        self.process = subprocess.Popen(self.argv(data), stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.workdir, start_new_session=True)
        log.close()
        community = next(iter(self.recordings))
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if self.process.poll() is not None:
                break
            probe = subprocess.run(["snmpget", "-v2c", "-c", community, "-t", "1", "-r", "0",
                                    "-On", self.address, "1.3.6.1.2.1.1.2.0"],
                                   capture_output=True, check=False)
            if probe.returncode == 0:
                return
        tail = (self.workdir / "snmpsim.log").read_text(errors="replace")[-300:]
        self.stop()
        raise EnvironmentProblemError(f"snmpsim on {self.address} did not answer: {tail}")

    def stop(self) -> None:
        """Stop the responder; safe to call twice."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(3)
