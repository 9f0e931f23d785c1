"""The health rules: small functions from what a device answered to findings. Pure.

Each rule looks at one device's `DeviceFacts` beside what the inventory expects, what
the previous sample said and which provisioning runs reached it, and returns findings
(an empty list means the rule is satisfied). Findings are not ok, except notes in state
ok that explain something that would otherwise look wrong (an agent restarted by a
provisioning run). `RULES` lists them in the order they run; the README's "Health
rules" table is this list.

Rules (warning / critical):
- reboot: uptime lower than at the previous run, or shorter than the time since it (the
  agent started again in between; a 32-bit sysUpTime wrap is not one), unless the agent
  (re)started inside a provisioning run that reached the device: then an ok note "agent
  restarted during provisioning run N" / -
- identity: sysName is not the inventory name (or `snmp_sys_name`); sysLocation is not
  `snmp_location` (checked only when set) / -
- ports: an uplink or AP port is administratively down or not in the ifTable, an AP
  port is down / an uplink
  port (to a switch or server) is down
- port_errors: error counters of an uplink/AP port rose since the previous run / they
  rose by `errors_critical` (1000) or more
- poe: a PSE draws more than 90 % of its budget / a PSE reports "faulty"
- storage: a disk is more than 90 % full / more than 95 %
- processes: - / a `proc` check of snmpd fails (prErrorFlag): a service is not running
- radios: an AP its controller reports is down / a radio is down
- odd_data: a value the profile could not read right, named; a sysUpTime that stood
  still for FROZEN_MIN_S or more since the previous run / -
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from provisioner.health.facts import DeviceFacts, InterfaceFacts
from provisioner.health.model import Finding, HealthState
from provisioner.models import Role

# sysUpTime is TimeTicks (hundredths, 32 bits): it wraps after 497 days without a reboot.
UPTIME_WRAP_S = 2**32 / 100
# A finding names at most this many items (odd values, APs, radios), then a count.
MAX_ODD = 3
MAX_NAMED = 3
# Run times are stored to the second and a restart's moment is told from the uptime:
# this much either side of a run still counts as inside it.
RUN_SLACK_S = 2.0
# A device's tick counts against the controller's clock: crystals keep 100 ppm; ten
# times that, so that a slow clock is never taken for a restart.
UPTIME_DRIFT = 1e-3
# How long the previous poll may have run before its stored moment (it is not stored):
# for the wrap only, at least this; a restart within it of a 497-day wrap goes unseen.
PREVIOUS_POLL_S = 3600.0
# A sysUpTime that has not moved for this long (certainly passed, as `restart_seen`
# reckons it) is odd: agents may cache it for seconds, not for minutes.
FROZEN_MIN_S = 300.0


@dataclass(frozen=True)
class Thresholds:
    """Limits of the rules (percent, counts)."""

    poe_warning_pct: float = 90.0
    storage_warning_pct: float = 90.0
    storage_critical_pct: float = 95.0
    errors_critical: int = 1000


@dataclass(frozen=True)
class Previous:
    """What the previous sample of the device said (from the database).

    Attributes:
        uptime_s: its uptime then.
        age_s: seconds between that sample and this one.
        errors: port name -> in+out error count then.
    """

    uptime_s: float | None
    age_s: float
    errors: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunWindow:
    """A provisioning run whose play reached devices, from the run records.

    Check-mode runs change nothing and are never windows; a run still recorded as
    running but whose process is gone is not one either (the loader leaves them out).

    Attributes:
        run_id: the run.
        started_at: when it started (UTC, timezone-aware).
        finished_at: when it ended; None while it still runs.
        hosts: inventory names of the devices its play reached (past preflight, and
            not lost as unreachable).
    """

    run_id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    hosts: frozenset[str]


@dataclass(frozen=True)
class RuleInput:
    """One device as the rules see it.

    Attributes:
        device: inventory host name.
        role: its role.
        facts: what it answered.
        expected_name: the sysName it should have (inventory `snmp_sys_name`, else its name).
        expected_location: the sysLocation it should have (`snmp_location`), None: not checked.
        ports: its watched ports (uplinks and AP ports): port name -> (device behind, role).
        previous: the previous sample, if any.
        thresholds: the limits.
        runs: provisioning runs since the previous sample (of any devices; the rules
            pick those that reached this one).
        polled: the earliest and latest moment (UTC, aware) the answer can be from: the
            health run's start and the moment it was judged. None: unknown, so no
            restart can be placed inside a run.
    """

    device: str
    role: Role
    facts: DeviceFacts
    expected_name: str | None = None
    expected_location: str | None = None
    ports: Mapping[str, tuple[str, Role]] = field(default_factory=dict)
    previous: Previous | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    runs: tuple[RunWindow, ...] = ()
    polled: tuple[dt.datetime, dt.datetime] | None = None


Rule = Callable[[RuleInput], list[Finding]]


def _warn(rule: str, reason: str) -> Finding:
    return Finding(rule, HealthState.WARNING, reason)


def _crit(rule: str, reason: str) -> Finding:
    return Finding(rule, HealthState.CRITICAL, reason)


def restarted_during(item: RuleInput, uptime_s: float) -> RunWindow | None:
    """The newest provisioning run that reached the device and whose window holds the
    moment its agent (re)started, `uptime_s` before it answered; None if no run does.

    The answer came at some moment within `item.polled`, so the restart lies within
    that span moved back by the uptime; it counts when that overlaps the run's window
    (an open run's window reaches to the end of `polled`), give or take RUN_SLACK_S.
    """
    if item.polled is None:
        return None
    first, last = item.polled
    earliest = first - dt.timedelta(seconds=uptime_s + RUN_SLACK_S)
    latest = last - dt.timedelta(seconds=uptime_s - RUN_SLACK_S)
    for run in sorted(item.runs, key=lambda r: r.started_at, reverse=True):
        end = run.finished_at or last
        if item.device in run.hosts and earliest <= end and latest >= run.started_at:
            return run
    return None


def _window(item: RuleInput, prev: Previous) -> float:
    """How long this poll took (s); unknown: the whole age of the previous sample."""
    if item.polled is None:
        return prev.age_s
    return (item.polled[1] - item.polled[0]).total_seconds()


def _passed(item: RuleInput, prev: Previous) -> float:
    """Seconds that have certainly passed between the previous answer and this one: the
    age less this poll's window, RUN_SLACK_S and UPTIME_DRIFT of the age (the previous
    answer came at its stored moment or before)."""
    slack = RUN_SLACK_S + UPTIME_DRIFT * prev.age_s
    return max(0.0, prev.age_s - _window(item, prev) - slack)


def restart_seen(item: RuleInput) -> str | None:
    """How the uptime shows that the agent started again since the previous sample:
    "lower" (it is lower than then), "younger" (it is up for less time than has
    certainly passed since then, though its uptime has passed the previous one), or
    None (no sign, nothing to compare, or a 32-bit TimeTicks wrap fits it).

    What has certainly passed between the two answers is the age less this poll's
    window (`item.polled`; unknown: the whole age), RUN_SLACK_S and UPTIME_DRIFT of
    the age: the previous answer came at its stored moment or before. Each sign holds
    whatever the controller's clock did: a clock that jumps forward only makes a
    device whose previous uptime was shorter than the jump look younger, and a
    counter that does not move (an agent that answers a fixed value) is no restart.
    A wrap fits when a counter that kept running would have passed 2^32 ticks (the
    previous answer taken as up to PREVIOUS_POLL_S, or this poll's window, before its
    stored moment) and the uptime is no more than it would show after that. A negative
    age (the controller's clock went back) is weighed not at all.
    """
    now, prev = item.facts.uptime_s, item.previous
    if now is None or prev is None or prev.uptime_s is None or prev.age_s < 0:
        return None  # a negative age: the controller's clock went back; nothing to weigh
    if int(now) == int(prev.uptime_s):
        return None  # stored in whole seconds
    window = _window(item, prev)
    slack = RUN_SLACK_S + UPTIME_DRIFT * prev.age_s
    passed = _passed(item, prev)
    beyond = (prev.uptime_s + prev.age_s + max(window, PREVIOUS_POLL_S) + slack
              - UPTIME_WRAP_S)
    if beyond >= 0 and now <= beyond:
        return None  # a wrap fits
    if now < prev.uptime_s:
        return "lower"
    return "younger" if now < passed else None


_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def span(seconds: float) -> str:
    """A duration as an admin reads it, its two largest units, rounded down: "42 s",
    "5 min 42 s", "3 h 12 min", "2 d 4 h", "1 d"."""
    left = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in _UNITS:
        count, left = divmod(left, size)
        if count and len(parts) < 2:
            parts.append(f"{count} {unit}")
        elif parts:
            break  # the unit below the largest is zero: "1 d", not "1 d 0 h 5 min"
    return " ".join(parts) or "0 s"


def spans(first: float, second: float) -> tuple[str, str]:
    """Two durations that are compared, as `span` gives them, or in whole seconds both
    when `span` would give them alike ("1 d 3 h" and "1 d 3 h" compare nothing)."""
    one, two = span(first), span(second)
    return (one, two) if one != two else (f"{int(first)} s", f"{int(second)} s")


def reboot(item: RuleInput) -> list[Finding]:
    """The agent started again since the previous sample (`restart_seen`): it rebooted
    (or its agent restarted), even when its uptime has since passed the previous one.

    A restart inside a provisioning run that reached the device is the run's doing
    (roles restart snmpd): an ok note naming the run, not a warning.
    """
    now, prev, sign = item.facts.uptime_s, item.previous, restart_seen(item)
    if now is None or prev is None or prev.uptime_s is None or sign is None:
        return []
    if sign == "lower":
        up, before = spans(now, prev.uptime_s)
        seen = f"uptime {up}, {before} at the check {span(prev.age_s)} ago"
    else:
        up, since = spans(now, prev.age_s)
        seen = (f"up {up}, less than the {since} since the check before, so it started "
                f"again since (up {span(prev.uptime_s)} then)")
    run = restarted_during(item, now)
    if run is None:
        return [_warn("reboot", f"rebooted: {seen}")]
    still = " (still running)" if run.finished_at is None else ""
    return [Finding("reboot", HealthState.OK,
                    f"agent restarted during provisioning run {run.run_id}{still}: {seen}")]


def _short(name: str) -> str:
    return name.strip().lower().split(".")[0]


def identity(item: RuleInput) -> list[Finding]:
    """sysName (host part, case-insensitive) and sysLocation as the inventory says."""
    found: list[Finding] = []
    name, expected = item.facts.sys_name, item.expected_name
    if expected and name is not None and _short(name) != _short(expected):
        found.append(_warn("identity", f"sysName is {name!r}, inventory says {expected!r}"))
    location, want = item.facts.sys_location, item.expected_location
    if want and (location or "").strip().lower() != want.strip().lower():
        found.append(_warn("identity", f"sysLocation is {location!r}, inventory says {want!r}"))
    return found


_PORT = re.compile(r"^([a-z-]*)\s*([\d/.:]*)$")


def port_key(name: str) -> tuple[str, str]:
    """A port name as (type letters, numbers): "GigabitEthernet1/0/5" -> ("gigabitethernet",
    "1/0/5"); compared by prefix so "Gi1/0/5" matches it."""
    match = _PORT.match(name.strip().lower())
    return (match.group(1), match.group(2)) if match else (name.strip().lower(), "")


def find_port(interfaces: tuple[InterfaceFacts, ...], name: str) -> InterfaceFacts | None:
    """The interface called `name` (ifName, ifDescr, abbreviations like Gi1/0/5)."""
    want = port_key(name)
    for iface in interfaces:
        if name.lower() in (iface.name.lower(), iface.descr.lower()):
            return iface
    for iface in interfaces:
        for have in (port_key(iface.name), port_key(iface.descr)):
            if have[1] and have[1] == want[1] and (have[0].startswith(want[0])
                                                    or want[0].startswith(have[0])):
                return iface
    return None


def ports(item: RuleInput) -> list[Finding]:
    """Uplink and AP ports must be up; missing ports are reported (once), not guessed."""
    found: list[Finding] = []
    missing: list[str] = []
    for port, (behind, role) in sorted(item.ports.items()):
        iface = find_port(item.facts.interfaces, port)
        if iface is None:
            missing.append(f"{port} (to {behind})")
        elif iface.admin == "down":
            found.append(_warn("ports", f"port {port} to {behind} is administratively down"))
        elif iface.oper is not None and iface.oper != "up":
            text = f"port {port} to {behind} is {iface.oper}"
            found.append(_warn("ports", text) if role is Role.ACCESS_POINT
                         else _crit("ports", text))
    if missing:
        found.append(_warn("ports", f"{len(missing)} port(s) not in the ifTable: "
                                    f"{_names(missing)}"))
    return found


def port_errors(item: RuleInput) -> list[Finding]:
    """Error counters (in + out) of watched ports rising since the previous run."""
    if item.previous is None:
        return []
    found: list[Finding] = []
    for port, (behind, _role) in sorted(item.ports.items()):
        iface = find_port(item.facts.interfaces, port)
        before = item.previous.errors.get(port)
        now = _errors(iface) if iface else None
        # Lower than before: a counter reset (reboot) or wrap, no rise to judge.
        if now is None or before is None or now <= before:
            continue
        rise = now - before
        text = f"port {port} to {behind}: {rise} new errors since the last run"
        found.append(_crit("port_errors", text) if rise >= item.thresholds.errors_critical
                     else _warn("port_errors", text))
    return found


def _errors(iface: InterfaceFacts) -> int | None:
    if iface.in_errors is None and iface.out_errors is None:
        return None
    return (iface.in_errors or 0) + (iface.out_errors or 0)


def poe(item: RuleInput) -> list[Finding]:
    """PoE budget use above the warning share; a faulty PSE."""
    found: list[Finding] = []
    for pse in item.facts.poe:
        if pse.status == "faulty":
            found.append(_crit("poe", f"PoE group {pse.group} is faulty"))
        elif pse.power_w and pse.consumption_w is not None:
            pct = 100.0 * pse.consumption_w / pse.power_w
            if pct > item.thresholds.poe_warning_pct:
                found.append(_warn("poe", f"PoE group {pse.group} uses {pct:.0f} % of its "
                                          f"{pse.power_w} W budget"))
    return found


def storage(item: RuleInput) -> list[Finding]:
    """Disks (fixed and network) filling up; memory is not a disk (caches fill it)."""
    found: list[Finding] = []
    server, limits = item.facts.server, item.thresholds
    for disk in server.storage if server else ():
        if disk.kind not in ("fixedDisk", "networkDisk") or not disk.size_bytes \
                or disk.used_bytes is None:
            continue
        pct = 100.0 * disk.used_bytes / disk.size_bytes
        text = f"{disk.descr} is {pct:.0f} % full"
        if pct > limits.storage_critical_pct:
            found.append(_crit("storage", text))
        elif pct > limits.storage_warning_pct:
            found.append(_warn("storage", text))
    return found


def processes(item: RuleInput) -> list[Finding]:
    """snmpd `proc` checks (UCD prTable): a configured service that is not running."""
    server = item.facts.server
    return [_crit("processes", f"service {p.name} not running as configured"
                               + (f" ({p.message})" if p.message else ""))
            for p in (server.processes if server else ()) if p.error]


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def radios(item: RuleInput) -> list[Finding]:
    """Radios that are down (critical) and APs a controller reports down (warning); one
    finding each, naming the first few (a controller may report hundreds)."""
    wlan = item.facts.wlan
    if wlan is None:
        return []
    found = []
    radios_down = [f"{r.index} of {r.ap}" for r in wlan.radios if r.status == "down"]
    if radios_down:
        found.append(_crit("radios", f"{len(radios_down)} radio(s) down: "
                                     f"{_names(radios_down)}"))
    aps_down = [ap.name for ap in wlan.aps if ap.status == "down"]
    if aps_down:
        found.append(_warn("radios", f"{len(aps_down)} of {len(wlan.aps)} APs down (as the "
                                     f"controller reports): {_names(aps_down)}"))
    return found



def odd_data(item: RuleInput) -> list[Finding]:
    """Values the profile could not read right, each named (at most 3, then a count),
    and a sysUpTime that stood still (`uptime_stands_still`)."""
    odd = item.facts.anomalies
    found = [_warn("odd_data", f"odd data: {text}") for text in odd[:MAX_ODD]]
    if len(odd) > MAX_ODD:
        found.append(_warn("odd_data", f"odd data: {len(odd) - MAX_ODD} more"))
    still = uptime_stands_still(item)
    return found + ([_warn("odd_data", f"odd data: {still}")] if still else [])


def uptime_stands_still(item: RuleInput) -> str | None:
    """Why the agent's sysUpTime is odd: it answered the same whole second as at the
    previous sample, though FROZEN_MIN_S or more have certainly passed since (`_passed`).
    A stuck clock, or answers replayed from a recording; no restart either way."""
    now, prev = item.facts.uptime_s, item.previous
    if now is None or prev is None or prev.uptime_s is None or prev.age_s < 0:
        return None
    if int(now) != int(prev.uptime_s) or _passed(item, prev) < FROZEN_MIN_S:
        return None
    return (f"sysUpTime stands still at {int(now)} s, as at the check {span(prev.age_s)} "
            "ago (the agent's clock is stuck, or its answers are replayed)")


RULES: tuple[tuple[str, Rule], ...] = (
    ("reboot", reboot), ("identity", identity), ("ports", ports),
    ("port_errors", port_errors), ("poe", poe), ("storage", storage),
    ("processes", processes), ("radios", radios), ("odd_data", odd_data),
)


def evaluate(item: RuleInput) -> list[Finding]:
    """Every rule over one device; the findings, most severe first."""
    found = [finding for _name, rule in RULES for finding in rule(item)]
    return sorted(found, key=lambda f: -f.state.severity)
