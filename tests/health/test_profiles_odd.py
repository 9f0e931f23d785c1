"""Profile parsers on odd data: every oddity becomes an anomaly, the device still gets facts."""

from __future__ import annotations

import pytest

from provisioner.health.facts import counter_delta
from provisioner.health.profiles import parse, select_profile
from provisioner.health.profiles.base import MAX_ROWS, object_name
from provisioner.health.profiles.interfaces import (
    IF_DESCR,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_IN_OCTETS,
    IF_OPER,
)
from provisioner.health.profiles.server import HR_DESCR, HR_SIZE, HR_UNITS, PR_NAMES
from provisioner.snmp import (
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    Marker,
    SnmpData,
)

CISCO = {SYS_OBJECT_ID: "1.3.6.1.4.1.9.1.516",
         SYS_DESCR: "Cisco IOS Software, C3750 Software (C3750-IPBASE-M), Version 12.2(50)SE5,"}


def device(scalars: dict, tables: dict | None = None,
           markers: dict | None = None) -> SnmpData:
    return SnmpData(scalars={**CISCO, **scalars}, tables=tables or {}, markers=markers or {})


def test_wrong_types_are_named_and_skipped() -> None:
    data = device({SYS_UPTIME: "a while", SYS_NAME: 42},
                  {IF_DESCR: {"1": 7, "2": "Gi1/0/2"}, IF_OPER: {"1": "up", "2": 1}})
    facts = parse(data, "switch")
    assert facts.uptime_s is None
    assert facts.sys_name == "42"
    assert f"{object_name(SYS_UPTIME)}: expected a number, got 'a while'" in facts.anomalies
    assert f"{object_name(SYS_NAME)}: expected text, got the number 42" in facts.anomalies
    assert f"{object_name(IF_OPER + '.1')}: expected a number, got 'up'" in facts.anomalies
    ports = {p.index: p for p in facts.interfaces}
    assert ports[1].oper is None and ports[2].oper == "up" and ports[2].name == "Gi1/0/2"
    assert facts.vendor == "Cisco" and facts.firmware == "12.2(50)SE5"


def test_missing_columns_still_give_ports() -> None:
    facts = parse(device({}, {IF_OPER: {"3": 2, "4": 1}}), "switch")
    assert [(p.index, p.name, p.oper, p.speed_mbps) for p in facts.interfaces] == [
        (3, "if3", "down", None), (4, "if4", "up", None)]
    assert facts.anomalies == ()


def test_no_such_instance_is_noted_with_its_oid() -> None:
    data = device({SYS_NAME: None}, markers={SYS_NAME: Marker.NO_SUCH_INSTANCE})
    facts = parse(data, "switch")
    assert facts.sys_name is None
    assert facts.anomalies == ("sysName.0 (1.3.6.1.2.1.1.5.0): noSuchInstance (no value)",)


def test_non_utf8_text_is_replaced_and_noted() -> None:
    data = device({SYS_LOCATION: "5363686f6f6cff"}, markers={SYS_LOCATION: Marker.HEX})
    facts = parse(data, "switch")
    assert facts.sys_location == "School\ufffd"
    assert any(a.startswith(object_name(SYS_LOCATION)) and "UTF-8" in a for a in facts.anomalies)


def test_counters_beyond_their_width_and_wraps() -> None:
    data = device({}, {IF_DESCR: {"1": "Gi1"}, IF_IN_OCTETS: {"1": 2 ** 32 + 5},
                       IF_HC_IN_OCTETS: {"1": -1}, IF_HC_OUT_OCTETS: {"1": 9}})
    facts = parse(data, "switch")
    port = facts.interfaces[0]
    assert port.in_octets is None and port.counter_bits == 32
    assert f"{object_name(IF_IN_OCTETS + '.1')}: {2 ** 32 + 5} does not fit a 32-bit counter" \
        in facts.anomalies
    assert f"{object_name(IF_HC_IN_OCTETS + '.1')}: -1 does not fit a 64-bit counter" \
        in facts.anomalies
    assert counter_delta(2 ** 32 - 10, 5, 32) == (15, True)
    assert counter_delta(100, 250, 64) == (150, False)
    assert counter_delta(None, 250, 64) == (None, False)


def test_a_huge_table_is_cut_with_a_note() -> None:
    rows = {str(i): f"port{i}" for i in range(1, 100_001)}
    facts = parse(device({}, {IF_DESCR: rows}), "switch")
    assert len(facts.interfaces) == MAX_ROWS
    assert f"{object_name(IF_DESCR)}: 100000 rows; only the first {MAX_ROWS} are read" \
        in facts.anomalies


def test_a_table_cut_by_the_poller_is_noted() -> None:
    data = device({}, {IF_DESCR: {"1": "a", "2": "b"}})
    data.truncated[IF_DESCR] = 2
    facts = parse(data, "switch")
    assert f"{object_name(IF_DESCR)}: table cut at 2 rows by the poller" in facts.anomalies
    assert len(facts.interfaces) == 2


def test_odd_indexes_and_storage_units() -> None:
    data = SnmpData(scalars={SYS_OBJECT_ID: "1.3.6.1.4.1.8072.3.2.10"}, tables={
        IF_DESCR: {"x.y": "weird", "1": "lo"},
        HR_DESCR: {"1": "/", "2": "/srv"}, HR_UNITS: {"1": 4096, "2": 0},
        HR_SIZE: {"1": 10, "2": 10}, PR_NAMES: {"1": "sshd"}})
    facts = parse(data, "server")
    assert [p.index for p in facts.interfaces] == [1]
    assert f"{object_name(IF_DESCR + '.x.y')}: an ifIndex that is not a number; skipped" \
        in facts.anomalies
    assert facts.server is not None
    sizes = {s.descr: s.size_bytes for s in facts.server.storage}
    assert sizes == {"/": 40960, "/srv": None}
    assert f"{object_name(HR_UNITS + '.2')}: no usable allocation unit; sizes left out" \
        in facts.anomalies
    assert [p.name for p in facts.server.processes] == ["sshd"]


def test_nothing_at_all_still_gives_facts() -> None:
    facts = parse(SnmpData(), "switch")
    assert facts.profile == "generic" and facts.interfaces == () and facts.vendor is None
    assert select_profile("not an oid", "") .name == "generic"


def test_facts_serialise_to_plain_data() -> None:
    facts = parse(device({SYS_UPTIME: 12345}, {IF_DESCR: {"1": "Gi1"}}), "switch")
    as_dict = facts.as_dict()
    assert as_dict["uptime_s"] == 123.45
    assert as_dict["interfaces"][0]["name"] == "Gi1"


def test_aruba_instant_cluster_in_the_ai_ap_mib_shape() -> None:
    from provisioner.health.profiles.wlan import (
        AI_AP_IP,
        AI_AP_NAME,
        AI_AP_STATUS,
        AI_CLIENT_AP_IP,
        AI_RADIO_CHANNEL,
        AI_RADIO_STATUS,
        AI_WLAN_ESSID,
    )

    ap1, ap2 = "0.11.134.1.2.3", "0.11.134.1.2.4"  # MAC indexes
    data = SnmpData(
        scalars={SYS_OBJECT_ID: "1.3.6.1.4.1.14823.1.2.111",
                 SYS_DESCR: "ArubaOS (MODEL: 515), Version 8.10.0.0-8.10.0.0"},
        tables={AI_AP_NAME: {ap1: "R104", ap2: "R105"}, AI_AP_STATUS: {ap1: 1, ap2: 2},
                AI_AP_IP: {ap1: "10.1.4.11", ap2: "10.1.4.12"},
                AI_RADIO_CHANNEL: {f"{ap1}.0": "36E", f"{ap1}.1": "6"},
                AI_RADIO_STATUS: {f"{ap1}.0": 1, f"{ap1}.1": 1},
                AI_WLAN_ESSID: {"1": "Lehrkraefte", "2": "Schueler"},
                AI_CLIENT_AP_IP: {"0.1.2.3.4.5": "10.1.4.11", "0.1.2.3.4.6": "10.1.4.11",
                                  "0.1.2.3.4.7": "10.9.9.9"}})
    facts = parse(data, "access_point")
    assert facts.profile == "aruba-controller" and facts.model == "515"
    wlan = facts.wlan
    assert wlan is not None
    assert [(a.name, a.status, a.clients) for a in wlan.aps] == [
        ("R104", "up", 2), ("R105", "down", 0)]
    assert wlan.clients_total == 3  # one client names an AP the cluster does not list
    assert [(r.index, r.channel, r.status) for r in wlan.radios] == [
        ("0", 36, "up"), ("1", 6, "up")]
    assert wlan.ssids == ("Lehrkraefte", "Schueler")
    assert facts.anomalies == ()


def test_unifi_ap_in_the_ubnt_unifi_mib_shape_is_not_read_as_airmax() -> None:
    from provisioner.health.profiles.wlan import (
        DOT11_PRODUCT,
        UB_RADIO_FREQ,
        UF_VAP_CHANNEL,
        UF_VAP_ESSID,
        UF_VAP_RADIO,
        UF_VAP_STATIONS,
    )

    # Two SSIDs on two radios: one VAP row per SSID and radio (UBNT-UniFi-MIB).
    data = SnmpData(
        scalars={SYS_OBJECT_ID: "1.3.6.1.4.1.41112", SYS_DESCR: "UAP-AC-Pro-Gen2 6.6.77.15402"},
        tables={UF_VAP_RADIO: {"1": "ng", "2": "ng", "3": "na", "4": "na"},
                UF_VAP_ESSID: {"1": "Lehrkraefte", "2": "Schueler", "3": "Lehrkraefte",
                               "4": "Schueler"},
                UF_VAP_CHANNEL: {"1": 6, "2": 6, "3": 36, "4": 36},
                UF_VAP_STATIONS: {"1": 3, "2": 10, "3": 5, "4": 0},
                DOT11_PRODUCT: {"5": "UAP-AC-Pro-Gen2"}})
    facts = parse(data, "access_point")
    assert facts.profile == "ubiquiti-unifi" and facts.vendor == "Ubiquiti"
    assert facts.model == "UAP-AC-Pro-Gen2"
    wlan = facts.wlan
    assert wlan is not None
    assert [(r.index, r.band, r.channel, r.clients) for r in wlan.radios] == [
        ("ng", "2.4GHz", 6, 13), ("na", "5GHz", 36, 5)]
    assert wlan.clients_total == 18 and wlan.ssids == ("Lehrkraefte", "Schueler")
    # airMAX's MIB is not asked: a UniFi AP has none.
    request = select_profile("1.3.6.1.4.1.41112", "UAP-AC-Pro-Gen2 6.6.77").request("access_point")
    assert UB_RADIO_FREQ not in request.walks and UF_VAP_STATIONS in request.walks


@pytest.mark.parametrize(("descr", "model", "firmware"), [
    ("Aruba JL635A 8325 GL.10.04.2000", "JL635A 8325", "GL.10.04.2000"),
    ("HPE ANW R9Y04A 6100 48G CL4 4SFP+ Sw PL.10.16.1030", "R9Y04A 6100 48G CL4 4SFP+ Sw",
     "PL.10.16.1030"),
    ("Aruba JL658A 6300M Switch, FL.10.10.1020", "JL658A 6300M Switch", "FL.10.10.1020"),
])
def test_aoscx_gets_its_own_profile_with_model_and_firmware(descr: str, model: str,
                                                            firmware: str) -> None:
    data = device({SYS_OBJECT_ID: "1.3.6.1.4.1.47196.4.1.1.1.260", SYS_DESCR: descr}, {})
    facts = parse(data, "switch")
    assert (facts.profile, facts.vendor, facts.model, facts.firmware) == (
        "aruba-aoscx", "Aruba", model, firmware)
