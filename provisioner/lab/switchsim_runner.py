"""The switch simulator process as the lab starts it: `switchsim` plus host key reload.

Started by `start_simulators` as `python -m provisioner.lab.switchsim_runner --config FILE`.
It runs `provisioner.lab.switchsim` unchanged and adds one thing real switches have:
a new host key without a restart (`crypto key generate` on IOS). On SIGHUP every
switch's host key is read again from its file, so `provision lab fault SWITCH rekey`
changes one switch's key while every switch keeps its running configuration and
sessions. New connections get the new key; open sessions keep theirs.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from twisted.conch.ssh import keys

from provisioner.errors import LabError
from provisioner.lab import switchsim
from provisioner.lab.simconfig import SwitchSimConfig, read_switch_config

log = logging.getLogger("provisioner.lab.switchsim_runner")

def reload_host_keys(config: SwitchSimConfig, factories: Sequence[Any]) -> int:
    """Give each switch's SSH factory the host key now in its file; how many changed.

    A key file that cannot be read keeps that switch's old key (logged), so one bad
    file never takes the other switches' SSH down.
    """
    changed = 0
    for spec, factory in zip(config.switches, factories, strict=False):
        try:
            key = keys.Key.fromFile(spec.host_key)
        except (OSError, keys.BadKeyError) as exc:
            log.error("%s: host key %s not reloaded (%s)", spec.name, spec.host_key, exc)
            continue
        key_type = key.sshType()
        if factory.privateKeys.get(key_type) != key:
            factory.publicKeys = {key_type: key.public()}
            factory.privateKeys = {key_type: key}
            changed += 1
    log.info("host keys reloaded: %d changed", changed)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: switchsim's own, with the factory recorder and the SIGHUP handler."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        config = read_switch_config(Path(args[args.index("--config") + 1]))
    except (ValueError, IndexError, LabError) as exc:
        print(f"switch simulator failed: {exc}", file=sys.stderr)
        return 2
    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        # Python runs this between reactor steps; callFromThread wakes the reactor.
        switchsim.reactor.callFromThread(reload_host_keys, config, list(switchsim.FACTORIES))

    signal.signal(signal.SIGHUP, on_hangup)
    return switchsim.main(args)


if __name__ == "__main__":
    sys.exit(main())
