"""Dependency logic: core down, whole site down, one AP down, chains, cycles."""

from __future__ import annotations

from provisioner.health.dependency import Node, analyse
from provisioner.health.judge import apply_dependencies, school_health
from provisioner.health.model import HealthState
from provisioner.models import Role
from provisioner.results import FailureKind
from tests.health.factories import health

T = FailureKind.TIMEOUT


def school(failures: dict[str, FailureKind | None], school_id: str = "100001") -> list[Node]:
    """core -> dist -> ap1, ap2; core -> srv; failures per short name."""
    layout = {"core": ("", Role.SWITCH), "dist": ("core", Role.SWITCH),
              "ap1": ("dist", Role.ACCESS_POINT), "ap2": ("dist", Role.ACCESS_POINT),
              "srv": ("core", Role.SERVER)}
    return [Node(f"{school_id}-{n}", school_id, role,
                 f"{school_id}-{up}" if up else "", failures.get(n))
            for n, (up, role) in layout.items()]


def test_one_ap_down_is_just_that_ap() -> None:
    deps = analyse(school({"ap1": T}))
    assert deps.upstream == {}
    assert deps.dead_sites == {}


def test_a_distribution_switch_down_takes_its_aps_upstream() -> None:
    deps = analyse(school({"dist": T, "ap1": T, "ap2": T}))
    assert deps.upstream == {"100001-ap1": "100001-dist", "100001-ap2": "100001-dist"}
    assert deps.dead_sites == {}


def test_an_ap_behind_a_switch_that_answers_is_not_upstream() -> None:
    deps = analyse(school({"ap1": T, "ap2": FailureKind.UNREACHABLE}))
    assert deps.upstream == {}


def test_core_down_is_a_dead_site_with_everything_behind_it_upstream() -> None:
    deps = analyse(school({n: T for n in ("core", "dist", "ap1", "ap2", "srv")}))
    assert deps.upstream == {f"100001-{n}": "100001-core" for n in ("dist", "ap1", "ap2", "srv")}
    assert deps.dead_sites == {
        "100001": "core switch 100001-core does not answer; 4 device(s) behind it "
                  "unreachable (upstream)"}


def test_whole_site_silent_without_a_core_is_a_dead_site() -> None:
    nodes = [Node(f"100002-ap{n}", "100002", Role.ACCESS_POINT, "", T) for n in range(3)]
    deps = analyse(nodes)
    assert deps.dead_sites == {"100002": "none of its 3 device(s) answers"}
    assert set(deps.upstream) == {n.name for n in nodes}


def test_a_wrong_passphrase_is_an_answer_so_the_path_works() -> None:
    deps = analyse(school({"dist": FailureKind.AUTH, "ap1": T}))
    assert deps.upstream == {}
    assert deps.dead_sites == {}


def test_config_failures_do_not_make_a_dead_site() -> None:
    nodes = [Node("100003-sw1", "100003", Role.SWITCH, "", FailureKind.CONFIG)]
    assert analyse(nodes).dead_sites == {}


def test_uplink_cycles_end() -> None:
    nodes = [Node("a", "100004", Role.SWITCH, "b", T), Node("b", "100004", Role.SWITCH, "a", T),
             Node("c", "100004", Role.SWITCH, "", None)]
    deps = analyse(nodes)
    assert deps.upstream == {"a": "b", "b": "a"}
    assert deps.dead_sites == {}


def test_only_whole_schools_can_be_dead() -> None:
    nodes = school({"core": T})
    assert analyse(nodes, whole_schools=set()).dead_sites == {}
    assert "100001" in analyse(nodes, whole_schools={"100001"}).dead_sites


def test_upstream_devices_become_unreachable_upstream_and_the_school_critical() -> None:
    devices = [health("100001-core", HealthState.UNREACHABLE, failure=T),
               health("100001-ap1", HealthState.UNREACHABLE, failure=T, uplink="100001-core",
                      role=Role.ACCESS_POINT)]
    judged, deps = apply_dependencies(devices, None)
    ap = judged[1]
    assert (ap.state, ap.failure, ap.reason) == (
        HealthState.UNREACHABLE, FailureKind.UPSTREAM,
        "unreachable (upstream): 100001-core does not answer")
    summary = school_health("100001", judged, deps.dead_sites["100001"], {Role.ACCESS_POINT: 3})
    assert summary.state is HealthState.CRITICAL
    assert summary.line() == ("100001 DEAD SITE: core switch 100001-core does not answer; "
                              "1 device(s) behind it unreachable (upstream)")


def test_school_counts_against_inventory_and_plan() -> None:
    devices = [health("s1", HealthState.OK), health("a1", HealthState.OK, role=Role.ACCESS_POINT,
                                                    clients=7),
               health("a2", HealthState.WARNING, role=Role.ACCESS_POINT, clients=5),
               health("a3", HealthState.UNREACHABLE, role=Role.ACCESS_POINT, failure=T)]
    summary = school_health("100001", devices, "", {Role.ACCESS_POINT: 5})
    assert summary.line() == ("100001 unreachable: switches 1/1 online, 1 ok, "
                              "APs 2/3 online, 1 ok (plan 5), WLAN clients 12")
    assert summary.states["unreachable"] == 1
