"""A lab of more systemd hosts than the kernel's default inotify limit allows.

Debian's `fs.inotify.max_user_instances` of 128 lets about 22 systemd-nspawn hosts
boot; the rest used to miss the readiness wait and fall back to chroot, where the
playbooks' units cannot run (provisioner/lab/limits.py). With `--runtime nspawn`
there is no fallback: every one of 32 hosts must boot under systemd.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from provisioner.lab.state import load_state
from tests.lab.test_lab_e2e import Lab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces, mounts)"),
    pytest.mark.skipif(shutil.which("systemd-nspawn") is None,
                       reason="systemd-nspawn not installed"),
]

# Past the 22 hosts that booted at the default limit of 128 on Debian 12 here.
HOSTS = 32


def test_thirty_two_systemd_hosts_all_boot_under_nspawn(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "scale")
    up = lab.run("lab", "up", "--schools", "1", "--servers", "2", "--switches", "0",
                 "--aps", str(HOSTS - 2), "--recorded-aps", "0", "--wlan-aps", "0",
                 "--runtime", "nspawn")
    try:
        assert up.exit_code == 0, up.output
        state = load_state(lab.lab_dir)
        assert state is not None
        assert {h.runtime for h in state.hosts.values()} == {"nspawn"}
        assert len(state.hosts) == HOSTS
        for host in state.hosts.values():
            log = (lab.lab_dir / "logs" / f"{host.name}.log").read_text(errors="replace")
            assert "Too many open files" not in log, host.name
    finally:
        down = lab.run("lab", "down")
        assert down.exit_code == 0, down.output
