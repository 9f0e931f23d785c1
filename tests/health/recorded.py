"""What the lab's recorded devices must be parsed into, read from the recordings themselves.

Independent of the profiles: straight from the `.snmprec` lines (through
`provisioner.snmp.snmprec.Recording`), by the MIBs' own meaning:
- vendor: the IANA enterprise number in sysObjectID;
- model: the chassis row's entPhysicalModelName (ENTITY-MIB, entPhysicalClass 3), else
  "(MODEL: X)" in sysDescr (ArubaOS), else dot11manufacturerProductName (IEEE802dot11-MIB);
- clients: Aruba: wlsxSwitchTotalNumStationsAssociated, else the stations
  (rows) of wlsxWlanStationTable; Ubiquiti: ubntWlStatStaCount; switches: none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from provisioner.lab.recordings import source_dir
from provisioner.snmp.snmprec import Recording

#: Recording path -> the role it plays in the lab school.
RECORDINGS = {
    "network/switch/cisco-c3750": "switch",
    "network/switch/cisco-c3560": "switch",
    "network/switch/hpe-procurve-516733-b21": "switch",
    "network/wifi/aruba-7010": "access_point",
    "network/wifi/aruba-7210": "access_point",
    "network/wifi/ubiquiti-m5": "access_point",
}

_VENDORS = {9: "Cisco", 11: "HPE", 14823: "Aruba", 41112: "Ubiquiti"}
_ENT = "1.3.6.1.2.1.47.1.1.1.1"
_DOT11_PRODUCT = "1.2.840.10036.3.1.2.1.3"
_ARUBA_TOTAL = "1.3.6.1.4.1.14823.2.2.1.1.3.2.0"
_ARUBA_STATION_ENTRY = "1.3.6.1.4.1.14823.2.2.1.5.2.2.1.1"
_UBNT_STA_COUNT = "1.3.6.1.4.1.41112.1.4.5.1.15"


@dataclass(frozen=True)
class Expected:
    vendor: str
    model: str | None
    clients: int | None


@cache
def load(path: str) -> Recording:
    return Recording.load(source_dir() / f"{path}.snmprec.bz2")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _model(rec: Recording) -> str | None:
    classes = dict(rec.lines_under(f"{_ENT}.5"))
    models = dict(rec.lines_under(f"{_ENT}.13"))
    for index, kind in classes.items():
        if kind == 3 and _text(models.get(index)).strip():
            return _text(models[index]).strip()
    descr = _text(rec.values.get("1.3.6.1.2.1.1.1.0", (None, None))[0])
    if match := re.search(r"\(MODEL:\s*([^)]+)\)", descr):
        return match.group(1).strip()
    products = [_text(v).strip() for _i, v in rec.lines_under(_DOT11_PRODUCT)]
    return next((p for p in products if p), None)


def _clients(rec: Recording, vendor: str) -> int | None:
    if vendor == "Aruba":
        total = rec.values.get(_ARUBA_TOTAL)
        if total is not None and isinstance(total[0], int):
            return total[0]
        # One row per station MAC (the index); count distinct indexes over all columns.
        return len({index.split(".", 1)[1] for index, _v in rec.lines_under(_ARUBA_STATION_ENTRY)})
    if vendor == "Ubiquiti":
        return sum(int(v) for _i, v in rec.lines_under(_UBNT_STA_COUNT) if isinstance(v, int))
    return None


def expected_from_recording(path: str) -> Expected:
    """Vendor, model and WLAN clients as the recording at `path` states them."""
    rec = load(path)
    oid = _text(rec.values["1.3.6.1.2.1.1.2.0"][0])
    vendor = _VENDORS[int(oid.split(".")[6])]
    return Expected(vendor, _model(rec), _clients(rec, vendor))
