"""What changed between two versions of the plan. Pure logic."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from provisioner.models import PlanItem

_KEY_FIELDS = ("school_id", "measure", "year")
_COMPARED = tuple(f.name for f in fields(PlanItem) if f.name not in _KEY_FIELDS)


@dataclass(frozen=True)
class ItemChange:
    """One plan item present in both versions with different values."""

    old: PlanItem
    new: PlanItem

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """Names of the fields whose value differs."""
        return tuple(f for f in _COMPARED if getattr(self.old, f) != getattr(self.new, f))


@dataclass(frozen=True)
class PlanDiff:
    """Added, removed and changed items between an old and a new plan."""

    added: tuple[PlanItem, ...]
    removed: tuple[PlanItem, ...]
    changed: tuple[ItemChange, ...]
    unchanged: int

    @property
    def is_empty(self) -> bool:
        """True when the new plan says exactly what the old one said."""
        return not (self.added or self.removed or self.changed)


def diff_plans(old: Iterable[PlanItem], new: Iterable[PlanItem]) -> PlanDiff:
    """Compare two plans item by item, keyed by school × measure × year."""
    before = {item.key: item for item in old}
    after = {item.key: item for item in new}
    added = tuple(after[k] for k in sorted(after.keys() - before.keys()))
    removed = tuple(before[k] for k in sorted(before.keys() - after.keys()))
    changed = []
    unchanged = 0
    for key in sorted(before.keys() & after.keys()):
        if before[key] == after[key]:
            unchanged += 1
        else:
            changed.append(ItemChange(before[key], after[key]))
    return PlanDiff(added, removed, tuple(changed), unchanged)
