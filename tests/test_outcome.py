"""The outcome vocabulary: its mappings, and that no other module spells its words."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from provisioner.errors import (
    AuthenticationFailedError,
    CommandFailedError,
    ConnectionFailedError,
    DeviceError,
    DeviceTimeoutError,
    HostKeyChangedError,
    HostKeyUnknownError,
)
from provisioner.outcome import (
    DONE,
    Counts,
    DeviceState,
    FailureKind,
    HostStatus,
    RecapStatus,
    RunStatus,
    device_state_after,
    host_status_for,
    state_table,
)
from provisioner.results import DevicesFailedError

PACKAGE = Path(__file__).parent.parent / "provisioner"
VOCABULARY = PACKAGE / "outcome.py"
WORDS = frozenset(s.value for enum in (HostStatus, DeviceState, RunStatus) for s in enum)
SQL_WORD = re.compile(r"'(" + "|".join(sorted(WORDS)) + r")'")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _names(tree: ast.AST) -> set[int]:
    """ids of the string constants that name something rather than say a status:

    - dict display keys and subscripts (`{"ok": report.ok}`, `text["verified"]`: a
      field or a label);
    - members of a tuple or list that also holds other words (a table's headers, a
      label's translations `("blockiert", "blocked")`, error texts to look for);
    - member values of an enum other than the outcome vocabularies (a funding status
      `planned` is the plan's word; those enums are asserted to live in outcome.py).
    """
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found.update(id(k) for k in node.keys if k is not None)
        elif isinstance(node, ast.Subscript):
            found.add(id(node.slice))
        elif isinstance(node, ast.Tuple | ast.List) and _mixed(node.elts):
            found.update(id(e) for e in node.elts)
        elif isinstance(node, ast.ClassDef) and _is_enum(node):
            found.update(id(n) for stmt in node.body if isinstance(stmt, ast.Assign)
                         for n in ast.walk(stmt.value))
    return found


def _mixed(elements: list[ast.expr]) -> bool:
    words = [e.value for e in elements if isinstance(e, ast.Constant)
             and isinstance(e.value, str)]
    return any(w not in WORDS for w in words) and any(w in WORDS for w in words)


def _is_enum(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id.endswith("Enum") for b in node.bases)


def spelled_statuses(path: Path) -> list[str]:
    """Where a module spells a host, rollout or run status: as a string literal (a whole
    constant equal to one of the words) or quoted in SQL text ('verified'). Docstrings,
    dict keys and subscripts do not count."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _names(tree)
    return [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip and (node.value in WORDS or SQL_WORD.search(node.value))]


def test_no_module_but_the_vocabulary_spells_a_status() -> None:
    # Ansible plugins speak Ansible's words ("running": a configuration's source).
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             if path != VOCABULARY and "ansible_plugins" not in path.parts
             for hit in spelled_statuses(path)]
    assert found == []


def test_the_grep_finds_a_literal_status_and_sql(tmp_path: Path) -> None:
    # The check itself must not be blind: each way of spelling a status is found.
    module = tmp_path / "module.py"
    module.write_text('"""Doc: verified."""\n'
                      'HEADERS = ["host", "status", "failed"]\n'
                      'def f(h):\n'
                      '    """The \'verified\' ones."""\n'
                      '    if h.status in ("failed", "unreachable"):\n'
                      '        return {"verified": 1}["verified"]\n'
                      '    if h.status == "verified":\n'
                      '        return "UPDATE devices SET state = \'blocked\'"\n'
                      '    return "interrupted"\n')
    hits = [h.split(": ", 1)[1] for h in spelled_statuses(module)]
    assert sorted(hits) == ['"UPDATE devices SET state = \'blocked\'"', "'failed'",
                            "'interrupted'", "'unreachable'", "'verified'"]


def test_the_outcome_enums_are_defined_in_the_vocabulary_only() -> None:
    names = {HostStatus.__name__, DeviceState.__name__, RunStatus.__name__}
    defined = [f"{path.relative_to(PACKAGE)}: {node.name}"
               for path in sorted(PACKAGE.rglob("*.py"))
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.ClassDef) and node.name in names]
    assert sorted(defined) == [f"outcome.py: {n}" for n in sorted(names)]


def test_stored_words_are_kept() -> None:
    # Existing databases hold these words: an enum value may never change without a
    # numbered migration.
    assert {s.value for s in HostStatus} == {
        "pending", "skipped", "blocked", "running", "provisioned", "verified", "checked",
        "failed", "unreachable", "interrupted"}
    assert {s.value for s in DeviceState} == {
        "planned", "provisioned", "verified", "failed", "unreachable", "blocked", "interrupted"}
    assert {s.value for s in RunStatus} == {
        "running", "ok", "failed", "blocked", "interrupted", "lost", "done"}


@pytest.mark.parametrize(("status", "apply", "check"), [
    (HostStatus.PENDING, None, None),
    (HostStatus.RUNNING, None, None),
    (HostStatus.SKIPPED, None, None),
    (HostStatus.CHECKED, None, None),
    (HostStatus.PROVISIONED, DeviceState.PROVISIONED, None),
    (HostStatus.VERIFIED, DeviceState.VERIFIED, None),
    (HostStatus.FAILED, DeviceState.FAILED, None),
    (HostStatus.INTERRUPTED, DeviceState.INTERRUPTED, None),
    (HostStatus.BLOCKED, DeviceState.BLOCKED, DeviceState.BLOCKED),
    (HostStatus.UNREACHABLE, DeviceState.UNREACHABLE, DeviceState.UNREACHABLE),
])
def test_what_a_run_found_moves_the_device_state(status: HostStatus, apply: DeviceState | None,
                                                  check: DeviceState | None) -> None:
    assert device_state_after(status) is apply
    assert device_state_after(status, check=True) is check


def test_only_a_verification_makes_a_device_verified() -> None:
    made_verified = [s for s, apply, check in state_table()
                     if DeviceState.VERIFIED in (apply, check)]
    assert made_verified == [HostStatus.VERIFIED]
    # Every other way a device drops out of a run takes "verified" away or keeps the
    # state it had: none of them reports the device as verified.
    assert all(device_state_after(s) is not DeviceState.VERIFIED for s in HostStatus
               if s is not HostStatus.VERIFIED)


@pytest.mark.parametrize(("failure", "status"), [
    (None, HostStatus.VERIFIED),
    (FailureKind.UNREACHABLE, HostStatus.UNREACHABLE),
    (FailureKind.TIMEOUT, HostStatus.UNREACHABLE),
    (FailureKind.HOST_KEY_CHANGED, HostStatus.BLOCKED),
    (FailureKind.HOST_KEY_UNKNOWN, HostStatus.BLOCKED),
    (FailureKind.AUTH, HostStatus.BLOCKED),
    (FailureKind.CONFIG, HostStatus.BLOCKED),
    (FailureKind.FAILED, HostStatus.FAILED),
    (FailureKind.PROTOCOL, HostStatus.FAILED),
    (FailureKind.SKIPPED, HostStatus.SKIPPED),
])
def test_why_a_step_failed_gives_the_host_status(failure: FailureKind | None,
                                                 status: HostStatus) -> None:
    assert host_status_for(failure, success=HostStatus.VERIFIED) is status


def test_every_failure_kind_has_a_host_status() -> None:
    for kind in FailureKind:
        assert host_status_for(kind, success=HostStatus.PENDING) in HostStatus


@pytest.mark.parametrize(("error", "kind"), [
    (ConnectionFailedError("h", "x"), FailureKind.UNREACHABLE),
    (DeviceTimeoutError("h", "x"), FailureKind.TIMEOUT),
    (AuthenticationFailedError("h", "x"), FailureKind.AUTH),
    (HostKeyUnknownError("h", "x"), FailureKind.HOST_KEY_UNKNOWN),
    (HostKeyChangedError("h", "x", presented="a", pinned="b"), FailureKind.HOST_KEY_CHANGED),
    (CommandFailedError("h", "x"), FailureKind.FAILED),
    (DevicesFailedError("op", {"h": "x"}), FailureKind.FAILED),
])
def test_each_device_error_carries_its_failure_kind(error: DeviceError,
                                                    kind: FailureKind) -> None:
    assert error.kind is kind


def test_every_device_error_class_names_its_kind() -> None:
    def subclasses(cls: type) -> list[type]:
        return [cls, *(c for sub in cls.__subclasses__() for c in subclasses(sub))]

    for cls in subclasses(DeviceError):
        assert isinstance(cls.kind, FailureKind), cls  # type: ignore[attr-defined]


def test_counts_give_ansibles_verdict() -> None:
    assert Counts().status is RecapStatus.OK
    assert Counts(ok=3, changed=1).plus(failed=1).status is RecapStatus.FAILED
    assert Counts(failed=1, unreachable=1).status is RecapStatus.UNREACHABLE
    assert HostStatus.CHECKED in DONE and HostStatus.FAILED not in DONE


README = PACKAGE.parent / "README.md"


def _readme_table() -> dict[str, tuple[str, str]]:
    """host status -> (device state after an apply run, after a --check run), as the
    README's provisioning table prints them (rows of one status merged: "unchanged"
    wins only if every row of it says so)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| what the run found on a device |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        _found, status, apply, check = (c.strip().strip("`") for c in line.strip("|").split("|"))
        old = rows.get(status)
        rows[status] = (apply, check) if old is None or old[0] == "unchanged" else old
    return rows


def test_the_readme_table_is_the_mapping() -> None:
    table = _readme_table()
    assert set(table) == {s.value for s in HostStatus} - {"pending", "running"}
    for status, apply, check in state_table():
        if status.value not in table:
            continue
        want = (apply.value if apply else "unchanged", check.value if check else "unchanged")
        said = table[status.value]
        said = (want[0] if said[0] == "—" else said[0], want[1] if said[1] == "—" else said[1])
        assert said == want, status
