"""The .snmprec loader: answers requests as an agent serving the recording would."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import ConfigError, NotFoundError
from provisioner.snmp import Marker, PollRequest
from provisioner.snmp.snmprec import Recording

LINES = """\
# a comment
1.3.6.1.2.1.1.1.0|4x|4c696e7578
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10
1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=4200
1.3.6.1.2.1.2.2.1.2.1|4|lo
1.3.6.1.2.1.2.2.1.2.2|4|eth0
1.3.6.1.2.1.2.2.1.2.10|4|eth9
1.3.6.1.2.1.2.2.1.6.2|4x|001b2c3d4e5f
1.3.6.1.2.1.4.20.1.1.10.0.0.1|64x|0a000001
1.3.6.1.2.1.31.1.1.1.6.2|70|18446744073709551615
"""


@pytest.fixture
def recording(tmp_path: Path) -> Recording:
    path = tmp_path / "host.snmprec"
    path.write_text(LINES)
    return Recording.load(path)


def test_gets_walks_types_and_order(recording: Recording) -> None:
    data = recording.answer(PollRequest(
        gets=("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0",
              "1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.2.2.1.2.3"),
        walks=("1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.6", "1.3.6.1.2.1.4.20.1.1",
               "1.3.6.1.2.1.31.1.1.1.6")))
    assert data.scalars["1.3.6.1.2.1.1.1.0"] == "Linux"
    assert data.scalars["1.3.6.1.2.1.1.2.0"] == "1.3.6.1.4.1.8072.3.2.10"
    assert data.scalars["1.3.6.1.2.1.1.3.0"] == 4200
    assert data.markers["1.3.6.1.2.1.1.4.0"] is Marker.NO_SUCH_OBJECT
    assert data.markers["1.3.6.1.2.1.2.2.1.2.3"] is Marker.NO_SUCH_INSTANCE
    # numeric OID order, not text order: .10 after .2
    assert list(data.tables["1.3.6.1.2.1.2.2.1.2"].items()) == [
        ("1", "lo"), ("2", "eth0"), ("10", "eth9")]
    assert data.tables["1.3.6.1.2.1.2.2.1.6"] == {"2": "001b2c3d4e5f"}
    assert data.markers["1.3.6.1.2.1.2.2.1.6.2"] is Marker.HEX
    assert data.tables["1.3.6.1.2.1.4.20.1.1"] == {"10.0.0.1": "10.0.0.1"}
    assert data.tables["1.3.6.1.2.1.31.1.1.1.6"] == {"2": 2 ** 64 - 1}


def test_walks_are_capped(recording: Recording) -> None:
    data = recording.answer(PollRequest(walks=("1.3.6.1.2.1.2.2.1.2",), max_rows=2))
    assert len(data.tables["1.3.6.1.2.1.2.2.1.2"]) == 2
    assert data.truncated == {"1.3.6.1.2.1.2.2.1.2": 2}


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"absent\.snmprec: cannot read it"):
        Recording.load(tmp_path / "absent.snmprec")
    broken = tmp_path / "broken.snmprec"
    broken.write_text("1.3.6.1.2.1.1.1.0|4\n")
    with pytest.raises(ConfigError, match=r"line 1: not OID\|TAG\|VALUE"):
        Recording.load(broken)
