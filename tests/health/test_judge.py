"""From one device's poll result to its verdict: answered, failed, unparsable, config."""

from __future__ import annotations

from provisioner.health.facts import AccessPointFacts, DeviceFacts, RadioFacts, WlanFacts
from provisioner.health.judge import facts_summary, judge_answered, wlan_clients
from provisioner.health.model import HealthState
from provisioner.health.run import judge_one
from provisioner.models import Role
from provisioner.results import DeviceResult, FailureKind
from provisioner.snmp import PollRequest, SnmpData, SnmpTarget
from tests.health.factories import facts, iface, planned


class Parser:
    def __init__(self, result: DeviceFacts | Exception) -> None:
        self.result = result

    def follow_up(self, target: SnmpTarget, identity: SnmpData) -> PollRequest | None:
        return None

    def parse(self, data: SnmpData, role: Role) -> DeviceFacts:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


NOW = "2026-11-30T02:00:00+00:00"


def test_an_answer_that_breaks_the_parser_is_that_device_s_unknown() -> None:
    result = DeviceResult("sw1", SnmpData(), None, "answered", 12.5)
    health = judge_one(planned("sw1"), result, Parser(ValueError("bad row")), None, NOW)
    assert (health.state, health.failure, health.rtt_ms) == (HealthState.UNKNOWN,
                                                            FailureKind.PROTOCOL, 12.5)
    assert health.reason == "sw1: answer could not be parsed (ValueError: bad row)"


def test_a_failed_poll_keeps_its_kind_and_message() -> None:
    result: DeviceResult[SnmpData] = DeviceResult("sw1", None, FailureKind.AUTH,
                                                  "SNMPv3 credentials rejected", 3.0)
    health = judge_one(planned("sw1"), result, Parser(facts()), None, NOW)
    assert (health.state, health.failure, health.reason) == (
        HealthState.UNKNOWN, FailureKind.AUTH, "SNMPv3 credentials rejected")


def test_datagrams_the_poller_could_not_believe_make_a_warning_naming_them() -> None:
    note = "dropped 3 datagrams from its address that could not be believed (...)"
    result = DeviceResult("sw1", SnmpData(notes=[note]), None, "answered", 2.0)
    health = judge_one(planned("sw1"), result, Parser(facts(sys_name="sw1")), None, NOW)
    assert (health.state, health.failure) == (HealthState.WARNING, None)
    assert health.reasons[-1] == f"SNMP: {note}"
    clean = judge_one(planned("sw1"), DeviceResult("sw1", SnmpData(), None, "answered", 2.0),
                      Parser(facts(sys_name="sw1")), None, NOW)
    assert clean.state is HealthState.OK


def test_a_device_refused_before_polling_is_a_config_failure() -> None:
    device = planned("sw1")
    refused = device.__class__(device.device, None, "sw1: address x is outside ...")
    health = judge_one(refused, None, Parser(facts()), None, NOW)
    assert (health.state, health.failure, health.reason) == (
        HealthState.UNKNOWN, FailureKind.CONFIG, "sw1: address x is outside ...")


def test_a_device_the_inventory_says_not_to_poll_is_skipped_not_a_config_failure() -> None:
    device = planned("ap1")
    chosen = device.__class__(device.device, None, "ap1: does not answer SNMP ...", True)
    health = judge_one(chosen, None, Parser(facts()), None, NOW)
    assert (health.state, health.failure) == (HealthState.UNKNOWN, FailureKind.SKIPPED)


def test_an_answered_device_carries_uptime_clients_and_a_summary() -> None:
    wlan = WlanFacts(aps=(AccessPointFacts("1", "a", "up", 4), AccessPointFacts("2", "b", "up",
                                                                                 3)),
                     ssids=("Schueler",))
    device = planned("ap1", Role.ACCESS_POINT)
    health = judge_answered(device, facts(sys_name="ap1", uptime_s=99.7, wlan=wlan,
                                          vendor="Aruba"), 8.25, None, NOW)
    assert (health.state, health.uptime_s, health.wlan_clients, health.rtt_ms) == (
        HealthState.OK, 99, 7, 8.2)
    assert health.summary["vendor"] == "Aruba" and health.summary["ssids"] == ["Schueler"]


def test_clients_from_the_total_else_aps_else_radios() -> None:
    assert wlan_clients(facts()) is None
    assert wlan_clients(facts(wlan=WlanFacts(clients_total=9))) == 9
    radios = (RadioFacts("a", "1", "up", clients=2), RadioFacts("a", "2", "up", clients=5))
    assert wlan_clients(facts(wlan=WlanFacts(radios=radios))) == 7
    assert wlan_clients(facts(wlan=WlanFacts())) is None


def test_summary_keeps_the_error_counters_of_watched_ports_only() -> None:
    summary = facts_summary(facts(interfaces=(iface("Gi1/0/1", errors=5),
                                              iface("Gi1/0/2", errors=7))),
                            {"Gi1/0/1": ("ap1", Role.ACCESS_POINT)})
    assert summary["port_errors"] == {"Gi1/0/1": 5}
