"""The plan use cases: import a plan file as a new version, compare versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provisioner.db import Store
from provisioner.errors import NotFoundError
from provisioner.models import PlanVersion
from provisioner.plan.diff import PlanDiff, diff_plans
from provisioner.plan.reader import ParsedPlan, read_plan


@dataclass(frozen=True)
class ImportOutcome:
    """What `import_plan` read, what it changes, and the version it wrote (None: dry run)."""

    parsed: ParsedPlan
    diff: PlanDiff
    version: PlanVersion | None
    previous: PlanVersion | None


def import_plan(store: Store, path: Path, *, user: str, dry_run: bool = False,
                sheet: str | None = None, encoding: str | None = None) -> ImportOutcome:
    """Read, validate and (unless `dry_run`) store a plan file as a new plan version.

    Nothing is written when the file has any problem, and nothing when the file is the
    same as the plan in force (re-importing the same file is not a new version).

    Args:
        store: the state database.
        path: the plan file.
        user: who imports (for the version's record).
        dry_run: check and compare only.
        sheet: the worksheet to read (workbooks); None to find it.
        encoding: the text encoding (CSV); None to detect it.

    Raises:
        NotFoundError: the file does not exist.
        ConfigError: unknown `sheet` or `encoding`.
        InvalidInputError: the file has problems; all of them are in the error.
        DatabaseError: the database refused the write; nothing was written.
    """
    parsed = read_plan(path, sheet=sheet, encoding=encoding)
    previous = store.latest_version()
    old_items = store.plan_items(previous.version_id) if previous else []
    diff = diff_plans(old_items, parsed.items)
    unchanged = previous is not None and diff.is_empty
    if dry_run or unchanged:
        return ImportOutcome(parsed, diff, None, previous)
    version = store.save_plan(parsed.schools, parsed.items, source=parsed.source,
                              sha256=parsed.sha256, user=user)
    return ImportOutcome(parsed, diff, version, previous)


def last_change(
    store: Store, version_id: int | None = None,
) -> tuple[PlanVersion, PlanVersion | None, PlanDiff]:
    """What a plan version (default: the latest) changed against the one before.

    Raises:
        NotFoundError: no plan was imported yet, or there is no such version.
    """
    versions = store.plan_versions()
    if not versions:
        raise NotFoundError("no plan imported yet; run 'provision plan import FILE' first")
    index = len(versions) - 1 if version_id is None else next(
        (n for n, v in enumerate(versions) if v.version_id == version_id), -1)
    if index < 0:
        raise NotFoundError(f"no plan version {version_id}; list them with 'provision plan "
                            "versions'")
    new = versions[index]
    old = versions[index - 1] if index > 0 else None
    old_items = store.plan_items(old.version_id) if old else []
    return new, old, diff_plans(old_items, store.plan_items(new.version_id))
