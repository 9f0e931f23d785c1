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
one pass over the APs, where a task looping over them re-read the server's file for
each AP. `inventory_mac_problem` names an inventory `mac` that cannot be reserved (the
inventory check warns of it too).

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

from ansible.module_utils.parsing.convert_bool import boolean

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


def unshared_macs(reservations: object, held_conf: object = "") -> dict[str, str]:
    """The reservations without any MAC that more than one AP has, unless the server
    holds that MAC for exactly one of them already: that one keeps it. An AP that so
    loses its MAC keeps the reservation the server holds for it under another MAC, if
    no AP has that one.

    So an AP that answers with another AP's MAC (or an inventory that gives two APs the
    same `mac`) can neither take another AP's address nor remove a reservation the
    server holds; where nothing is held, neither AP gets the MAC (nothing says which
    one is right).

    Args:
        reservations: {AP name: MAC} as the servers' role collected them (inventory
            `mac`, read from the AP, or held already); anything else gives {}.
        held_conf: the server's dnsmasq file as it is (`held_reservations`).

    Returns:
        The same mapping without every AP whose MAC (case aside) another AP has too,
        but for the one AP the server holds it for; each AP left out that way with the
        MAC the server holds for it, when no AP has that MAC.
    """
    if not isinstance(reservations, dict):
        return {}
    held = held_reservations(held_conf)
    claimants: dict[str, list[str]] = {}
    for ap, mac in reservations.items():
        claimants.setdefault(str(mac).lower(), []).append(str(ap))
    kept: dict[str, str] = {}
    for ap, mac in reservations.items():
        owners = claimants[str(mac).lower()]
        holders = [owner for owner in owners if held.get(owner) == str(mac).lower()]
        if len(owners) == 1 or holders == [str(ap)]:
            kept[str(ap)] = str(mac)
    taken = {mac.lower() for mac in kept.values()}
    for ap in map(str, reservations):
        previous = held.get(ap, "")
        if ap not in kept and previous and previous not in taken and previous not in claimants:
            kept[ap] = previous
            taken.add(previous)
    return kept


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
        Per AP, the first that is set: its inventory `mac`, the MAC its answer gives for
        `ansible_host` (`management_mac`), the MAC the server holds for it
        (`held_reservations`); lower case. APs with none are left out. An AP whose
        inventory `mac` is set but is no unicast MAC (`inventory_mac_problem` says why)
        keeps only what the server holds: the inventory's word is not replaced by a
        device's answer, and a typo does not drop a working reservation.
    """
    if not isinstance(aps, list | tuple):
        return {}
    held = held_reservations(held_conf)
    collected: dict[str, str] = {}
    for ap in aps:
        name = str(ap)
        host = _vars_of(hostvars, name)
        if _has_inventory_mac(host):
            # An unusable `mac` keeps what the server holds (reported), not the answer.
            mac = held.get(name, "") if inventory_mac_problem(host.get("mac")) \
                else str(host["mac"]).lower()
        else:
            answer = host.get("ap_addresses")
            stdout = answer.get("stdout") if isinstance(answer, Mapping) else None
            mac = (management_mac(stdout, host.get("ansible_host") or "")
                   or held.get(name, ""))
        if mac:
            collected[name] = mac
    return collected


def _has_inventory_mac(host: Mapping[str, Any]) -> bool:
    """Whether the inventory gives the AP a `mac` (empty or null counts as none)."""
    return host.get("mac") not in (None, "")


def inventory_mac_problem(mac: object) -> str:
    """Why an inventory `mac` cannot be reserved, or "" when it is a unicast MAC.

    YAML 1.1 reads an unquoted MAC of digits only (`52:54:00:12:34:56`) as a base-60
    number, so a number is named as such.
    """
    if not isinstance(mac, str):
        kind = ("boolean" if isinstance(mac, bool) else "number"
                if isinstance(mac, int | float) else "value")
        return (f"its inventory `mac` is the {kind} {mac}, not text; quote the MAC in the "
                "inventory ('52:54:00:12:34:56')")
    if not _unicast(mac.lower()):
        return (f"its inventory `mac` {mac!r} is not a unicast MAC address "
                "(six hex pairs with ':'); fix it")
    return ""


def _vars_of(hostvars: object, name: str) -> Mapping[str, Any]:
    """One host's variables from `hostvars`, or {} when it has none."""
    if not isinstance(hostvars, Mapping) or name not in hostvars:
        return {}
    host = hostvars[name]
    return host if isinstance(host, Mapping) else {}


def reservation_gaps(aps: object, collected: object, hostvars: object = None,
                     held_conf: object = "") -> list[str]:
    """Why each AP without a DHCP reservation has none, one sentence per AP.

    Args:
        aps: the AP names.
        collected: `ap_macs`' result ({AP name: MAC}).
        hostvars: Ansible's `hostvars` (for the APs' inventory `mac`).
        held_conf: the server's dnsmasq file as it is.

    Returns:
        For every AP that `unshared_macs(collected, held_conf)` leaves out: its MAC is
        claimed by another AP too, its inventory `mac` is unusable, or no MAC is known
        (not said of an AP with `managed: false`: the tool leaves it to whoever manages
        it; an AP behind a WLAN controller needs its `mac` in the inventory); and for
        every AP whose inventory `mac` is unusable but which keeps the reservation
        held, that its `mac` is unusable.
    """
    if not isinstance(aps, list | tuple):
        return []
    macs = collected if isinstance(collected, dict) else {}
    reserved = unshared_macs(macs, held_conf)
    gaps = []
    for ap in map(str, aps):
        host = _vars_of(hostvars, ap)
        problem = inventory_mac_problem(host.get("mac")) if _has_inventory_mac(host) else ""
        if ap in reserved and problem:
            gaps.append(f"{ap}: {problem}; the reservation this server holds is kept")
        elif ap in reserved and reserved[ap] != macs.get(ap, reserved[ap]):
            gaps.append(f"{ap}: {_gap(ap, macs)}; the reservation this server holds "
                        f"({reserved[ap]}) is kept")
        elif ap not in reserved and (problem or ap in macs or _managed_here(host)):
            gaps.append(f"no DHCP reservation for {ap}: {problem or _gap(ap, macs)}")
    return gaps


def _managed_here(host: Mapping[str, Any]) -> bool:
    """Whether the tool manages this AP: `managed` read as site.yml's sorting play reads
    it (`managed | default(true) | bool`, Ansible's own `boolean`)."""
    return boolean(host.get("managed", True), strict=False)


def _gap(ap: str, macs: Mapping[str, str]) -> str:
    """Why one AP that `unshared_macs` leaves out (with a usable `mac`, or none) has no
    reservation."""
    if ap in macs:
        mac = macs[ap].lower()
        others = sorted(str(name) for name, other in macs.items()
                        if str(other).lower() == mac and str(name) != ap)
        by = ", ".join(others) if others else "another access point"
        return f"its MAC {macs[ap]} is claimed by {by} too; set the right one as its `mac` host var"
    return "no `mac` host var, none read from the device and none held"


def _unicast(mac: str) -> bool:
    """A well-formed unicast MAC, lower case, not all zeros."""
    return bool(UNICAST_MAC.fullmatch(mac)) and mac != "00:00:00:00:00:00"


class FilterModule:
    """Ansible's filter plugin entry point."""

    def filters(self) -> dict[str, Callable[..., object]]:
        return {"management_mac": management_mac, "unshared_macs": unshared_macs,
                "held_reservations": held_reservations, "ap_macs": ap_macs,
                "reservation_gaps": reservation_gaps,
                "inventory_mac_problem": inventory_mac_problem}
