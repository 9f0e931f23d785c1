"""The lab's layout: recorded devices from `--device`, uplinks, SNMP contexts (pure)."""

from __future__ import annotations

import hashlib

import pytest

from provisioner.lab.state import LabState, state_from_json, state_to_json
from provisioner.lab.topology import (
    DeviceKind,
    LabSpec,
    RecordedDevice,
    Uplink,
    plan_lab,
    plan_uplinks,
    recording_context,
)
from provisioner.models import Role

HPE = RecordedDevice("network/switch/hpe-procurve-516733-b21", Role.SWITCH)
UBNT = RecordedDevice("network/wifi/ubiquiti-m5", Role.ACCESS_POINT)


def test_recorded_devices_join_every_school_snmp_only() -> None:
    spec = LabSpec(("100001", "100002"), servers=1, switches=1, aps=0, recorded_aps=0,
                   recorded=(HPE, UBNT), wlan_aps=0)
    devices = plan_lab(spec)
    recorded = [d for d in devices if d.kind is DeviceKind.RECORDED]
    assert [(d.name, d.role, d.platform, d.recording) for d in recorded] == [
        ("100001-rec01", Role.SWITCH, "hp_procurve", HPE.recording),
        ("100001-rec02", Role.ACCESS_POINT, "ubiquiti_airos", UBNT.recording),
        ("100002-rec01", Role.SWITCH, "hp_procurve", HPE.recording),
        ("100002-rec02", Role.ACCESS_POINT, "ubiquiti_airos", UBNT.recording),
    ]
    assert not any(d.has_ssh for d in recorded)
    assert spec.per_school == 4


def test_uplinks_hang_everything_off_the_core_and_aps_off_access_switches() -> None:
    spec = LabSpec(("100001",), servers=2, switches=3, aps=3, recorded_aps=1, recorded=(HPE,),
                   wlan_aps=0)
    uplinks = plan_uplinks(plan_lab(spec))
    core = "100001-sw01"
    assert core not in uplinks
    assert uplinks == {
        "100001-srv01": Uplink(core, "FastEthernet0/1"),
        "100001-srv02": Uplink(core, "FastEthernet0/2"),
        "100001-sw02": Uplink(core, "GigabitEthernet0/1"),
        "100001-sw03": Uplink(core, "GigabitEthernet0/2"),
        "100001-ap01": Uplink("100001-sw02", "FastEthernet0/1"),
        "100001-ap02": Uplink("100001-sw03", "FastEthernet0/1"),
        "100001-ap03": Uplink("100001-sw02", "FastEthernet0/2"),
        "100001-wap01": Uplink("100001-sw03", "FastEthernet0/2"),
        # A recorded switch is a switch: the core's gigabit ports are taken, so its top port.
        "100001-rec01": Uplink(core, "FastEthernet0/48"),
    }


def test_with_one_switch_it_is_the_core_for_everything() -> None:
    uplinks = plan_uplinks(plan_lab(LabSpec(("100001",), servers=1, switches=1, aps=2,
                                            recorded_aps=0, wlan_aps=0)))
    assert {u.host for u in uplinks.values()} == {"100001-sw01"}
    assert len({u.port for u in uplinks.values()}) == 3  # no port is given twice


def test_a_school_without_a_simulated_switch_has_no_uplinks() -> None:
    spec = LabSpec(("100001",), servers=1, switches=0, aps=1, recorded_aps=0, recorded=(HPE,))
    assert plan_uplinks(plan_lab(spec)) == {}


def test_each_school_has_its_own_core() -> None:
    uplinks = plan_uplinks(plan_lab(LabSpec(("100001", "100002"), servers=1, switches=1,
                                            aps=0, recorded_aps=0, wlan_aps=0)))
    assert uplinks == {"100001-srv01": Uplink("100001-sw01", "FastEthernet0/1"),
                       "100002-srv01": Uplink("100002-sw01", "FastEthernet0/1")}


def test_more_devices_than_switch_ports_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="more devices than its 1 switches have ports"):
        plan_lab(LabSpec(("100001",), servers=1, switches=1, aps=50, recorded_aps=0))


def test_a_switch_platform_for_a_school_the_lab_does_not_have_is_refused() -> None:
    # A typo (10001 for 100001) would otherwise build IOS switches without a word.
    with pytest.raises(ValueError, match=r"names school 10001, which is not one of the lab's "
                                         r"schools \(100001, 100002\)"):
        plan_lab(LabSpec(("100001", "100002"), switch_platforms=("10001:aruba_aoss",)))
    laid_out = plan_lab(LabSpec(("100001", "100002"), switches=2,
                                switch_platforms=("100002:aruba_aoss",)))
    assert {d.platform for d in laid_out if d.school_id == "100002" and d.role is Role.SWITCH} \
        == {"aruba_aoss"}


def test_long_recording_paths_are_asked_for_by_their_md5() -> None:
    assert recording_context("network/switch/cisco-c3750") == "network/switch/cisco-c3750"
    long = "network/switch/hpe-procurve-516733-b21"
    assert recording_context(long) == hashlib.md5(long.encode()).hexdigest()
    assert len(recording_context(long)) == 32


def test_state_keeps_recorded_devices_and_faults_across_a_save() -> None:
    spec = LabSpec(("100001",), servers=1, switches=1, aps=0, recorded_aps=0, recorded=(HPE,))
    state = LabState(spec=spec, devices=plan_lab(spec), complete=True,
                     faults={"100001-srv01": "stopped", "school 100001": "cut"},
                     boots={"10.213.1.12": 1764467400.5})
    again = state_from_json(state_to_json(state))
    assert again == state
    assert again.spec.recorded == (HPE,)


def test_a_state_file_of_a_lab_without_faults_still_reads() -> None:
    spec = LabSpec(("100001",), servers=1, switches=0, aps=0, recorded_aps=0)
    text = state_to_json(LabState(spec=spec, devices=plan_lab(spec)))
    old = text.replace('"faults": {},', "").replace('"boots": {},', "")
    assert '"faults"' not in old
    assert state_from_json(old).faults == {}


def test_each_school_gets_a_wlan_controller_and_its_instant_aps() -> None:
    spec = LabSpec(("100001", "100002"), servers=0, switches=2, aps=0, recorded_aps=0,
                   wlan_aps=2)
    devices = plan_lab(spec)
    wlan = [(d.name, d.role, d.kind, d.platform, d.has_ssh, d.has_netns) for d in devices
            if d.kind in (DeviceKind.WLAN_CONTROLLER, DeviceKind.CONTROLLED_AP)]
    controller = (Role.WLAN_CONTROLLER, DeviceKind.WLAN_CONTROLLER, "aruba_instant", False,
                  True)
    ap = (Role.ACCESS_POINT, DeviceKind.CONTROLLED_AP, "aruba_instant", False, False)
    assert wlan == [(f"{s}-{n}", *kind) for s in ("100001", "100002")
                    for n, kind in (("vc01", controller), ("iap01", ap), ("iap02", ap))]
    assert spec.per_school == 5
    uplinks = plan_uplinks(devices)
    # The controller sits by the core like a server; the APs on the access switches.
    assert uplinks["100001-vc01"] == Uplink("100001-sw01", "FastEthernet0/1")
    assert uplinks["100001-iap01"].host == "100001-sw02"
    assert len({d.address for d in devices}) == len(devices)


def test_no_wlan_aps_means_no_controller() -> None:
    devices = plan_lab(LabSpec(("100001",), servers=1, switches=1, aps=1, recorded_aps=0,
                               wlan_aps=0))
    assert not [d for d in devices if d.role is Role.WLAN_CONTROLLER]
