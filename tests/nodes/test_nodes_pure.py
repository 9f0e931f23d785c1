"""Pure parts of execution nodes: names and permissions, settings, school assignment,
the lab's node network scripts, the poll results' encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import ConfigError, InvalidInputError
from provisioner.lab.nodes import device_scripts, lab_nodes, school_nodes, wan_script
from provisioner.lab.topology import LabSpec, plan_lab
from provisioner.models import Device, Role
from provisioner.nodes.assign import node_of, nodes_by_school
from provisioner.nodes.config import broker_config_text, load_broker_config
from provisioner.nodes.health import decode_result, encode_result
from provisioner.nodes.topology import check_node_name, node_permissions
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import Marker, SnmpData


def test_a_node_may_read_only_its_jobs_and_write_only_its_replies() -> None:
    configure, write, read = node_permissions("node-a")
    assert configure == "^$"
    assert write == "^node\\.node\\-a\\.out$" and read == "^node\\.node\\-a\\.jobs$"


@pytest.mark.parametrize("name", ["", "Node1", "a b", "controller", "x" * 32, "-a"])
def test_bad_node_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        check_node_name(name)


def _config_text(**over: str) -> str:
    values = {"url": '"amqps://broker.example:5671//"', "user": '"node-a"',
              "password_file": '"/etc/p.pass"', "ca_file": '"/etc/ca.pem"', **over}
    return "".join(f"{k} = {v}\n" for k, v in values.items())


def test_broker_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "broker.toml"
    path.write_text(_config_text(lease_s="30"))
    config = load_broker_config(path)
    assert (config.host, config.user, config.lease_s) == ("broker.example", "node-a", 30.0)
    path.write_text(broker_config_text(config))
    again = load_broker_config(path)
    assert (again.url, again.password_file, again.lease_s) == (config.url, config.password_file,
                                                               30.0)


@pytest.mark.parametrize(("over", "says"), [
    ({"url": '"amqp://broker:5672//"'}, "TLS only"),
    ({"url": '"amqps://node:secret@broker//"'}, "names a user or password"),
    ({"lease_s": "0"}, "positive"),
    ({"colour": '"red"'}, "unknown key"),
])
def test_bad_broker_settings_say_what_is_wrong(tmp_path: Path, over: dict[str, str],
                                               says: str) -> None:
    path = tmp_path / "broker.toml"
    path.write_text(_config_text(**over))
    with pytest.raises(ConfigError, match=says):
        load_broker_config(path)


def test_missing_broker_settings_name_the_file_and_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PROVISIONER_BROKER_CONFIG"):
        load_broker_config(tmp_path / "nope.toml")


def _device(school: str, name: str, node: object = None) -> Device:
    return Device(school, name, Role.SERVER, "debian", "10.1.1.1",
                  vars={} if node is None else {"execution_node": node})


def test_a_school_names_one_node_for_all_its_hosts() -> None:
    assert node_of([_device("1", "a", "node-a"), _device("1", "b", "node-a")], "x") == "node-a"
    assert node_of([_device("1", "a")], "x") is None
    with pytest.raises(InvalidInputError):
        node_of([_device("1", "a", "node-a"), _device("1", "b")], "x")
    found = nodes_by_school([_device("1", "a"), _device("2", "b")],
                            {"a": {"execution_node": "node-a"}, "b": {}})
    assert found == {"1": "node-a", "2": None}


def test_lab_schools_are_spread_over_the_nodes_and_plugged_in_behind_them() -> None:
    assert school_nodes(["s1", "s2", "s3"], 2) == {"s1": "node1", "s2": "node2", "s3": "node1"}
    assert school_nodes(["s1"], 0) == {}
    nodes = lab_nodes(2)
    wan = wan_script(nodes)
    assert "addr add 10.214.0.1/24 dev pvwan0" in wan
    assert "netns add pvlab-n-node2" in wan
    devices = plan_lab(LabSpec(("s1", "s2"), servers=1, switches=0, aps=0, recorded_aps=0,
                               nodes=2, wlan_aps=0))
    machine, per_node = device_scripts(devices, school_nodes(["s1", "s2"], 2))
    # The device's veth end leaves this namespace for its node's: no lab bridge here.
    assert f"link set {devices[0].veth_host} netns pvlab-n-node1" in machine
    assert "master" not in machine
    assert per_node["pvlab-n-node2"] == f"link set {devices[1].veth_host} master pvlab0 up\n"


def test_poll_results_travel_whole_and_odd_ones_stay_that_device_s() -> None:
    data = SnmpData(scalars={"1.3.6.1.2.1.1.3.0": 4711, "1.3.6.1.2.1.1.5.0": "sw1"},
                    tables={"1.3.6.1.2.1.2.2.1.2": {"1": "Gi0/1"}},
                    markers={"1.3.6.1.2.1.1.4.0": Marker.NO_SUCH_OBJECT},
                    truncated={"1.3.6.1.2.1.2.2.1.2": 10})
    result = DeviceResult("sw1", data, None, "", 12.5)
    assert decode_result(encode_result(result)) == result
    stale = DeviceResult[SnmpData]("ap1", None, FailureKind.TIMEOUT, "no answer", 2000.0)
    assert decode_result(encode_result(stale)) == stale
    odd = decode_result({"device": "x", "data": {"scalars": 5}})
    assert odd.failure is FailureKind.PROTOCOL and odd.device == "x"
    with pytest.raises(ValueError):
        decode_result({"data": None})



def test_a_device_s_sample_is_stored_once_per_run(tmp_path: Path) -> None:
    from provisioner.db import Store
    from provisioner.db.health import SampleRow

    store = Store.open(tmp_path / "state.db")
    run_id = store.health.begin_run("2026-12-04T02:30:00+00:00", "anna", "all", 300)
    sample = SampleRow("sw1", "100001", "switch", "ok", "all checks passed", uptime_s=5)
    # A repeated result (a poll a node ran twice after a broker restart) comes twice.
    store.health.finish_run(run_id, finished_at="2026-12-04T02:31:00+00:00", duration_s=60,
                            samples=[sample, sample], dead_sites=[], exit_status=0,
                            retention_days=30)
    rows = [r for r in store.health.history("100001", "2026-12-01T00:00:00+00:00")
            if r.run_id == run_id]
    store.close()
    assert [r.device for r in rows] == ["sw1"]
