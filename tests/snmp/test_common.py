"""Pure pieces shared by the SNMP backends: value conversion, column walks, replies."""

from __future__ import annotations

import pytest

from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import Marker, PollRequest, SnmpData
from provisioner.snmp.common import ColumnWalk, octets_to_value, reply_of

DESCR, OPER = "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"


@pytest.mark.parametrize(("raw", "expected"), [
    (b"Gi1/0/1", ("Gi1/0/1", None)),
    ("Schulstraße".encode(), ("Schulstraße", None)),
    (b"core\x00\x00", ("core", None)),
    (b"\x00\x1b\x2c\x3d\x4e\x5f", ("001b2c3d4e5f", Marker.HEX)),
    (b"caf\xe9", ("caf65", Marker.HEX)),
    (b"", ("", None)),
])
def test_octets(raw: bytes, expected: tuple[str, Marker | None]) -> None:
    value, marker = octets_to_value(raw)
    if marker is Marker.HEX:
        assert (value, marker) == (raw.hex(), Marker.HEX)
    else:
        assert (value, marker) == expected


def test_column_walk_interleaves_and_stops_at_each_column_end() -> None:
    walk = ColumnWalk(PollRequest(walks=(DESCR, OPER), max_rows=10))
    data = SnmpData()
    assert walk.next_oids() == [DESCR, OPER]
    # one GETBULK answer, two repetitions: descr.1, oper.1, descr.2, oper.2
    walk.feed([DESCR, OPER], [(f"{DESCR}.1", "lo", None), (f"{OPER}.1", 1, None),
                              (f"{DESCR}.2", "eth0", None), (f"{OPER}.2", 2, None)], data)
    assert walk.next_oids() == [f"{DESCR}.2", f"{OPER}.2"]
    # descr runs out of its column (into ifType), oper hits the end of the view
    walk.feed([DESCR, OPER], [("1.3.6.1.2.1.2.2.1.3.1", 24, None),
                              ("1.3.6.1.6.3.1.1.1.0", None, Marker.END_OF_MIB_VIEW)], data)
    assert walk.pending() == []
    assert data.tables == {DESCR: {"1": "lo", "2": "eth0"}, OPER: {"1": 1, "2": 2}}


def test_column_walk_caps_rows_and_refuses_going_backwards() -> None:
    walk = ColumnWalk(PollRequest(walks=(DESCR,), max_rows=2))
    data = SnmpData()
    walk.feed([DESCR], [(f"{DESCR}.1", "a", None), (f"{DESCR}.2", "b", None),
                        (f"{DESCR}.3", "c", None)], data)
    assert data.tables[DESCR] == {"1": "a", "2": "b"} and data.truncated == {DESCR: 2}
    looping = ColumnWalk(PollRequest(walks=(OPER,)))
    looping.feed([OPER], [(f"{OPER}.5", 1, None)], data)
    looping.feed([OPER], [(f"{OPER}.5", 1, None)], data)  # an agent repeating itself
    assert looping.pending() == []


def test_reply_of_keeps_the_older_shape() -> None:
    data = SnmpData(scalars={"1.3.6.1.2.1.1.5.0": "sw1", "1.3.6.1.2.1.1.9.0": None},
                    markers={"1.3.6.1.2.1.1.9.0": Marker.NO_SUCH_OBJECT})
    reply = reply_of(DeviceResult("sw1", data))
    assert reply.values["1.3.6.1.2.1.1.5.0"] == "sw1"
    assert reply.error == "no such object: 1.3.6.1.2.1.1.9.0"
    failed = reply_of(DeviceResult("sw2", None, FailureKind.TIMEOUT, "no answer"))
    assert failed.error == "no answer" and not failed.ok
