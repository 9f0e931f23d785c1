"""The tool's strategy runs each play with the heap frozen for the garbage collector and
unfrozen after it, however the play ends (pure logic, a stub strategy under the mixin;
test_ansible_adapter.py shows the workers of a real run inheriting the frozen heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from ansible.executor import task_executor


@pytest.fixture
def mixin() -> Iterator[type]:
    # Importing the strategy module installs its hand-over into ansible-core and sets
    # mitogen's CPU policy: both are put back for the other tests of this process.
    import ansible_mitogen.affinity

    original, policy = task_executor.start_connection, ansible_mitogen.affinity.policy
    try:
        from provisioner.ansible_plugins.strategy.mitogen_unpinned import FrozenHeapMixin
        yield FrozenHeapMixin
    finally:
        task_executor.start_connection = original
        ansible_mitogen.affinity.policy = policy


def _strategy(mixin: type, play: Any) -> Any:
    class Base:
        def run(self, iterator: Any, play_context: Any, result: int = 0) -> Any:
            return play()

    return type("Strategy", (mixin, Base), {})()


@pytest.mark.parametrize("ending", [None, RuntimeError, KeyboardInterrupt, SystemExit])
def test_a_play_runs_frozen_and_leaves_the_heap_unfrozen(mixin: type,
                                                         ending: type | None) -> None:
    seen: list[int] = []

    def play() -> int:
        seen.append(gc.get_freeze_count())
        if ending is not None:
            raise ending()
        return 0

    gc.unfreeze()
    if ending is None:
        assert _strategy(mixin, play).run(None, None) == 0
    else:
        with pytest.raises(ending):
            _strategy(mixin, play).run(None, None)
    assert seen[0] > 1000  # the objects that existed at the play's start
    assert gc.get_freeze_count() == 0
