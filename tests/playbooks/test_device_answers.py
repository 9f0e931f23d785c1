"""The APs' DHCP reservations: an AP's `ip -json address show` answer and the server's
dnsmasq file, read defensively (pure logic; test_site_playbook.py checks the
reservations they make on a lab server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provisioner.ansible_plugins.filter.device_answers import (
    FilterModule,
    ap_macs,
    held_reservations,
    inventory_mac_problem,
    management_mac,
    reservation_gaps,
    unshared_macs,
)

MANAGEMENT = "10.213.1.12"


def link(name: str, mac: Any, *addresses: str) -> dict[str, Any]:
    return {"ifindex": 2, "ifname": name, "flags": ["BROADCAST", "UP"], "address": mac,
            "broadcast": "ff:ff:ff:ff:ff:ff",
            "addr_info": [{"family": "inet6" if ":" in a else "inet", "local": a,
                           "prefixlen": 16} for a in addresses]}


def answer(*links: dict[str, Any]) -> str:
    return json.dumps([link("lo", "00:00:00:00:00:00", "127.0.0.1"), *links])


def test_the_link_that_carries_the_management_address() -> None:
    text = answer(link("eth0", "02:FC:00:00:01:0C", MANAGEMENT),
                  link("br20", "02:fc:00:00:99:99", "10.1.20.1"))
    assert management_mac(text, MANAGEMENT) == "02:fc:00:00:01:0c"


def test_an_ipv6_management_address() -> None:
    text = answer(link("eth0", "02:fc:00:00:01:0c", "fd00::12"))
    assert management_mac(text, "fd00:0::12") == "02:fc:00:00:01:0c"


@pytest.mark.parametrize("text", [
    "",
    "not json",
    "{\"ifname\": \"eth0\"}",
    "[1, 2, 3]",
    json.dumps([{"address": "02:fc:00:00:01:0c", "addr_info": "10.213.1.12"}]),
    json.dumps([{"address": "02:fc:00:00:01:0c", "addr_info": [{"local": 12}]}]),
    answer(link("eth0", "02:fc:00:00:01:0c", "10.213.1.13")),
])
def test_no_mac_from_an_answer_without_the_management_address(text: str) -> None:
    assert management_mac(text, MANAGEMENT) == ""


@pytest.mark.parametrize("mac", [
    "02:fc:00:00:01:0c\ndhcp-range=10.0.0.1,10.0.0.9",  # a forged line for dnsmasq's file
    "02:fc:00:00:01:0c\n",  # a trailing line break: `$` alone would let it through
    " 02:fc:00:00:01:0c",
    "03:fc:00:00:01:0c",  # multicast
    "00:00:00:00:00:00",
    "02:fc:00:00:01",
    "02-fc-00-00-01-0c",
    None,
    ["02:fc:00:00:01:0c"],
])
def test_a_malformed_or_forged_mac_is_not_taken(mac: Any) -> None:
    assert management_mac(answer(link("eth0", mac, MANAGEMENT)), MANAGEMENT) == ""


def test_two_links_that_claim_the_address_give_no_mac() -> None:
    text = answer(link("eth0", "02:fc:00:00:01:0c", MANAGEMENT),
                  link("eth1", "02:fc:00:00:01:0d", MANAGEMENT))
    assert management_mac(text, MANAGEMENT) == ""


NESTED = "[" * 100_000 + "]" * 100_000  # nested past Python's recursion limit


@pytest.mark.parametrize("value", [None, 12, b"[]", "x" * 1_000_001, NESTED])
def test_what_is_not_an_answer_gives_no_mac(value: Any) -> None:
    assert management_mac(value, MANAGEMENT) == ""


def test_a_management_address_that_is_no_address_gives_no_mac() -> None:
    assert management_mac(answer(link("eth0", "02:fc:00:00:01:0c", MANAGEMENT)), "ap01.lan") == ""


def test_a_mac_two_aps_claim_reserves_neither() -> None:
    macs = {"ap01": "02:fc:00:00:01:0c", "ap02": "02:FC:00:00:01:0C", "ap03": "02:fc:00:00:01:0d"}
    assert unshared_macs(macs) == {"ap03": "02:fc:00:00:01:0d"}


@pytest.mark.parametrize("value", [None, "ap01=02:fc:00:00:01:0c", ["02:fc:00:00:01:0c"]])
def test_what_is_no_mapping_reserves_nothing(value: Any) -> None:
    assert unshared_macs(value) == {}


HELD = """# school 100001
dhcp-range=set:v20,10.1.20.10,10.1.20.250,12h
dhcp-host=02:fc:00:00:01:0c,100001-ap01,10.213.1.12
dhcp-host=02:FC:00:00:01:0D,100001-ap02,10.213.1.13
dhcp-host=01:00:5e:00:00:01,100001-ap03,10.213.1.14
dhcp-host=02:fc:00:00:01:0f,100001-ap04,10.213.1.15,extra
 dhcp-host=02:fc:00:00:01:10,100001-ap05,10.213.1.16
dhcp-host=02:fc:00:00:01:11
,100001-ap06,10.213.1.17
"""


def test_the_reservations_a_server_holds() -> None:
    # Multicast and broken lines are not taken; case is folded as management_mac folds it.
    assert held_reservations(HELD) == {
        "100001-ap01": "02:fc:00:00:01:0c", "100001-ap02": "02:fc:00:00:01:0d",
        "100001-ap04": "02:fc:00:00:01:0f", "100001-ap05": "02:fc:00:00:01:10"}


@pytest.mark.parametrize("value", [None, b"dhcp-host=02:fc:00:00:01:0c,ap01,1.2.3.4", 42,
                                   "x" * 1_000_001])
def test_what_is_no_file_holds_nothing(value: Any) -> None:
    assert held_reservations(value) == {}


def hostvars() -> dict[str, Any]:
    return {
        # The inventory's `mac` comes first, whatever the AP answers.
        "100001-ap01": {"mac": "02:aa:00:00:00:01", "ansible_host": MANAGEMENT,
                        "ap_addresses": {"stdout": answer(link("eth0", "02:fc:00:00:09:01",
                                                               MANAGEMENT))}},
        # Its answer, else what the server holds.
        "100001-ap02": {"ansible_host": "10.213.1.13",
                        "ap_addresses": {"stdout": answer(link("eth0", "02:fc:00:00:09:02",
                                                               "10.213.1.13"))}},
        # A forged answer: the reservation held is kept.
        "100001-ap04": {"ansible_host": "10.213.1.15",
                        "ap_addresses": {"stdout": answer(link("eth0", "02:fc:00:00:09:04\n",
                                                               "10.213.1.15"))}},
        # Not read (left out of the run), nothing held: no MAC.
        "100001-ap07": {"ansible_host": "10.213.1.18"},
        # An answer that is no mapping at all.
        "100001-ap08": {"ansible_host": "10.213.1.19", "ap_addresses": "garbage"},
    }


def test_each_aps_mac_from_inventory_answer_or_what_is_held() -> None:
    aps = ["100001-ap01", "100001-ap02", "100001-ap04", "100001-ap05", "100001-ap07",
           "100001-ap08", "100001-ap09"]
    assert ap_macs(aps, hostvars(), HELD) == {
        "100001-ap01": "02:aa:00:00:00:01", "100001-ap02": "02:fc:00:00:09:02",
        "100001-ap04": "02:fc:00:00:01:0f", "100001-ap05": "02:fc:00:00:01:10"}


@pytest.mark.parametrize(("aps", "variables"), [(None, {}), ("100001-ap01", {}),
                                                (["100001-ap01"], None),
                                                (["100001-ap01"], {"100001-ap01": "x"})])
def test_what_is_not_there_gives_no_mac(aps: Any, variables: Any) -> None:
    assert ap_macs(aps, variables, "") == {}


def test_why_an_ap_gets_no_reservation() -> None:
    collected = {"ap01": "02:fc:00:00:01:0c", "ap02": "02:fc:00:00:01:0c",
                 "ap03": "02:fc:00:00:01:0d"}
    assert reservation_gaps(["ap01", "ap02", "ap03", "ap04"], collected) == [
        "no DHCP reservation for ap01: its MAC 02:fc:00:00:01:0c is claimed by ap02 too; "
        "set the right one as its `mac` host var",
        "no DHCP reservation for ap02: its MAC 02:fc:00:00:01:0c is claimed by ap01 too; "
        "set the right one as its `mac` host var",
        "no DHCP reservation for ap04: no `mac` host var, none read from the device and "
        "none held"]
    assert reservation_gaps(["ap03"], collected) == []
    assert reservation_gaps(None, collected) == []


@pytest.mark.parametrize("variables", [{"managed": False}, {"managed": "no"}])
def test_an_ap_managed_elsewhere_is_no_news_without_a_mac(variables: Any) -> None:
    # Managed elsewhere: its addressing is whoever manages it's business, so having no
    # MAC is said of it on no run; a claimed MAC still is. An AP behind a WLAN
    # controller is the tool's: it needs its `mac` in the inventory, and is told so.
    claimed = {"ap01": "02:fc:00:00:01:0c", "ap02": "02:fc:00:00:01:0c"}
    assert reservation_gaps(["ap05"], {}, {"ap05": variables}) == []
    assert len(reservation_gaps(["ap05"], {}, {"ap05": {"controller": "100001-vc01"}})) == 1
    assert reservation_gaps(["ap05"], {}, {"ap05": {"managed": True}}) == [
        "no DHCP reservation for ap05: no `mac` host var, none read from the device and "
        "none held"]
    assert len(reservation_gaps(["ap01", "ap02"], claimed,
                                {"ap01": variables, "ap02": variables})) == 2


def test_the_ap_the_server_holds_a_claimed_mac_for_keeps_it() -> None:
    # ap02 answers with ap01's MAC: ap01 keeps the reservation the server holds, ap02
    # keeps the one the server holds for it; with nothing held, neither gets one.
    claimed = {"100001-ap01": "02:fc:00:00:01:0c", "100001-ap02": "02:fc:00:00:01:0c"}
    assert unshared_macs(claimed, HELD) == {"100001-ap01": "02:fc:00:00:01:0c",
                                            "100001-ap02": "02:fc:00:00:01:0d"}
    assert unshared_macs(claimed, "") == {}
    assert reservation_gaps(["100001-ap01", "100001-ap02"], claimed, {}, HELD) == [
        "100001-ap02: its MAC 02:fc:00:00:01:0c is claimed by 100001-ap01 too; "
        "set the right one as its `mac` host var; the reservation this server holds "
        "(02:fc:00:00:01:0d) is kept"]


def test_a_mac_the_inventory_gives_two_aps_keeps_what_each_held() -> None:
    # Neither holds the shared MAC: each keeps its own held reservation, unless another
    # AP has that MAC now.
    shared = {"100001-ap04": "02:aa:00:00:00:01", "100001-ap05": "02:aa:00:00:00:01",
              "100001-ap07": "02:fc:00:00:01:10"}
    assert unshared_macs(shared, HELD) == {"100001-ap04": "02:fc:00:00:01:0f",
                                           "100001-ap07": "02:fc:00:00:01:10"}


@pytest.mark.parametrize(("mac", "problem"), [
    (41135085296, "is the number 41135085296, not text; quote the MAC"),
    (True, "is the boolean True, not text"),
    ("02:fc:00:00:01", "'02:fc:00:00:01' is not a unicast MAC address"),
    ("01:00:5e:00:00:01", "is not a unicast MAC address"),
    ("02:fc:00:00:01:0c\ndhcp-host=02:fc:00:00:09:09,x,1.2.3.4",
     "is not a unicast MAC address"),
])
def test_an_unusable_inventory_mac_keeps_only_what_is_held(mac: Any, problem: str) -> None:
    # Not the AP's answer instead: the inventory's word is not replaced by a device's.
    variables = {"100001-ap01": {**hostvars()["100001-ap01"], "mac": mac},
                 "100001-ap09": {**hostvars()["100001-ap02"], "mac": mac}}
    collected = ap_macs(["100001-ap01", "100001-ap09"], variables, HELD)
    assert collected == {"100001-ap01": "02:fc:00:00:01:0c"}
    assert problem in inventory_mac_problem(mac)
    gaps = reservation_gaps(["100001-ap01", "100001-ap09"], collected, variables, HELD)
    assert gaps[0].startswith("100001-ap01: its inventory `mac`")
    assert gaps[0].endswith("; the reservation this server holds is kept")
    assert gaps[1].startswith("no DHCP reservation for 100001-ap09: its inventory `mac`")
    assert all(problem in gap for gap in gaps)


def test_an_inventory_mac_is_taken_in_lower_case() -> None:
    variables = {"100001-ap01": {"mac": "02:AA:00:00:00:01"}}
    assert ap_macs(["100001-ap01"], variables, "") == {"100001-ap01": "02:aa:00:00:00:01"}
    assert inventory_mac_problem("02:AA:00:00:00:01") == ""
    assert reservation_gaps(["100001-ap01"], {"100001-ap01": "02:aa:00:00:00:01"},
                            variables) == []


def test_ansible_finds_the_filters_by_their_names() -> None:
    assert FilterModule().filters() == {"management_mac": management_mac,
                                        "unshared_macs": unshared_macs,
                                        "held_reservations": held_reservations,
                                        "ap_macs": ap_macs,
                                        "reservation_gaps": reservation_gaps,
                                        "inventory_mac_problem": inventory_mac_problem}
