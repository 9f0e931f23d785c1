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
"""

from __future__ import annotations

import ansible_mitogen.affinity
import ansible_mitogen.loaders
import ansible_mitogen.strategy

from provisioner.ansible_plugins import network_sessions

ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()
network_sessions.install()


def strategy_class(base: str) -> type:
    """mitogen's strategy over Ansible's `base` strategy ("linear" or "free")."""
    parent = ansible_mitogen.loaders.strategy_loader.get(base, class_only=True)
    return type("StrategyModule", (ansible_mitogen.strategy.StrategyMixin, parent), {})
