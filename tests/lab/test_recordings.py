"""snmpsim-data recordings in every format: listed, unpacked, counters given motion; one
lab device brought up from an uncompressed recording and polled (marker lab)."""

from __future__ import annotations

import bz2
import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.errors import LabError
from provisioner.lab import recordings
from provisioner.lab.credentials import SNMP_USER, read_secret
from provisioner.lab.recordings import (
    UPTIME_MODULE,
    RecordingInfo,
    _vary,
    check_recording,
    decode_value,
    describe_recording,
    installed_recordings,
    parse_recorded_device,
    prepare_recordings,
    prepare_variations,
)
from provisioner.lab.state import load_state
from provisioner.lab.topology import SWITCH_RECORDING, RecordedDevice
from provisioner.models import Role
from provisioner.snmp import SYS_DESCR, SYS_UPTIME

pytest.importorskip("snmpsim_data", reason="the lab extras (snmpsim-data) are not installed")
UNCOMPRESSED = "UPS/apc-7902b"  # snmpsim-data 1.0.1 ships it as a plain .snmprec


def test_uptime_counts_on_from_the_recorded_value() -> None:
    assert (
        _vary("1.3.6.1.2.1.1.3.0|67|3896978921")
        == "1.3.6.1.2.1.1.3.0|67:labuptime|initial=3896978921"
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
    assert "1.3.6.1.2.1.1.3.0|67:labuptime|initial=" in text
    assert stat.S_IMODE(recording.stat().st_mode) == 0o644
    assert stat.S_IMODE((data / "network").stat().st_mode) == 0o755
    mtime = recording.stat().st_mtime_ns
    assert prepare_recordings(["network/wifi/ubiquiti-m5"], tmp_path) == data
    assert recording.stat().st_mtime_ns == mtime


def test_prepare_rejects_an_unknown_recording(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="'network/wifi/nonesuch' is not in snmpsim-data"):
        prepare_recordings(["network/wifi/nonesuch"], tmp_path)


def test_variation_dir_holds_only_numeric_and_labuptime(tmp_path: Path) -> None:
    names = sorted(p.name for p in prepare_variations(tmp_path).iterdir())
    assert names == ["labuptime.py", "numeric.py"]


def _load_uptime_module() -> dict[str, Any]:
    # snmpsim execs variation modules with these globals; so does this test.
    module: dict[str, Any] = {"path": str(UPTIME_MODULE), "moduleContext": {}}
    exec(compile(UPTIME_MODULE.read_text(), str(UPTIME_MODULE), "exec"), module)
    return module


def _ask(module: dict[str, Any], domain_index: int) -> int:
    context = {"setFlag": False, "nextFlag": False, "exactMatch": True,
               "origOid": "1.3.6.1.2.1.1.3.0", "errorStatus": None,
               "transportDomain": (1, 3, 6, 1, 6, 1, 1, domain_index)}
    oid, tag, ticks = module["variate"]("1.3.6.1.2.1.1.3.0", "67", "initial=500000",
                                         **context)
    assert (oid, tag) == ("1.3.6.1.2.1.1.3.0", "67")
    return int(ticks)


def test_labuptime_restarts_only_the_rebooted_devices_uptime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boots = tmp_path / "boots.json"
    monkeypatch.setenv("PROVISIONER_LAB_BOOTS", str(boots))
    monkeypatch.setenv("PROVISIONER_LAB_ENDPOINTS", "10.213.1.12,10.213.1.13")
    module = _load_uptime_module()
    before = [_ask(module, 0), _ask(module, 1)]
    assert all(ticks >= 500000 for ticks in before)  # recorded uptime, counting on
    boots.write_text(json.dumps({"10.213.1.13": time.time() - 1.0}))
    after = [_ask(module, 0), _ask(module, 1)]
    assert after[0] >= before[0]
    assert after[1] < 500000  # counts from the reboot: well below the recorded value
    assert _ask(module, 7) >= 500000  # an endpoint it does not know counts on as recorded


def test_installed_recordings_include_the_labs_own() -> None:
    installed = installed_recordings()
    assert {"network/switch/cisco-c3750", "network/wifi/aruba-7010",
            "network/switch/hpe-procurve-516733-b21"} <= set(installed)
    assert installed == sorted(installed)


def test_a_recording_is_described_by_its_own_sysdescr() -> None:
    info = describe_recording("network/wifi/aruba-7210")
    assert info.sys_descr.startswith("ArubaOS (MODEL: Aruba7210)")
    assert info.sys_object_id == "1.3.6.1.4.1.14823.1.1.32"
    assert info.sys_name  # what the recorded controller answers as its name
    c3750 = describe_recording("network/switch/cisco-c3750")
    assert "C3750" in c3750.sys_descr
    assert c3750.sys_object_id.startswith("1.3.6.1.4.1.9.")


def test_device_option_is_a_checked_recording_and_role() -> None:
    device = parse_recorded_device("network/switch/hpe-procurve-516733-b21.snmprec:switch")
    assert device == RecordedDevice("network/switch/hpe-procurve-516733-b21", Role.SWITCH)
    assert device.platform == "hp_procurve"
    assert RecordedDevice("network/router/huawei-s5720", Role.SWITCH).platform == "huawei"


@pytest.mark.parametrize(("text", "message"), [
    ("network/switch/hpe-procurve-516733-b21", "names no role: write RECORDING:ROLE"),
    ("network/switch/hpe-procurve-516733-b21:router", "unknown role 'router'"),
    ("network/switch/hpe-procurve:switch",
     "no snmpsim-data recording 'network/switch/hpe-procurve': did you mean "
     "network/switch/hpe-procurve-516733-b21"),
])
def test_bad_device_options_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(LabError, match=message):
        parse_recorded_device(text)


def test_an_unknown_recording_points_at_the_listing() -> None:
    with pytest.raises(LabError, match=r"list the [0-9]+ installed ones with "
                                       r"'provision lab recordings'"):
        check_recording("nothing/like/this")


def _records(text: str) -> dict[str, str]:
    return {line.split("|", 1)[0]: line for line in text.splitlines() if "|" in line}


def test_the_lab_switch_recording_lists_the_simulators_ports(tmp_path: Path) -> None:
    data = prepare_recordings([SWITCH_RECORDING], tmp_path)
    text = (data / f"{SWITCH_RECORDING}.snmprec").read_text()
    records = _records(text)
    names = {oid.rsplit(".", 1)[1]: decode_value(*line.split("|")[1:])
             for oid, line in records.items() if oid.startswith("1.3.6.1.2.1.2.2.1.2.")}
    assert names["10001"] == "FastEthernet0/1" and names["10048"] == "FastEthernet0/48"
    assert names["10101"] == "GigabitEthernet0/1" and names["1"] == "Vlan1"
    assert len(names) == 51
    assert records["1.3.6.1.2.1.2.1.0"] == "1.3.6.1.2.1.2.1.0|2|51"
    short = records["1.3.6.1.2.1.31.1.1.1.1.10102"].split("|")
    assert decode_value(short[1], short[2]) == "Gi0/2"
    assert records["1.3.6.1.2.1.2.2.1.8.10005"] == "1.3.6.1.2.1.2.2.1.8.10005|2|1"  # oper up
    if_rows = [line for oid, line in records.items()
               if oid.startswith(("1.3.6.1.2.1.2.2.1.", "1.3.6.1.2.1.31.1.1.1."))]
    assert not [row for row in if_rows if row.endswith((bytes("Gi1/0/1", "ascii").hex(),
                                                        bytes("GigabitEthernet1/0/1",
                                                              "ascii").hex()))]
    # Counters move like the recorded ones did; everything else is the C3750's own.
    assert records["1.3.6.1.2.1.2.2.1.10.10001"].split("|")[1] == "65:numeric"
    source = prepare_recordings(["network/switch/cisco-c3750"], tmp_path)
    recorded = _records((source / "network/switch/cisco-c3750.snmprec").read_text())
    for oid in ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.47.1.1.1.1.13.1001"):
        assert records[oid] == recorded[oid]
    oids = [tuple(int(p) for p in line.split("|")[0].split("."))
            for line in text.splitlines() if line[:1].isdigit()]
    assert oids == sorted(oids)  # snmpsim walks in file order


def test_the_lab_switch_recording_is_described_as_its_source() -> None:
    source = describe_recording("network/switch/cisco-c3750")
    assert describe_recording(SWITCH_RECORDING) == RecordingInfo(
        SWITCH_RECORDING, source.sys_descr, source.sys_object_id, source.sys_name)


def _shipped() -> set[str]:
    """Every recording file snmpsim-data installs, found independently of the module:
    each format snmpsim serves (its own table of record types), plain or bz2."""
    from snmpsim.variation import RECORD_TYPES

    extensions = {f".{ext}{bz}" for ext in RECORD_TYPES for bz in ("", ".bz2")}
    root = recordings.source_dir()
    found = set()
    for path in root.rglob("*"):
        ext = next((e for e in sorted(extensions, key=len, reverse=True)
                    if path.name.endswith(e)), None)
        if path.is_file() and ext is not None:
            found.add(str(path.relative_to(root))[: -len(ext)])
    return found


def test_every_shipped_recording_is_listed_and_accepted() -> None:
    shipped = _shipped()
    assert UNCOMPRESSED in shipped and len(shipped) >= 116
    assert set(installed_recordings()) == shipped
    for name in sorted(shipped):
        assert check_recording(name) == name
    assert check_recording(f"{UNCOMPRESSED}.snmprec") == UNCOMPRESSED
    device = parse_recorded_device(f"{UNCOMPRESSED}:server")
    assert device == RecordedDevice(UNCOMPRESSED, Role.SERVER)


def test_every_shipped_recording_is_described() -> None:
    described = {name: describe_recording(name) for name in installed_recordings()}
    ups = described[UNCOMPRESSED]
    assert ups.sys_descr.startswith("APC Web/SNMP Management Card (MB:v4.1.0")
    assert ups.sys_object_id == "1.3.6.1.4.1.318.1.3.4.8"
    assert sum(1 for info in described.values() if info.sys_descr) >= 100


def test_an_uncompressed_recording_is_prepared_with_moving_counters(tmp_path: Path) -> None:
    data = prepare_recordings([UNCOMPRESSED], tmp_path)
    text = (data / f"{UNCOMPRESSED}.snmprec").read_text()
    assert text.startswith("1.3.6.1.2.1.1.1.0|4x|415043205765622f534e4d50")
    assert "1.3.6.1.2.1.1.3.0|67:labuptime|initial=165660250" in text


WALK = """\
.1.3.6.1.2.1.1.1.0 = STRING: "Walked Switch 1.0"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.516
.1.3.6.1.2.1.1.3.0 = Timeticks: (165660250) 19 days, 4:10:02.50
.1.3.6.1.2.1.2.2.1.2.1 = STRING: "Gi0/1"
.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 3111612296
"""
SAPWALK = """\
1.3.6.1.2.1.1.1.0, OctetString, Sap Walked UPS
1.3.6.1.2.1.1.2.0, ObjectID, 1.3.6.1.4.1.318.1.3.4.8
1.3.6.1.2.1.1.3.0, TimeTicks, 12345
"""


@pytest.fixture
def walk_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder as a later snmpsim-data might ship it: walks, plain and bz2."""
    root = tmp_path / "data"
    (root / "walks").mkdir(parents=True)
    (root / "walks" / "switch.snmpwalk").write_text(WALK)
    (root / "walks" / "ups.sapwalk.bz2").write_bytes(bz2.compress(SAPWALK.encode()))
    (root / "walks" / "plain.snmprec").write_text("1.3.6.1.2.1.1.1.0|4|Plain\n")
    (root / "walks" / "README.txt").write_text("not a recording\n")
    monkeypatch.setattr(recordings, "source_dir", lambda: root)
    yield root


def test_walk_formats_are_listed_converted_and_described(walk_formats: Path,
                                                          tmp_path: Path) -> None:
    assert installed_recordings() == ["walks/plain", "walks/switch", "walks/ups"]
    assert check_recording("walks/ups.sapwalk.bz2") == "walks/ups"
    assert describe_recording("walks/switch") == RecordingInfo(
        "walks/switch", "Walked Switch 1.0", "1.3.6.1.4.1.9.1.516")
    assert describe_recording("walks/ups").sys_descr == "Sap Walked UPS"
    data = prepare_recordings(["walks/switch", "walks/ups"], tmp_path / "cache")
    switch = (data / "walks" / "switch.snmprec").read_text().splitlines()
    oid, tag, value = switch[0].split("|")
    assert (oid, decode_value(tag, value)) == ("1.3.6.1.2.1.1.1.0", "Walked Switch 1.0")
    assert "1.3.6.1.2.1.1.3.0|67:labuptime|initial=165660250" in switch
    assert switch[-1].startswith("1.3.6.1.2.1.2.2.1.10.1|65:numeric|initial=3111612296,")
    ups = (data / "walks" / "ups.snmprec").read_text()
    assert "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.4.8" in ups


def test_a_broken_walk_is_refused_naming_it(walk_formats: Path, tmp_path: Path) -> None:
    (walk_formats / "walks" / "broken.snmpwalk").write_text("nothing here\n")
    with pytest.raises(LabError, match=r"broken.snmpwalk: snmpsim's converter found no record"):
        prepare_recordings(["walks/broken"], tmp_path / "cache")


# -- in a running lab ---------------------------------------------------------------------

@pytest.mark.lab
@pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)")
def test_a_lab_device_answers_from_an_uncompressed_recording(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.lab.test_lab_down import leftovers
    from tests.lab.test_lab_e2e import Lab

    lab = Lab(tmp_path_factory.mktemp("lab-recordings"))
    up = lab.run("lab", "up", "--schools", "1", "--servers", "0", "--switches", "0",
                 "--wlan-aps", "0", "--aps", "0", "--recorded-aps", "0",
                 "--device", f"{UNCOMPRESSED}:server")
    try:
        assert up.exit_code == 0, up.output
        state = load_state(lab.lab_dir)
        assert state is not None
        (device,) = [d for d in state.devices if d.recording == UNCOMPRESSED]
        assert device.role is Role.SERVER
        descr = _snmpget(lab, device.address, device.snmp_context, SYS_DESCR)
        assert descr == describe_recording(UNCOMPRESSED).sys_descr
        assert int(_snmpget(lab, device.address, device.snmp_context, SYS_UPTIME)) > 0
    finally:
        down = lab.run("lab", "down")
        assert down.exit_code == 0, down.output
        assert leftovers(lab.lab_dir) == []


def _snmpget(lab: Any, address: str, context: str, oid: str) -> str:
    """net-snmp's snmpget over SNMPv3 authPriv; credentials in a 0600 config file."""
    conf_dir = lab.home / "snmp-client"
    conf_dir.mkdir(mode=0o700, exist_ok=True)
    conf = conf_dir / "snmp.conf"
    conf.write_text("".join(line + "\n" for line in [
        "mibs :", f"persistentDir {conf_dir}", f"defSecurityName {SNMP_USER}",
        "defSecurityLevel authPriv", "defAuthType SHA", "defPrivType AES",
        f"defAuthPassphrase {read_secret(lab.creds.snmp_auth)}",
        f"defPrivPassphrase {read_secret(lab.creds.snmp_priv)}"]))
    conf.chmod(0o600)
    env = {"SNMPCONFPATH": str(conf_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(["snmpget", "-v3", "-n", context, "-On", "-Oqvt", "-t", "2", "-r", "3",
                           address, oid], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0 and "No Such" not in done.stdout, done.stderr or done.stdout
    return done.stdout.strip().strip('"')
