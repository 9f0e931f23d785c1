"""The SNMP responder's data sets in the cache: built once, whole, and never written again."""

from __future__ import annotations

import multiprocessing
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.lab.snmpdata import (
    DEFAULT_RECORDINGS,
    data_key,
    ensure_snmp_data,
    is_ready,
    set_path,
)

pytest.importorskip("snmpsim", reason="the lab extras (snmpsim) are not installed")

UBNT = "network/wifi/ubiquiti-m5"
# What the responder does with a set at start: snmpsim's own check of each index.
CHECK_INDEX = """
import sys
from snmpsim import confdir, datafile
confdir.cache = sys.argv[2]
for path, parser, _ in datafile.get_data_files(sys.argv[1]):
    datafile.DataFile(path, parser, {}).index_text()
"""


def _modes(root: Path) -> set[tuple[str, int]]:
    return {("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode))
            for p in root.rglob("*")}


def _stamps(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_a_set_is_built_once_readable_for_all_and_valid_where_it_lies(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert not is_ready(cache, [UBNT])
    data = ensure_snmp_data(cache, [UBNT])
    assert data.root == set_path(cache, [UBNT]) and is_ready(cache, [UBNT])
    recording = data.root / data.data_dir / f"{UBNT}.snmprec"
    assert "1.3.6.1.2.1.1.3.0|67:labuptime|initial=" in recording.read_text()
    assert sorted(p.name for p in (data.root / data.variation_dir).iterdir()) == [
        "labuptime.py", "numeric.py"]
    # Index files are named after the data's path relative to the set's folder.
    index = [p.name for p in (data.root / data.index_dir).iterdir()]
    assert index and all(n.startswith(f"{data.data_dir}_network_wifi_ubiquiti-m5.dbm")
                         for n in index)
    assert _modes(data.root) == {("dir", 0o755), ("file", 0o644)}
    assert stat.S_IMODE(data.root.parent.stat().st_mode) == 0o755
    before = _stamps(data.root)
    assert ensure_snmp_data(cache, [UBNT]) == data
    # snmpsim, working from the set's folder as the responder does, finds every index
    # valid and rebuilds none, also once the cache has moved elsewhere.
    moved = tmp_path / "elsewhere"
    data.root.rename(moved)
    subprocess.run([sys.executable, "-c", CHECK_INDEX, data.data_dir, data.index_dir],
                   cwd=moved, check=True, timeout=60)
    assert _stamps(moved) == before


def test_the_key_follows_the_set_of_recordings() -> None:
    assert data_key([UBNT, *DEFAULT_RECORDINGS]) == data_key([*DEFAULT_RECORDINGS, UBNT, UBNT])
    assert data_key([UBNT]) != data_key(DEFAULT_RECORDINGS)


def _ensure(cache: str) -> None:
    ensure_snmp_data(Path(cache), DEFAULT_RECORDINGS)


def test_concurrent_labs_build_one_set_and_leave_no_half_built_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_ensure, args=(str(cache),)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    folders = [p.name for p in (cache / "snmpsim").iterdir() if p.is_dir()]
    assert folders == [set_path(cache, DEFAULT_RECORDINGS).name]
    recordings = (cache / "snmpsim" / folders[0] / "recordings.txt").read_text().split()
    assert recordings == sorted(DEFAULT_RECORDINGS)
