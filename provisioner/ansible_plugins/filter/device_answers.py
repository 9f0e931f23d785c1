"""Jinja filters for the APs' DHCP reservations: their MACs from what they answered.

The site playbook reads `ip -json address show` on each AP (one task per AP) and the
servers' role writes the MAC into dnsmasq's configuration as a DHCP reservation. The
answer is a device's, so it is untrusted: this filter never raises on it (one AP's
broken or forged answer must not fail a server's task) and returns a MAC only when it
is a well-formed unicast Ethernet address of the interface that carries the AP's
management address; anything else gives "" (no reservation read from the device).
`unshared_macs` then leaves out every AP whose MAC another AP has too: one AP cannot
take over another's reservation by answering with its MAC.

`ap_macs` collects every AP's MAC in one call (the inventory's `mac`, else what the
AP answered, else the reservation the server holds, read by `held_reservations` from
its dnsmasq file), and `reservation_gaps` says which APs get no reservation and why:
one templating per server, where a task looping over the APs re-read the server's
file for each AP (APs × servers loop items, each a templating in a forked worker).

Format followed: iproute2's JSON output of `ip -json address show` (iproute2 6.1,
Debian bookworm): a list of links, each with `ifname`, `address` (link-layer) and
`addr_info` (a list of {`family`, `local`, `prefixlen`, ...}).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
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
    return mac if _unicast(mac) else ""


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


# A reservation line as the role's template writes it: dhcp-host=MAC,NAME,ADDRESS.
HELD_LINE = re.compile(r"dhcp-host=([^,\s]+),([^,\s]+),[^\n]*")


def held_reservations(conf: object) -> dict[str, str]:
    """{AP name: MAC} of the reservations in a dnsmasq file the server holds.

    Args:
        conf: the file's text (str), as read from the server; anything else gives {}.

    Returns:
        One entry per `dhcp-host=MAC,NAME,ADDRESS` line whose MAC is a well-formed
        unicast MAC (lower case); other lines are ignored. A name on two lines keeps
        the last, as dnsmasq would read it.
    """
    if not isinstance(conf, str) or len(conf) > MAX_ANSWER_CHARS:
        return {}
    held: dict[str, str] = {}
    for line in conf.splitlines():
        found = HELD_LINE.fullmatch(line.strip())
        if found and _unicast(found.group(1).lower()):
            held[found.group(2)] = found.group(1).lower()
    return held


def ap_macs(aps: object, hostvars: object, held_conf: object) -> dict[str, str]:
    """{AP name: MAC} for every AP with a MAC to reserve.

    Args:
        aps: the AP names (the inventory's `access_points` group).
        hostvars: Ansible's `hostvars`; per AP its `mac` (inventory), `ap_addresses`
            (the registered answer of `ip -json address show`) and `ansible_host`.
        held_conf: the server's dnsmasq file as it is (text; "" when there is none).

    Returns:
        Per AP, the first that is set: its inventory `mac` (as written there), the MAC
        its answer gives for `ansible_host` (`management_mac`), the MAC the server
        holds for it (`held_reservations`). APs with none are left out.
    """
    if not isinstance(aps, list | tuple):
        return {}
    held = held_reservations(held_conf)
    collected: dict[str, str] = {}
    for ap in aps:
        name = str(ap)
        host = _vars_of(hostvars, name)
        answer = host.get("ap_addresses")
        stdout = answer.get("stdout") if isinstance(answer, Mapping) else None
        mac = (str(host.get("mac") or "")
               or management_mac(stdout, host.get("ansible_host") or "")
               or held.get(name, ""))
        if mac:
            collected[name] = mac
    return collected


def _vars_of(hostvars: object, name: str) -> Mapping[str, Any]:
    """One host's variables from `hostvars`, or {} when it has none."""
    if not isinstance(hostvars, Mapping) or name not in hostvars:
        return {}
    host = hostvars[name]
    return host if isinstance(host, Mapping) else {}


def reservation_gaps(aps: object, collected: object) -> list[str]:
    """Why each AP without a DHCP reservation has none, one sentence per AP.

    Args:
        aps: the AP names.
        collected: `ap_macs`' result ({AP name: MAC}).

    Returns:
        For every AP that `unshared_macs(collected)` leaves out: either its MAC is
        claimed by another AP too, or no MAC is known for it.
    """
    if not isinstance(aps, list | tuple):
        return []
    macs = collected if isinstance(collected, dict) else {}
    reserved = unshared_macs(macs)
    return [
        f"no DHCP reservation for {ap}: its MAC {macs[ap]} is claimed by another access "
        "point too; set the right one as its `mac` host var" if ap in macs else
        f"no DHCP reservation for {ap}: no `mac` host var, none read from the device and "
        "none held"
        for ap in map(str, aps) if ap not in reserved]


def _unicast(mac: str) -> bool:
    """A well-formed unicast MAC, lower case, not all zeros."""
    return bool(UNICAST_MAC.fullmatch(mac)) and mac != "00:00:00:00:00:00"


class FilterModule:
    """Ansible's filter plugin entry point."""

    def filters(self) -> dict[str, Callable[..., object]]:
        return {"management_mac": management_mac, "unshared_macs": unshared_macs,
                "held_reservations": held_reservations, "ap_macs": ap_macs,
                "reservation_gaps": reservation_gaps}
