"""What a base build leaves behind is cleared before it is packed (provisioner/lab/rootfs.py).

A cold build once packed the machine's /proc: debootstrap had left it mounted in the
new root. Here a root with a busy mount (a process works in it) and a process running
inside it (chroot) stand for what a package's script or a failed unmount leaves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from provisioner.lab.rootfs import _settle
from provisioner.lab.syscmd import mounts_below

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("chroot") is None,
                                reason="mounts and chroot need root")


def _wait_rooted(pid: int, root: Path) -> None:
    deadline = time.monotonic() + 30
    while os.readlink(f"/proc/{pid}/root") != str(root.resolve()):
        assert time.monotonic() < deadline, "the process never entered the root"
        time.sleep(0.02)


def test_settling_ends_processes_inside_and_unmounts_even_a_busy_mount(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "usr").mkdir()
    for link in ("bin", "lib", "lib64"):
        if Path(f"/usr/{link}").is_dir():
            (root / link).symlink_to(f"usr/{link}")
    subprocess.run(["mount", "-t", "tmpfs", "leftover", root / "proc"], check=True)
    subprocess.run(["mount", "--bind", "-o", "ro", "/usr", root / "usr"], check=True)
    busy = subprocess.Popen(["sleep", "600"], cwd=root / "proc")  # keeps it busy
    inside = subprocess.Popen(["chroot", str(root), "/usr/bin/sleep", "600"])
    try:
        assert len(mounts_below(root)) == 2
        _wait_rooted(inside.pid, root)  # chroot(2) has happened: it stands for a daemon inside
        _settle(root, "test")
        assert inside.wait(10) == -9
        assert mounts_below(root) == []
    finally:
        busy.kill()
        busy.wait()
        inside.kill()
        inside.wait()
        for point in mounts_below(root):
            subprocess.run(["umount", "--lazy", point], check=False)
