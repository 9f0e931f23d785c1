"""management_mac: an AP's `ip -json address show` answer, read defensively (pure logic;
test_site_playbook.py checks the reservation it makes on a lab server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provisioner.ansible_plugins.filter.device_answers import (
    FilterModule,
    management_mac,
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


def test_ansible_finds_the_filters_by_their_names() -> None:
    assert FilterModule().filters() == {"management_mac": management_mac,
                                        "unshared_macs": unshared_macs}
