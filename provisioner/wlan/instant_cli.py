"""Parsers of the Aruba Instant CLI text the REST monitoring API returns. Pure.

The Instant REST API's monitoring call (`GET /rest/show-cmd`, Aruba Instant 8.x REST
API Guide, e.g. 8.11.1.x, 2023, "Monitoring APIs") answers a `show` command with the
CLI's own text in the JSON field `Command output`, prefixed by `cli output:` and a
`COMMAND=<command>` line. What is read here, and from which command (Aruba Instant 8.x
CLI Reference Guide):

- `show running-config`: `wlan ssid-profile NAME` blocks (essid, opmode, vlan, type,
  auth-server, captive-portal, enable/disable; wpa-passphrase is shown encrypted),
  `wlan auth-server NAME` blocks (ip, port, key encrypted) and `allowed-ap MAC` lines;
- `show aps`: the APs that are members of the cluster now (name, IP address with `*`
  on the master, serial number, clients, type);
- `show ap bss-table`: one row per BSS: its ESS (SSID), band, current clients and the
  AP (name, IP) that beams it.

Tables are read by the columns their dashed underline row marks, so values with
spaces ("eye oh tea") stay whole. Devices are untrusted: a line that does not fit is
skipped, never an exception; quoting that does not balance is read as plain words.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_BAND = re.compile(r"^(2\.4|5|6)\s*GHz", re.IGNORECASE)


def command_text(output: str) -> str:
    """The command's own text: without the `cli output:` and `COMMAND=` preamble."""
    lines = output.replace("\r\n", "\n").split("\n")
    while lines and (not lines[0].strip() or lines[0].strip().lower().startswith(
            ("cli output:", "command="))):
        lines.pop(0)
    return "\n".join(lines)


def words(line: str) -> list[str]:
    """A config line's words; quoted names ("eye oh tea") are one word."""
    try:
        return shlex.split(line)
    except ValueError:  # unbalanced quotes from a broken or forged answer
        return line.split()


@dataclass
class RunningConfig:
    """What `show running-config` holds of the WLAN.

    Attributes:
        ssid_profiles: profile name -> {setting: value} ("" for a bare flag such as
            `enable`); the encrypted passphrase is kept only as "set".
        auth_servers: server name -> {setting: value} (the encrypted key as "set").
        allowed_aps: MAC addresses of `allowed-ap` lines, lower case.
    """

    ssid_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    auth_servers: dict[str, dict[str, str]] = field(default_factory=dict)
    allowed_aps: list[str] = field(default_factory=list)


# Settings whose value the controller shows encrypted: only "there is one" is kept.
_ENCRYPTED = frozenset({"wpa-passphrase", "key"})


def _blocks(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Top-level lines with the indented lines below them, as words."""
    found: list[tuple[list[str], list[list[str]]]] = []
    for raw in text.split("\n"):
        if not raw.strip():
            continue
        if raw[0] in " \t":
            if found:
                found[-1][1].append(words(raw.strip()))
            continue
        found.append((words(raw.strip()), []))
    return found


def _settings(lines: list[list[str]]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for parts in lines:
        if not parts:
            continue
        key, value = parts[0], " ".join(parts[1:])
        value = "set" if key in _ENCRYPTED and value else value
        # A setting given on several lines (`auth-server A`, `auth-server B`): in order.
        settings[key] = f"{settings[key]},{value}" if key in settings else value
    return settings


def parse_running_config(output: str) -> RunningConfig:
    """The WLAN parts of `show running-config` (see the module doc)."""
    config = RunningConfig()
    for head, body in _blocks(command_text(output)):
        if len(head) == 3 and head[:2] == ["wlan", "ssid-profile"]:
            config.ssid_profiles[head[2]] = _settings(body)
        elif len(head) == 3 and head[:2] == ["wlan", "auth-server"]:
            config.auth_servers[head[2]] = _settings(body)
        elif len(head) == 2 and head[0] == "allowed-ap" and _MAC.match(head[1].lower()):
            config.allowed_aps.append(head[1].lower())
    return config


def _columns(underline: str) -> list[tuple[int, int]]:
    """(start, end) of each column from a `----  ---` underline row."""
    return [(m.start(), m.end()) for m in re.finditer(r"-+", underline)]


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """The line cut at the columns' starts (the last column runs to the end)."""
    starts = [start for start, _end in spans]
    return [line[start:(starts[i + 1] if i + 1 < len(starts) else len(line))].strip()
            for i, start in enumerate(starts)]


def parse_table(output: str, first_header: str) -> list[dict[str, str]]:
    """Rows of the CLI table whose header line starts with `first_header`.

    The header's names are cut by the same columns as the rows, so a header like
    `IP Address` stays one name. Rows end at the first blank line.
    """
    lines = command_text(output).split("\n")
    for number, line in enumerate(lines[:-1]):
        underline = lines[number + 1]
        if not line.startswith(first_header) or not underline.lstrip().startswith("-"):
            continue
        spans = _columns(underline)
        names = _cells(line, spans)
        rows = []
        for row in lines[number + 2:]:
            if not row.strip():
                break
            rows.append(dict(zip(names, _cells(row, spans), strict=True)))
        return rows
    return []


@dataclass(frozen=True)
class ClusterAp:
    """One AP as `show aps` lists it (members of the cluster now, i.e. up).

    Attributes:
        name: its name on the controller.
        address: its IP address (without the master's `*`).
        serial: its serial number ("" when not shown).
        clients: clients associated, None when not a number.
        model: its type column, e.g. `535(indoor)`.
        master: whether it is the cluster's master (the virtual controller's host).
    """

    name: str
    address: str
    serial: str
    clients: int | None
    model: str
    master: bool


def parse_aps(output: str) -> list[ClusterAp]:
    """The APs of `show aps` (rows without a name or address are skipped)."""
    aps = []
    for row in parse_table(output, "Name"):
        name, address = row.get("Name", ""), row.get("IP Address", "")
        if not name or not address:
            continue
        clients = row.get("Clients", "")
        aps.append(ClusterAp(name, address.rstrip("*"), row.get("Serial #", ""),
                             int(clients) if clients.isdigit() else None,
                             row.get("Type", ""), address.endswith("*")))
    return aps


@dataclass(frozen=True)
class Bss:
    """One row of `show ap bss-table`: a BSS an AP beams for one SSID on one radio.

    Attributes:
        bssid: the BSS's MAC address.
        ssid: the ESS (network name) it carries.
        band: "2.4 GHz", "5 GHz" or "6 GHz" ("" when not understood).
        clients: its current clients (`cur-cl`), None when not a number.
        ap_name: the AP's name.
        ap_address: the AP's IP address.
    """

    bssid: str
    ssid: str
    band: str
    clients: int | None
    ap_name: str
    ap_address: str


def parse_bss_table(output: str) -> list[Bss]:
    """The BSS rows of `show ap bss-table`."""
    found = []
    for row in parse_table(output, "bss"):
        band = _BAND.match(row.get("band/ht-mode/bandwidth", ""))
        clients = row.get("cur-cl", "")
        if not row.get("ess") or not row.get("ap name"):
            continue
        found.append(Bss(row.get("bss", "").lower(), row["ess"],
                         f"{band.group(1)} GHz" if band else "",
                         int(clients) if clients.isdigit() else None,
                         row["ap name"], row.get("ip", "")))
    return found
