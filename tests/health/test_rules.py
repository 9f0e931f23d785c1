"""The health rules, one by one, on hand-made facts (no network)."""

from __future__ import annotations

import datetime as dt

import pytest

from provisioner.health.facts import (
    AccessPointFacts,
    PoeFacts,
    ProcessCheck,
    RadioFacts,
    ServerFacts,
    StorageFacts,
    WlanFacts,
)
from provisioner.health.model import HealthState
from provisioner.health.rules import (
    UPTIME_WRAP_S,
    Previous,
    RuleInput,
    evaluate,
    find_port,
    identity,
    odd_data,
    poe,
    port_errors,
    ports,
    processes,
    radios,
    reboot,
    restart_seen,
    span,
    storage,
)
from provisioner.models import Role
from tests.health.factories import facts, iface


def item(**kwargs: object) -> RuleInput:
    base: dict[str, object] = {"device": "100001-sw01", "role": Role.SWITCH, "facts": facts()}
    base.update(kwargs)
    return RuleInput(**base)  # type: ignore[arg-type]


def states(findings: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(f.state.value, f.reason) for f in findings]


def test_reboot_when_uptime_is_lower_than_last_time() -> None:
    found = reboot(item(facts=facts(uptime_s=120.5), previous=Previous(86_400.0, 3600.0)))
    assert states(found) == [("warning", "rebooted: uptime 2 min, 1 d at the check 1 h ago")]
    # Alike in two units: both in whole seconds, so the message still compares them.
    alike = reboot(item(facts=facts(uptime_s=98_000.0), previous=Previous(99_000.0, 3600.0)))
    assert states(alike) == [
        ("warning", "rebooted: uptime 98000 s, 99000 s at the check 1 h ago")]


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (42.9, "42 s"), (342, "5 min 42 s"), (3600, "1 h"), (3660, "1 h 1 min"),
    (3605, "1 h"), (86_400, "1 d"), (90_061, "1 d 1 h"), (200_000, "2 d 7 h"), (-5, "0 s"),
])
def test_a_duration_reads_in_its_two_largest_units(seconds: float, text: str) -> None:
    assert span(seconds) == text


def test_no_reboot_when_uptime_grew_or_nothing_to_compare() -> None:
    assert reboot(item(facts=facts(uptime_s=90_000.0), previous=Previous(86_400.0, 3600.0))) == []
    assert reboot(item(facts=facts(uptime_s=10.0))) == []
    assert reboot(item(facts=facts(uptime_s=None), previous=Previous(86_400.0, 60.0))) == []


def test_a_sysuptime_wrap_is_not_a_reboot() -> None:
    before = UPTIME_WRAP_S - 100  # 100 s before the 32-bit TimeTicks wrap
    assert reboot(item(facts=facts(uptime_s=3500.0), previous=Previous(before, 3600.0))) == []


START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def polled(seconds: float) -> tuple[dt.datetime, dt.datetime]:
    """A poll that took `seconds`."""
    return START, START + dt.timedelta(seconds=seconds)


def test_a_restart_is_a_reboot_even_after_the_uptime_passed_the_previous_one() -> None:
    # Up 600 s at the check an hour ago; up 1,200 s now: it started again 20 minutes ago.
    restarted = item(facts=facts(uptime_s=1200.0), previous=Previous(600.0, 3600.0),
                     polled=polled(10))
    assert restart_seen(restarted) == "younger"
    assert states(reboot(restarted)) == [
        ("warning", "rebooted: up 20 min, less than the 1 h since the check before, so "
                    "it started again since (up 10 min then)")]


@pytest.mark.parametrize(("now", "previous", "window"), [
    (86_400 + 3600 - 300.0, Previous(86_400.0, 3600.0), 300),  # answered early in a long poll
    (86_400 + 86_400 * (1 - 5e-4), Previous(86_400.0, 86_400.0), 0),  # a tick 500 ppm slow
    (0.0, Previous(0.0, 86_400.0), 10),  # an agent that always answers 0
    (86_400 + 86_400.0, Previous(86_400.0, 86_400 + 300.0), 10),  # clock stepped 5 min on
    (1000 + 300 - 10.0, Previous(1000.0, 300.0), 2),  # polled every 5 min, a 10 s cache
    (2 * 86_400 - 7200.0, Previous(86_400.0, 86_400.0), 10),  # a VM paused 2 h
    (1000.57, Previous(1000.0, 86_400.0), 10),  # frozen; stored in whole seconds
    # The night of the wrap, the previous answer early in a 25-minute poll.
    (84_300.0, Previous(UPTIME_WRAP_S - 3600, 86_400.0), 10),
])
def test_no_reboot_where_only_the_clocks_moved(now: float, previous: Previous,
                                                window: float) -> None:
    assert reboot(item(facts=facts(uptime_s=now), previous=previous,
                       polled=polled(window))) == []


@pytest.mark.parametrize(("now", "previous", "window", "odd"), [
    (1000.57, Previous(1000.0, 3600.0), 10, True),  # frozen for an hour
    (0.0, Previous(0.0, 86_400.0), 10, True),  # an agent that always answers 0
    (1000.0, Previous(1000.0, 120.0), 10, False),  # two minutes: a cache may do that
    (1000.0, Previous(1000.0, 400.0), 200, False),  # the poll's own window eats it
    (1000.0, Previous(1000.0, -3600.0), 10, False),  # stored while the clock was ahead
    (4600.0, Previous(1000.0, 3600.0), 10, False),  # it moved
])
def test_a_sysuptime_that_stands_still_is_odd_data_not_a_reboot(
        now: float, previous: Previous, window: float, odd: bool) -> None:
    checked = item(facts=facts(uptime_s=now), previous=previous, polled=polled(window))
    found = states(odd_data(checked))
    assert reboot(checked) == []
    if odd:
        assert found == [("warning", f"odd data: sysUpTime stands still at {int(now)} s, as "
                          f"at the check {span(previous.age_s)} ago (the agent's clock is "
                          "stuck, or its answers are replayed)")]
    else:
        assert found == []


def test_a_previous_sample_from_the_future_is_not_weighed() -> None:
    # The controller's clock was days ahead when the previous sample was stored: until
    # the clock passes it again, that sample would report the same restart every night.
    assert reboot(item(facts=facts(uptime_s=43_200.0),
                       previous=Previous(8_640_000.0, -518_400.0), polled=polled(10))) == []


def test_a_restart_shortly_before_the_wrap_is_still_one() -> None:
    # Up 496.6 days a day ago; up 13 h now: a wrap would show at most about 12 h.
    previous = Previous(496.6 * 86_400, 86_400.0)
    assert restart_seen(item(facts=facts(uptime_s=13 * 3600.0), previous=previous,
                             polled=polled(10))) == "lower"
    # ... while 11 h fits the wrap.
    assert restart_seen(item(facts=facts(uptime_s=11 * 3600.0), previous=previous,
                             polled=polled(10))) is None


def test_sysname_mismatch_ignores_case_and_domain() -> None:
    assert identity(item(facts=facts(sys_name="100001-SW01.schule.local"),
                         expected_name="100001-sw01")) == []
    found = identity(item(facts=facts(sys_name="switch-17"), expected_name="100001-sw01"))
    assert states(found) == [("warning", "sysName is 'switch-17', inventory says '100001-sw01'")]


def test_syslocation_is_checked_only_when_the_inventory_names_one() -> None:
    assert identity(item(facts=facts(sys_location="Keller"))) == []
    found = identity(item(facts=facts(sys_location="Keller"), expected_location="Raum 104"))
    assert states(found) == [("warning", "sysLocation is 'Keller', inventory says 'Raum 104'")]


def test_port_names_match_their_abbreviations() -> None:
    table = (iface("GigabitEthernet1/0/5"), iface("GigabitEthernet1/0/15"), iface("Vlan1"))
    assert find_port(table, "Gi1/0/5") is table[0]
    assert find_port(table, "gigabitethernet1/0/15") is table[1]
    assert find_port(table, "Gi1/0/7") is None
    assert find_port(table, "Te1/0/5") is None


def test_uplink_down_is_critical_ap_port_down_a_warning() -> None:
    table = (iface("Gi1/0/1", oper="down"), iface("Gi1/0/5", oper="down"), iface("Gi1/0/6"))
    watched = {"Gi1/0/1": ("100001-sw02", Role.SWITCH), "Gi1/0/5": ("100001-ap01",
                                                                     Role.ACCESS_POINT),
               "Gi1/0/6": ("100001-ap02", Role.ACCESS_POINT)}
    found = ports(item(facts=facts(interfaces=table), ports=watched))
    assert states(found) == [("critical", "port Gi1/0/1 to 100001-sw02 is down"),
                             ("warning", "port Gi1/0/5 to 100001-ap01 is down")]


def test_missing_and_disabled_ports_are_reported() -> None:
    table = (iface("Gi1/0/2", admin="down", oper="down"),)
    watched = {"Gi1/0/2": ("100001-ap03", Role.ACCESS_POINT),
               "Gi1/0/9": ("100001-ap04", Role.ACCESS_POINT)}
    found = ports(item(facts=facts(interfaces=table), ports=watched))
    assert states(found) == [
        ("warning", "port Gi1/0/2 to 100001-ap03 is administratively down"),
        ("warning", "1 port(s) not in the ifTable: Gi1/0/9 (to 100001-ap04)"),
    ]


def test_rising_error_counters_warn_then_turn_critical() -> None:
    watched = {"Gi1/0/1": ("100001-sw02", Role.SWITCH), "Gi1/0/2": ("100001-ap01",
                                                                     Role.ACCESS_POINT)}
    table = (iface("Gi1/0/1", errors=1500), iface("Gi1/0/2", errors=12))
    before = Previous(100.0, 3600.0, {"Gi1/0/1": 100, "Gi1/0/2": 10})
    found = port_errors(item(facts=facts(interfaces=table), ports=watched, previous=before))
    assert states(found) == [
        ("critical", "port Gi1/0/1 to 100001-sw02: 1400 new errors since the last run"),
        ("warning", "port Gi1/0/2 to 100001-ap01: 2 new errors since the last run"),
    ]


def test_error_counters_lower_than_before_are_a_reset_not_a_rise() -> None:
    watched = {"Gi1/0/1": ("100001-sw02", Role.SWITCH)}
    before = Previous(100.0, 3600.0, {"Gi1/0/1": 5000})
    table = (iface("Gi1/0/1", errors=3),)
    assert port_errors(item(facts=facts(interfaces=table), ports=watched, previous=before)) == []


def test_poe_budget_and_faulty_pse() -> None:
    found = poe(item(facts=facts(poe=(PoeFacts(1, 370, "on", 350), PoeFacts(2, 370, "on", 100),
                                      PoeFacts(3, 740, "faulty", 0)))))
    assert states(found) == [("warning", "PoE group 1 uses 95 % of its 370 W budget"),
                             ("critical", "PoE group 3 is faulty")]


def test_storage_thresholds_on_disks_only() -> None:
    gib = 2**30
    server = ServerFacts(storage=(
        StorageFacts(1, "Physical memory", "ram", 8 * gib, 8 * gib),
        StorageFacts(31, "/", "fixedDisk", 100 * gib, 91 * gib),
        StorageFacts(32, "/srv", "fixedDisk", 100 * gib, 97 * gib),
        StorageFacts(33, "/boot", "fixedDisk", 100 * gib, 50 * gib),
        StorageFacts(34, "/mnt/odd", "fixedDisk", 0, 0),
    ))
    found = storage(item(role=Role.SERVER, facts=facts(server=server)))
    assert states(found) == [("warning", "/ is 91 % full"), ("critical", "/srv is 97 % full")]


def test_a_failing_proc_check_is_critical() -> None:
    server = ServerFacts(processes=(ProcessCheck("sshd", 1, 1, 0),
                                    ProcessCheck("iserv-web", 0, 1, 0, True,
                                                 "No iserv-web process running")))
    found = processes(item(role=Role.SERVER, facts=facts(server=server)))
    assert states(found) == [("critical", "service iserv-web not running as configured "
                                          "(No iserv-web process running)")]


def test_radio_down_is_critical_and_an_ap_down_a_warning() -> None:
    wlan = WlanFacts(aps=(AccessPointFacts("1", "ap-r104", "down"),
                          AccessPointFacts("2", "ap-r105", "up", 7)),
                     radios=(RadioFacts("ap-r105", "1", "down"), RadioFacts("ap-r105", "2", "up")))
    found = radios(item(role=Role.ACCESS_POINT, facts=facts(wlan=wlan)))
    assert states(found) == [("critical", "1 radio(s) down: 1 of ap-r105"),
                             ("warning", "1 of 2 APs down (as the controller reports): ap-r104")]


def test_many_aps_down_are_one_finding_naming_the_first() -> None:
    wlan = WlanFacts(aps=tuple(AccessPointFacts(str(n), f"ap{n}", "down") for n in range(5)))
    found = radios(item(role=Role.ACCESS_POINT, facts=facts(wlan=wlan)))
    assert states(found) == [("warning", "5 of 5 APs down (as the controller reports): "
                                         "ap0, ap1, ap2 and 2 more")]


def test_odd_data_is_named_and_capped() -> None:
    odd = tuple(f"1.3.6.1.2.1.2.2.1.{n}.1: not a number" for n in range(5))
    found = odd_data(item(facts=facts(anomalies=odd)))
    assert [f.reason for f in found] == [f"odd data: {odd[0]}", f"odd data: {odd[1]}",
                                         f"odd data: {odd[2]}", "odd data: 2 more"]
    assert {f.state for f in found} == {HealthState.WARNING}


def test_evaluate_orders_the_worst_first_and_is_empty_when_all_is_well() -> None:
    assert evaluate(item(facts=facts(sys_name="100001-sw01"), expected_name="100001-sw01")) == []
    server = ServerFacts(processes=(ProcessCheck("cron", 0, 1, 0, True),))
    found = evaluate(item(facts=facts(sys_name="x", server=server), expected_name="y"))
    assert [f.state for f in found] == [HealthState.CRITICAL, HealthState.WARNING]
