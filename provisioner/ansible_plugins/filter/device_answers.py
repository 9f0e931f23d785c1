"""Jinja filters `management_mac` and `unshared_macs`: APs' MACs from what they answered.

The site playbook reads `ip -json address show` on each AP (one task per AP) and the
servers' role writes the MAC into dnsmasq's configuration as a DHCP reservation. The
answer is a device's, so it is untrusted: this filter never raises on it (one AP's
broken or forged answer must not fail a server's task) and returns a MAC only when it
is a well-formed unicast Ethernet address of the interface that carries the AP's
management address; anything else gives "" (no reservation read from the device).
`unshared_macs` then leaves out every AP whose MAC another AP has too: one AP cannot
take over another's reservation by answering with its MAC.

Format followed: iproute2's JSON output of `ip -json address show` (iproute2 6.1,
Debian bookworm): a list of links, each with `ifname`, `address` (link-layer) and
`addr_info` (a list of {`family`, `local`, `prefixlen`, ...}).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

# Six lower-case hex pairs; the multicast bit (lowest bit of the first octet) clear.
UNICAST_MAC = re.compile(r"^[0-9a-f][02468ace](?::[0-9a-f]{2}){5}$")
MAX_ANSWER_CHARS = 1_000_000


def management_mac(answer: object, management_address: object) -> str:
    """The MAC of the link that carries `management_address`, or "".

    Args:
        answer: the stdout of `ip -json address show` (str), as the AP gave it; anything
            else (undefined, not JSON, the wrong shape) gives "".
        management_address: the AP's `ansible_host` (an IPv4 or IPv6 address).

    Returns:
        "aa:bb:cc:dd:ee:ff" (lower case) or "" when no single well-formed unicast MAC
        belongs to that address.
    """
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
        return ""
    try:
        wanted = ipaddress.ip_address(str(management_address))
        links = json.loads(answer)
    # JSONDecodeError is a ValueError; deeply nested arrays exhaust the recursion limit.
    except (ValueError, RecursionError):
        return ""
    if not isinstance(links, list):
        return ""
    macs = {mac for link in links if (mac := _mac_of(link, wanted))}
    # Two links that claim the same address: the answer cannot say which one is right.
    return macs.pop() if len(macs) == 1 else ""


def _mac_of(link: Any, wanted: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The link's MAC when it carries `wanted` and the MAC is well formed, else ""."""
    if not isinstance(link, dict):
        return ""
    addresses = link.get("addr_info")
    if not isinstance(addresses, list) or not any(_is(entry, wanted) for entry in addresses):
        return ""
    mac = link.get("address")
    if not isinstance(mac, str):
        return ""
    mac = mac.lower()
    # fullmatch: `$` of match() would let a trailing line break through into dnsmasq's file.
    return mac if UNICAST_MAC.fullmatch(mac) and mac != "00:00:00:00:00:00" else ""


def _is(entry: Any, wanted: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether one addr_info entry is `wanted`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("local"), str):
        return False
    try:
        return ipaddress.ip_address(entry["local"]) == wanted
    except ValueError:
        return False


def unshared_macs(reservations: object) -> dict[str, str]:
    """The reservations without any MAC that more than one AP has.

    Args:
        reservations: {AP name: MAC} as the servers' role collected them (inventory
            `mac`, read from the AP, or held already); anything else gives {}.

    Returns:
        The same mapping without every AP whose MAC (case aside) another AP has too.
    """
    if not isinstance(reservations, dict):
        return {}
    owners: dict[str, int] = {}
    for mac in reservations.values():
        owners[str(mac).lower()] = owners.get(str(mac).lower(), 0) + 1
    return {str(ap): str(mac) for ap, mac in reservations.items() if owners[str(mac).lower()] == 1}


class FilterModule:
    """Ansible's filter plugin entry point."""

    def filters(self) -> dict[str, Callable[..., object]]:
        return {"management_mac": management_mac, "unshared_macs": unshared_macs}
