"""How the progress names a slice of a wave: only the roles it holds, counted."""

from __future__ import annotations

from provisioner.models import Device, HostRun, Role
from provisioner.outcome import Counts, HostStatus
from provisioner.provision.engine import would_change
from provisioner.provision.options import slice_title


def devices(*counts: tuple[Role, int]) -> list[Device]:
    return [Device("100001", f"100001-{role.value}{n}", role, "debian", f"10.213.1.{n}")
            for role, count in counts for n in range(count)]


def instant_aps(count: int) -> list[Device]:
    return [Device("100001", f"100001-iap{n}", Role.ACCESS_POINT, "aruba_instant",
                   f"10.213.1.{50 + n}", vars={"controller": "100001-vc01"})
            for n in range(count)]


def test_a_slice_names_only_the_roles_it_holds() -> None:
    # A school without servers: its APs' slice does not speak of servers.
    assert slice_title(devices((Role.ACCESS_POINT, 12))) == "12 APs"
    assert slice_title(devices((Role.ACCESS_POINT, 3), (Role.SERVER, 1))) == "1 server and 3 APs"
    assert slice_title(devices((Role.SWITCH, 1), (Role.WLAN_CONTROLLER, 2))) == \
        "1 switch and 2 WLAN controllers"
    assert slice_title(devices((Role.SERVER, 2), (Role.ACCESS_POINT, 1), (Role.SWITCH, 4))) == \
        "2 servers, 1 AP and 4 switches"


def test_aps_through_their_controller_are_counted_apart_from_the_aps_played_on() -> None:
    # The lab's school: 8 Linux APs are played on; 4 Instant APs get their SSIDs from
    # the controller, so "12 APs" would promise plays that never connect to them.
    assert slice_title(devices((Role.SERVER, 4), (Role.ACCESS_POINT, 8))) == \
        "4 servers and 8 APs"
    assert slice_title([*devices((Role.SWITCH, 6), (Role.WLAN_CONTROLLER, 1)),
                        *instant_aps(4)]) == \
        "6 switches, 1 WLAN controller and 4 APs through their WLAN controller"
    assert slice_title(instant_aps(1)) == "1 AP through its WLAN controller"


def test_a_check_run_says_what_would_change_and_that_nothing_did() -> None:
    hosts = [HostRun(f"100001-sw0{n}", "switch", HostStatus.CHECKED,
                     counts=Counts(ok=5, changed=n % 2)) for n in range(1, 4)]
    assert would_change(hosts) == ("; 2 would change (100001-sw01, 100001-sw03), nothing "
                                   "was changed")
    assert would_change(hosts, named=1) == ("; 2 would change (100001-sw01 and 1 more), "
                                            "nothing was changed")
    assert would_change(hosts[1:2]) == "; none would change"
