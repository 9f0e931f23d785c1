"""Unpacking snmpsim-data recordings and giving their counters motion (no network)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from provisioner.errors import LabError
from provisioner.lab.recordings import _vary, prepare_recordings, prepare_variations

pytest.importorskip("snmpsim_data", reason="the lab extras (snmpsim-data) are not installed")


def test_uptime_counts_on_from_the_recorded_value() -> None:
    assert (
        _vary("1.3.6.1.2.1.1.3.0|67|3896978921")
        == "1.3.6.1.2.1.1.3.0|67:numeric|initial=3896978921,rate=100,wrap=1"
    )


def test_octet_counters_move_and_a_port_s_32_and_64_bit_counters_agree() -> None:
    low = _vary("1.3.6.1.2.1.2.2.1.10.7|65|3111612296")
    high = _vary("1.3.6.1.2.1.31.1.1.1.6.7|70|93111612296")
    assert low.startswith("1.3.6.1.2.1.2.2.1.10.7|65:numeric|initial=3111612296,rate=")
    assert low.split("rate=")[1] == high.split("rate=")[1]


@pytest.mark.parametrize(
    "line",
    [
        "1.3.6.1.2.1.1.1.0|4|Cisco IOS Software",  # not a counter
        "1.3.6.1.2.1.2.2.1.10.9|65|0",  # an idle port stays idle
        "1.3.6.1.2.1.2.2.1.11.7|65|12345",  # packets, not octets
        "1.3.6.1.2.1.1.3.0|67:numeric|rate=1",  # already varied
    ],
)
def test_other_lines_are_left_alone(line: str) -> None:
    assert _vary(line) == line


def test_prepare_unpacks_once_readable_for_everyone(tmp_path: Path) -> None:
    data = prepare_recordings(["network/wifi/ubiquiti-m5"], tmp_path)
    recording = data / "network" / "wifi" / "ubiquiti-m5.snmprec"
    text = recording.read_text()
    assert "1.3.6.1.2.1.1.1.0|4|Linux 2.6.32.61" in text
    assert "1.3.6.1.2.1.1.3.0|67:numeric|" in text
    assert stat.S_IMODE(recording.stat().st_mode) == 0o644
    assert stat.S_IMODE((data / "network").stat().st_mode) == 0o755
    mtime = recording.stat().st_mtime_ns
    assert prepare_recordings(["network/wifi/ubiquiti-m5"], tmp_path) == data
    assert recording.stat().st_mtime_ns == mtime


def test_prepare_rejects_an_unknown_recording(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="'network/wifi/nonesuch' is not in snmpsim-data"):
        prepare_recordings(["network/wifi/nonesuch"], tmp_path)


def test_variation_dir_holds_only_numeric(tmp_path: Path) -> None:
    assert [p.name for p in prepare_variations(tmp_path).iterdir()] == ["numeric.py"]
