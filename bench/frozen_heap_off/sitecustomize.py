"""For measuring only: with this folder on PYTHONPATH, every Python imports this first
(`site`), and `gc.freeze`/`gc.unfreeze` do nothing, so the tool's strategy
(`mitogen_unpinned.FrozenHeapMixin`) runs its plays with the heap unfrozen, as
Ansible's own strategies do. `bench/cpu_by_process.py --frozen-heap-off N` uses it."""

import gc

gc.freeze = lambda: None
gc.unfreeze = lambda: None
