"""snmpsim variation module `labuptime`: a recorded device's sysUpTime that a lab
"reboot" resets, per device, while every other device served by the same responder
counts on.

Loaded by snmpsim from its variation modules dir (copied there by
`provisioner.lab.recordings.prepare_variations`), not imported. The recording line
`1.3.6.1.2.1.1.3.0|67:labuptime|initial=<recorded ticks>` counts on from the
recorded uptime at 100 ticks/s; once `provision lab fault DEVICE reboot` has written
a boot time for the device's address into the boots file, it counts from then.

The responder that loads it names, in its environment, the boots file
(PROVISIONER_LAB_BOOTS), its endpoint addresses in the order snmpsim numbered
their transport domains (PROVISIONER_LAB_ENDPOINTS, comma-separated) and the lab
device behind each (PROVISIONER_LAB_NAMES, in the same order).

The line `1.3.6.1.2.1.1.5.0|4:labuptime|sysname=<recorded>` of the simulated
switches' recording answers each switch's own name, as a real switch's sysName is
its hostname; the recorded name is the fallback.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

STARTED = time.time()
_WRAP = 2**32  # TimeTicks is 32 bits: 497 days, then it wraps as a real agent's does
_seen: dict[str, int] = {}  # "mtime" -> st_mtime_ns of the boots file last read
_boot_times: dict[str, float] = {}


def init(**context: Any) -> None:
    """Nothing to prepare: the boots file is read when it changes."""


def _boots() -> dict[str, float]:
    path = os.environ.get("PROVISIONER_LAB_BOOTS", "")
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    if mtime != _seen.get("mtime"):
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = {str(k): float(v) for k, v in json.load(handle).items()}
        except (OSError, ValueError, AttributeError, TypeError):
            return _boot_times  # mid-replace or damaged: keep the last good one
        _boot_times.clear()
        _boot_times.update(loaded)
        _seen["mtime"] = mtime
    return _boot_times


def _address(context: dict[str, Any]) -> str:
    domain = context.get("transportDomain") or ()
    endpoints = os.environ.get("PROVISIONER_LAB_ENDPOINTS", "").split(",")
    try:
        index = int(tuple(domain)[-1])
    except (TypeError, ValueError, IndexError):
        return ""
    return endpoints[index] if 0 <= index < len(endpoints) else ""


def _name(address: str) -> str:
    names = dict(zip(os.environ.get("PROVISIONER_LAB_ENDPOINTS", "").split(","),
                     os.environ.get("PROVISIONER_LAB_NAMES", "").split(","), strict=False))
    return names.get(address, "")


def variate(oid: Any, tag: str, value: str, **context: Any) -> tuple[Any, str, Any]:
    """The uptime in ticks: since the device's lab reboot, else recorded + elapsed.
    With `sysname=<recorded>` instead: the lab device's own name (its sysName)."""
    if context["setFlag"] or (not context["nextFlag"] and not context["exactMatch"]):
        return context["origOid"], tag, context["errorStatus"]
    settings = dict(item.split("=", 1) for item in value.split(",") if "=" in item)
    if "sysname" in settings:
        return oid, tag, _name(_address(context)) or settings["sysname"]
    now = time.time()
    boot = _boots().get(_address(context))
    if boot is not None:
        ticks = max(0, int((now - boot) * 100))
    else:
        ticks = int(settings.get("initial", "0")) + int((now - STARTED) * 100)
    return oid, tag, ticks % _WRAP


def shutdown(**context: Any) -> None:
    """Nothing to release."""
