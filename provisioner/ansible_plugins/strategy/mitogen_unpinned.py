"""mitogen's strategies without mitogen's CPU pinning: the one module that imports it.

mitogen (https://mitogen.networkgenomics.com/ansible_detailed.html) runs modules in
persistent interpreters on the targets instead of a new Python per task. Its
`ansible_mitogen.affinity.FixedPolicy` also pins processes to CPUs: on a controller
with fewer than 4 cores the connection multiplexer gets CPU 0 and every worker, with
every network module that runs on the controller (`network_cli`), CPU 1. On the lab's
2-core controller that made a school's switch play 76 s instead of 42 s and the whole
run slower than plain Ansible (docs/benchmarks.md); without pinning the kernel
spreads the work. `Policy()` is mitogen's own no-op policy (what it uses where
sched_setaffinity is missing).

The strategy files beside this one (`mitogen_linear.py`, `mitogen_free.py`) are what
Ansible loads by name; they take their classes from here. Loading one also lets the
workers find a switch's open `network_cli` session without a helper process per task
(`provisioner/ansible_plugins/network_sessions.py`: mitogen does not carry network_cli).

Each play also runs with the objects that exist at its start frozen (`gc.freeze`): a
forked worker whose cyclic garbage collection walks the inherited heap writes to the
header of every object it visits, and so copies each page it visits. Frozen, the
inherited heap is not walked, in the worker nor in `ansible-playbook` while its
workers live; unfrozen at the play's end, it is collected as before. Measured on a lab
school's re-run: a tenth less CPU per worker, 3,700 page faults instead of 4,150
(docs/benchmarks.md). Before that, the play's start loads the collection plugins its
workers need (`warm_plugins`): Ansible compiles a collection's files anew in each
worker that imports them; loaded once here, the workers inherit them.
"""

from __future__ import annotations

import gc
import os
from typing import Any

import ansible_mitogen.affinity
import ansible_mitogen.loaders
import ansible_mitogen.strategy

from provisioner.ansible_plugins import WARM_PLUGINS_ENV, network_sessions

ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()
network_sessions.install()


_warmed: set[str] = set()


def warm_plugins(spec: str) -> list[str]:
    """Load the plugins `spec` names ("filter:ansible.utils.ipaddr,connection:
    ansible.netcommon.network_cli,...") into this process; the ones that failed.

    Ansible's collection loader compiles a collection's Python files from source on
    every import (it keeps no bytecode), and each worker forked per host and task
    imports anew what its parent did not: a template with one `ansible.utils` filter
    loads all of that collection's filter files in every worker that renders it.
    Loaded once here, before the workers fork, they are inherited. Only speed hangs on
    it: a name that does not load is skipped (the worker then loads it as before).
    """
    from ansible.plugins import loader

    loaders = {"filter": loader.filter_loader, "test": loader.test_loader,
               "connection": loader.connection_loader, "cliconf": loader.cliconf_loader,
               "terminal": loader.terminal_loader}
    failed = []
    for item in (part.strip() for part in spec.split(",")):
        kind, _, name = item.partition(":")
        if not name or item in _warmed:
            continue
        _warmed.add(item)
        try:
            found = loaders[kind].get(name, class_only=True) if kind in loaders else None
        except Exception:  # a plugin's own import error: the worker reports it
            found = None
        if found is None:
            failed.append(item)
    return failed


class FrozenHeapMixin:
    """Runs a play with the heap its start finds frozen for the garbage collector, after
    loading the plugins its workers need (`warm_plugins`, from WARM_PLUGINS_ENV)."""

    def run(self, iterator: Any, play_context: Any, result: int = 0) -> Any:
        """The play, as the strategy below runs it; `gc.freeze()` before, unfrozen after."""
        warm_plugins(os.environ.get(WARM_PLUGINS_ENV, ""))
        gc.freeze()
        try:
            return super().run(iterator, play_context, result)  # type: ignore[misc]
        finally:
            gc.unfreeze()


def strategy_class(base: str) -> type:
    """mitogen's strategy over Ansible's `base` strategy ("linear" or "free"), its
    plays run with a frozen heap (`FrozenHeapMixin`)."""
    parent = ansible_mitogen.loaders.strategy_loader.get(base, class_only=True)
    return type("StrategyModule",
                (FrozenHeapMixin, ansible_mitogen.strategy.StrategyMixin, parent), {})
