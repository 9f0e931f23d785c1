"""The uplink tree checks, on devices built in the test (pure logic)."""

from __future__ import annotations

from provisioner.inventory.uplinks import check_uplinks
from provisioner.models import Device, Role


def dev(name: str, role: Role = Role.SWITCH, uplink: str = "") -> Device:
    return Device("100001", name, role, "cisco_ios", f"10.1.0.{len(name)}", uplink_host=uplink)


def messages(devices: list[Device], seen: set[str] | None = None) -> tuple[list[str], list[str]]:
    names = seen if seen is not None else {d.name for d in devices}
    problems, warnings = check_uplinks(devices, names, lambda d: f"F/{d.name}")
    return [str(p) for p in problems], [str(w) for w in warnings]


def test_a_tree_is_fine() -> None:
    assert messages([dev("core"), dev("sw1", uplink="core"),
                     dev("ap1", Role.ACCESS_POINT, "sw1"), dev("srv", Role.SERVER, "core")]) \
        == ([], [])


def test_a_self_uplink_is_a_cycle() -> None:
    problems, _ = messages([dev("core"), dev("sw1", uplink="sw1")])
    assert problems == ["F/sw1: uplinks form a cycle: sw1 -> sw1; the school's core switch has "
                        "no uplink, every other device names the switch it hangs off"]


def test_two_cycles_are_each_named_once() -> None:
    problems, _ = messages([dev("core"), dev("a", uplink="b"), dev("b", uplink="a"),
                            dev("c", uplink="d"), dev("d", uplink="e"), dev("e", uplink="c"),
                            dev("f", uplink="a")])
    assert [p.split(";")[0] for p in problems] == [
        "F/a: uplinks form a cycle: a -> b -> a", "F/c: uplinks form a cycle: c -> d -> e -> c"]


def test_an_uplink_to_a_server_is_a_problem() -> None:
    problems, _ = messages([dev("core"), dev("srv", Role.SERVER, "core"),
                            dev("ap", Role.ACCESS_POINT, "srv")])
    assert problems == ["F/ap: host 'ap' has uplink 'srv', which is a server, not a switch; "
                        "name the switch it hangs off"]


def test_an_uplink_to_a_host_refused_for_other_reasons_is_not_unknown() -> None:
    problems, _ = messages([dev("core"), dev("sw1", uplink="broken-sw")],
                           seen={"core", "sw1", "broken-sw"})
    assert problems == []
    problems, _ = messages([dev("core"), dev("sw1", uplink="nowhere")])
    assert problems == ["F/sw1: host 'sw1' has uplink 'nowhere', which is not a host of school "
                        "100001's inventory; name the switch it hangs off"]


def test_several_devices_without_uplink_ask_which_is_the_core() -> None:
    devices = [dev(f"sw{n}") for n in range(1, 8)]
    problems, warnings = messages(devices)
    assert problems == []
    assert warnings == ["F/sw1: 7 devices of school 100001 have no uplink (sw1, sw2, sw3, sw4, "
                        "sw5 and 2 more); only the core switch should have none: add `uplink` "
                        "to the others"]


def test_a_school_without_switches_needs_no_uplinks() -> None:
    assert messages([dev("srv1", Role.SERVER), dev("srv2", Role.SERVER)]) == ([], [])
