"""Profile parsers on real recorded walks (snmpsim-data), expectations read from the files.

Every expected value here is computed from the recording's own lines by this module's
small reader (not by `provisioner.snmp.snmprec`, which the parser's input goes through),
following the MIB's meaning: e.g. the clients of an AP are the rows of the station
table that point to it.
"""

from __future__ import annotations

import bz2
from collections import Counter
from functools import cache

import pytest

from provisioner.health.facts import DeviceFacts
from provisioner.health.profiles import IDENTITY_REQUEST, parse, profile_for, select_profile
from provisioner.lab.recordings import source_dir
from provisioner.snmp.snmprec import Recording

VENDOR_BY_ENTERPRISE = {9: "Cisco", 11: "HPE", 14823: "Aruba", 41112: "Ubiquiti",
                        8072: "net-snmp"}


@cache
def raw(path: str) -> dict[str, tuple[str, str]]:
    """OID -> (tag, value) straight from the file; hex values (tag "4x") decoded."""
    text = bz2.decompress((source_dir() / f"{path}.snmprec.bz2").read_bytes()).decode(
        "utf-8", "surrogateescape")
    lines: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or line.count("|") < 2:
            continue
        oid, tag, value = line.split("|", 2)
        if tag == "4x":
            value = bytes.fromhex(value).decode("utf-8", "replace")
        lines[oid] = (tag, value)
    return lines


def under(path: str, base: str) -> dict[str, str]:
    """index -> value for every line under `base`."""
    return {oid[len(base) + 1:]: value for oid, (_tag, value) in raw(path).items()
            if oid.startswith(base + ".")}


@cache
def facts_of(path: str, role: str) -> DeviceFacts:
    """Poll the recording as the health check does (two phases) and parse it."""
    recording = Recording.load(source_dir() / f"{path}.snmprec.bz2")
    first = recording.answer(IDENTITY_REQUEST)
    data = recording.answer(profile_for(first).request(role))
    data.merge(first)
    return parse(data, role)


def chassis_row(path: str) -> str | None:
    classes = under(path, "1.3.6.1.2.1.47.1.1.1.1.5")
    rows = sorted((i for i, c in classes.items() if c == "3"), key=int)
    return rows[0] if rows else None


def expected_vendor(path: str) -> str:
    oid = raw(path)["1.3.6.1.2.1.1.2.0"][1]
    return VENDOR_BY_ENTERPRISE[int(oid.split(".")[6])]


SWITCHES = ["network/switch/cisco-c3750", "network/switch/cisco-c3560",
            "network/switch/hpe-procurve-516733-b21"]


@pytest.mark.parametrize("path", SWITCHES)
def test_switch_identity_from_the_chassis_row(path: str) -> None:
    facts = facts_of(path, "switch")
    row = chassis_row(path)
    assert row is not None
    assert facts.vendor == expected_vendor(path)
    assert facts.model == under(path, "1.3.6.1.2.1.47.1.1.1.1.13")[row].strip()
    assert facts.serial == under(path, "1.3.6.1.2.1.47.1.1.1.1.11")[row].strip()
    assert facts.firmware == under(path, "1.3.6.1.2.1.47.1.1.1.1.10")[row].strip()
    assert facts.sys_name == raw(path)["1.3.6.1.2.1.1.5.0"][1]
    assert facts.uptime_s == int(raw(path)["1.3.6.1.2.1.1.3.0"][1]) / 100
    assert facts.anomalies == ()


@pytest.mark.parametrize("path", SWITCHES)
def test_switch_ports_as_recorded(path: str) -> None:
    facts = facts_of(path, "switch")
    descr = under(path, "1.3.6.1.2.1.2.2.1.2")
    oper = under(path, "1.3.6.1.2.1.2.2.1.8")
    high = under(path, "1.3.6.1.2.1.31.1.1.1.15")
    speed = under(path, "1.3.6.1.2.1.2.2.1.5")
    errors = under(path, "1.3.6.1.2.1.2.2.1.14")
    hc_in = under(path, "1.3.6.1.2.1.31.1.1.1.6")
    assert sorted(i.index for i in facts.interfaces) == sorted(int(i) for i in descr)
    names = {"1": "up", "2": "down", "5": "dormant", "6": "notPresent", "7": "lowerLayerDown"}
    for port in facts.interfaces:
        key = str(port.index)
        assert port.descr == descr[key]
        assert port.oper == names.get(oper[key])
        # ifHighSpeed (Mbit/s) where given and not 0, else ifSpeed (bit/s)
        if int(high.get(key, "0")):
            assert port.speed_mbps == int(high[key])
        else:
            assert port.speed_mbps == int(speed[key]) // 1_000_000
        assert port.in_errors == (int(errors[key]) if key in errors else None)
        if key in hc_in:
            assert port.in_octets == int(hc_in[key]) and port.counter_bits == 64


@pytest.mark.parametrize("path", ["network/wifi/aruba-7010", "network/wifi/aruba-7210"])
def test_aruba_controller_aps_and_clients(path: str) -> None:
    facts = facts_of(path, "wlan_controller")
    assert facts.vendor == "Aruba" and facts.profile == "aruba-controller"
    descr = raw(path)["1.3.6.1.2.1.1.1.0"][1]
    assert facts.model == descr.split("MODEL: ")[1].split(")")[0]
    wlan = facts.wlan
    assert wlan is not None
    ap_names = under(path, "1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.3")
    assert sorted(ap.name for ap in wlan.aps) == sorted(ap_names.values())
    total = raw(path).get("1.3.6.1.4.1.14823.2.2.1.1.3.2.0")
    stations = under(path, "1.3.6.1.4.1.14823.2.2.1.5.2.2.1.1.5")
    assert wlan.clients_total == (int(total[1]) if total else len(stations))
    per_ap = {ap.name: ap.clients for ap in wlan.aps}
    assert per_ap == expected_aruba_clients(path)
    ssids = set(under(path, "1.3.6.1.4.1.14823.2.2.1.5.2.1.7.1.2").values())
    assert set(wlan.ssids) == ssids


def expected_aruba_clients(path: str) -> dict[str, int]:
    """Clients per AP name: the radios' counts where recorded, else users by BSSID."""
    names = under(path, "1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.3")
    counts: Counter[str] = Counter({name: 0 for name in names.values()})
    radio_clients = under(path, "1.3.6.1.4.1.14823.2.2.1.5.2.1.5.1.7")
    if radio_clients:
        for index, value in radio_clients.items():
            counts[names[index.rsplit(".", 1)[0]]] += int(value)
        return dict(counts)
    # BSSID table index: AP MAC (6) . radio . BSSID (6)
    ap_of_bssid = {".".join(i.split(".")[7:]): ".".join(i.split(".")[:6])
                   for i in under(path, "1.3.6.1.4.1.14823.2.2.1.5.2.1.7.1.2")}
    for oid, (_tag, _value) in raw(path).items():
        if oid.startswith("1.3.6.1.4.1.14823.2.2.1.4.1.2.1.11."):
            hex_bssid = raw_hex(path, oid)
            bssid = ".".join(str(b) for b in bytes.fromhex(hex_bssid))
            if bssid in ap_of_bssid:
                counts[names[ap_of_bssid[bssid]]] += 1
    return dict(counts)


def raw_hex(path: str, oid: str) -> str:
    text = bz2.decompress((source_dir() / f"{path}.snmprec.bz2").read_bytes()).decode()
    line = next(line for line in text.splitlines() if line.startswith(oid + "|"))
    return line.split("|", 2)[2]


def test_ubiquiti_m5_radio_ssid_and_stations() -> None:
    path = "network/wifi/ubiquiti-m5"
    facts = facts_of(path, "access_point")
    assert facts.vendor == "Ubiquiti"
    assert facts.model == raw(path)["1.2.840.10036.3.1.2.1.3.5"][1]
    assert facts.firmware == raw(path)["1.2.840.10036.3.1.2.1.4.5"][1]
    wlan = facts.wlan
    assert wlan is not None
    stations = {i.split(".", 1)[1] for i in under(path, "1.3.6.1.4.1.41112.1.4.7.1")}
    assert wlan.clients_total == len(stations)
    assert wlan.aps[0].clients == len(stations)
    assert wlan.ssids == tuple(under(path, "1.3.6.1.4.1.41112.1.4.5.1.2").values())
    assert [r.channel for r in wlan.radios] == [int(raw(path)["1.2.840.10036.4.5.1.1.5"][1])]
    assert wlan.radios[0].clients == int(under(path, "1.3.6.1.4.1.41112.1.4.5.1.15")["1"])


def test_cisco_wireless_controller() -> None:
    path = "network/appliance/cisco-controller"
    facts = facts_of(path, "wlan_controller")
    assert facts.profile == "cisco-wlc" and facts.vendor == "Cisco"
    wlan = facts.wlan
    assert wlan is not None
    names = under(path, "1.3.6.1.4.1.14179.2.2.1.1.3")
    assert len(wlan.aps) == len(names)
    assert wlan.clients_total == len(under(path, "1.3.6.1.4.1.14179.2.1.4.1.4"))
    users: Counter[str] = Counter()
    for index, value in under(path, "1.3.6.1.4.1.14179.2.2.2.1.15").items():
        users[names[index.rsplit(".", 1)[0]]] += int(value)
    assert {ap.name: ap.clients for ap in wlan.aps} == {n: users[n] for n in names.values()}
    assert len(wlan.radios) == len(under(path, "1.3.6.1.4.1.14179.2.2.2.1.4"))


def test_linux_server_storage_load_memory_and_procs() -> None:
    path = "os/linux/unknown-002"
    facts = facts_of(path, "server")
    assert facts.profile == "net-snmp"
    server = facts.server
    assert server is not None
    units = under(path, "1.3.6.1.2.1.25.2.3.1.4")
    sizes = under(path, "1.3.6.1.2.1.25.2.3.1.5")
    used = under(path, "1.3.6.1.2.1.25.2.3.1.6")

    def in_bytes(column: dict[str, str], index: str) -> int | None:
        return int(column[index]) * int(units[index]) if index in column else None

    assert {s.index: (s.size_bytes, s.used_bytes) for s in server.storage} == {
        int(i): (in_bytes(sizes, i), in_bytes(used, i)) for i in sizes}
    assert server.load_1 == float(raw(path)["1.3.6.1.4.1.2021.10.1.3.1"][1])
    assert server.mem_total_bytes == int(raw(path)["1.3.6.1.4.1.2021.4.5.0"][1]) * 1024
    names = under(path, "1.3.6.1.4.1.2021.2.1.2")
    flags = under(path, "1.3.6.1.4.1.2021.2.1.100")
    assert {p.name: p.error for p in server.processes} == {
        names[i]: flags[i] == "1" for i in names}
    assert any(p.error and p.message for p in server.processes)
    assert server.cpu_loads == tuple(
        int(v) for _i, v in sorted(under(path, "1.3.6.1.2.1.25.3.3.1.2").items()))


@pytest.mark.parametrize(("object_id", "descr", "profile"), [
    ("1.3.6.1.4.1.9.1.516", "Cisco IOS Software, C3750 Software", "cisco-ios"),
    ("1.3.6.1.4.1.9.1.1069", "Cisco Controller", "cisco-wlc"),
    ("1.3.6.1.4.1.11.2.3.7.11.107", "ProCurve", "hpe-procurve"),
    ("1.3.6.1.4.1.14823.1.1.40", "ArubaOS (MODEL: Aruba7010)", "aruba-controller"),
    ("1.3.6.1.4.1.41112.1.4", "Linux 2.6.32", "ubiquiti-airmax"),
    # UniFi APs answer under Ubiquiti's number (or as net-snmp) but are no airMAX.
    ("1.3.6.1.4.1.41112", "UAP-AC-Pro-Gen2 6.6.77.15402", "ubiquiti-unifi"),
    ("1.3.6.1.4.1.41112.1.4", "U6-Lite 6.5.28.14491", "ubiquiti-unifi"),
    ("1.3.6.1.4.1.8072.3.2.10", "UAP-nanoHD 6.6.55", "ubiquiti-unifi"),
    ("1.3.6.1.4.1.47196.4.1.1.1.260", "HPE ANW R9Y04A 6100 48G CL4 4SFP+ Sw PL.10.16.1030",
     "aruba-aoscx"),
    ("1.3.6.1.4.1.8072.3.2.10", "Linux host", "net-snmp"),
    ("1.3.6.1.4.1.2356.11.1.1", "LANCOM GS-2326P+", "network"),
    ("1.3.6.1.4.1.99999.1", "Something", "generic"),
    (None, None, "generic"),
])
def test_profile_choice(object_id: str | None, descr: str | None, profile: str) -> None:
    assert select_profile(object_id, descr).name == profile


def test_every_profile_section_names_its_source() -> None:
    from provisioner.health.profiles import GENERIC, profiles

    for profile in (*profiles(), GENERIC):
        for section in profile.sections_for("server") + profile.sections_for("switch"):
            assert section.source and (section.gets or section.walks)
