"""Ansible's own inventory reader, behind one small interface (the only module importing it).

A school's folder is read exactly as `ansible-playbook -i <folder>` reads it:
`InventoryManager(loader=DataLoader(), sources=[folder])` parses every inventory file
in it (YAML `hosts.yml`/`hosts.yaml`, INI `hosts`, ranges, nested children, `vars:`),
and `VariableManager.get_vars(host=...)` merges `group_vars/`, `host_vars/` and the
file's vars in Ansible's precedence. Measured on 100 schools of 70 hosts (7,000): in
process 4.3-5.7 s of CPU, one `ansible-inventory --list` subprocess per school 60 s
(12x), so the API is used (bench/inventory.py, docs/benchmarks.md).

Ansible prints warnings (a file it could not parse, odd group names) through its
`Display`; they are captured here with ansible-core's `DeferredWarningContext` and
returned as data, so nothing of Ansible's reaches stdout.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible._internal._datatag._tags import Origin
from ansible._internal._display_utils import DeferredWarningContext
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.module_utils._internal._messages import Event, WarningSummary
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.vars.manager import VariableManager

from provisioner.errors import Problem

_UNPARSED = "Unable to parse "
_UNPARSED_TAIL = " as an inventory source"
_NOTHING_PARSED = "No inventory was parsed"
_PLUGIN_FAILED = "Failed to parse inventory with "
_TEMPLATE_MARKS = ("{{", "{%")


class _Loader(DataLoader):
    """Ansible's DataLoader, minus two costs of re-reading a file nobody else holds.

    For `load_from_file(cache='none')` Ansible parses afresh, keeps nothing, and still
    deep-copies the result "for safety"; and its `auto` inventory plugin parses every
    `hosts.yml` only to look for a `plugin:` key before the `yaml` plugin parses it
    again. On tagged data the copies were over half of reading a city's inventories
    and the double parse a quarter of the rest (docs/benchmarks.md). Here a fresh
    parse is returned uncopied, and the `auto` plugin's parse (read with templates
    trusted, as the `yaml` plugin reads it; `auto` only looks at `plugin:`) is handed
    once to the next reader of the same file. Cached data (group_vars) is untouched.
    """

    def __init__(self) -> None:
        super().__init__()
        self._fresh: dict[str, Any] = {}

    def load_from_file(self, file_name: str, cache: str = "all", unsafe: bool = False,
                       json_only: bool = False, trusted_as_template: bool = False) -> Any:
        if cache != "none" or json_only:
            return super().load_from_file(file_name, cache=cache, unsafe=unsafe,
                                          json_only=json_only,
                                          trusted_as_template=trusted_as_template)
        path = self.path_dwim(file_name)
        if path in self._fresh:
            return self._fresh.pop(path)
        data = super().load_from_file(path, cache="none", unsafe=True,
                                      trusted_as_template=True)
        if not trusted_as_template:  # the `auto` plugin's look; `yaml` reads it next
            self._fresh[path] = data
        return data


class RenderError(ValueError):
    """A Jinja2 value Ansible itself could not render (undefined variable, bad syntax)."""


@dataclass(frozen=True)
class AnsibleHost:
    """One host as Ansible sees it.

    Attributes:
        name: the inventory host name (after range expansion).
        groups: every group the host belongs to, directly or through child groups
            (includes `all`).
        vars: the host's merged variables as `ansible-playbook` sees them, not yet
            rendered (Jinja2 strings are still strings).
        source: the inventory file that defines the host.
    """

    name: str
    groups: frozenset[str]
    vars: dict[str, Any]
    source: str
    _loader: Any = field(default=None, repr=False, compare=False)

    def render(self, value: Any) -> Any:
        """`value` rendered by Ansible's templar with this host's vars (as a task would).

        Raises:
            RenderError: Ansible cannot render it; the message says why.
        """
        if not _holds_template(value):
            return value
        try:
            return Templar(loader=self._loader, variables=self.vars).template(value)
        except AnsibleError as exc:
            raise RenderError(_first_line(exc.message or str(exc))) from exc


@dataclass
class AnsibleInventory:
    """What Ansible read from one folder: hosts, files it refused, its other warnings."""

    hosts: list[AnsibleHost] = field(default_factory=list)
    unparsed: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _holds_template(value: Any) -> bool:
    if isinstance(value, str):
        return any(mark in value for mark in _TEMPLATE_MARKS)
    if isinstance(value, dict):
        return any(_holds_template(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_template(v) for v in value)
    return False


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _events(event: Event) -> Iterator[Event]:
    current: Event | None = event
    while current is not None:
        yield current
        current = current.chain.event if current.chain else None


def _failure_reason(summary: WarningSummary) -> str:
    """The most useful line of a plugin's parse failure, with the line number if known."""
    events = list(_events(summary.event))[1:] or [summary.event]
    for event in events:
        context = event.formatted_source_context or ""
        origin = context.splitlines()[0].removeprefix("Origin: ") if context else ""
        parts = origin.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return f"{_first_line(event.msg)} (line {parts[1]})"
    return _first_line(events[-1].msg)


def _plugin_of(message: str) -> str:
    return message.removeprefix(_PLUGIN_FAILED).split("'")[1] if "'" in message else ""


def _unparsed_problem(source: str, failures: dict[str, str], folder: Path) -> Problem:
    if Path(source) == folder:
        return Problem(str(folder), "Ansible found no inventory file it can read here; "
                                    "add a hosts.yml (or an INI hosts file)")
    wanted = "yaml" if source.endswith((".yml", ".yaml", ".json")) else "ini"
    if failures.get(wanted, "").startswith("Plugin configuration"):
        wanted = "auto"  # a `plugin:` file: why the plugin failed is what helps
    reason = failures.get(wanted) or next(iter(failures.values()), "not an inventory format")
    return Problem(source, f"Ansible cannot read it as an inventory ({reason}); fix it, or "
                           "move it out of the school's folder (Ansible reads every file in it)")


def _sort_warnings(summaries: Sequence[WarningSummary], folder: Path) -> AnsibleInventory:
    """Split Ansible's captured warnings into unparsed files (problems) and the rest."""
    result = AnsibleInventory()
    failures: dict[str, str] = {}
    for summary in summaries:
        message = summary.event.msg
        if message.startswith(_PLUGIN_FAILED):
            failures[_plugin_of(message)] = _failure_reason(summary)
        elif message.startswith(_UNPARSED) and message.endswith(_UNPARSED_TAIL):
            source = message.removeprefix(_UNPARSED).removesuffix(_UNPARSED_TAIL)
            result.unparsed.append(_unparsed_problem(source, failures, folder))
            failures = {}
        elif not message.startswith(_NOTHING_PARSED):
            result.warnings.append(Problem(str(folder), f"Ansible: {_first_line(message)}"))
    if len(result.unparsed) > 1:
        # "nothing readable in the folder" only adds noise to the files named.
        result.unparsed = [p for p in result.unparsed if p.file != str(folder)]
    return result


def read_inventory(folder: Path) -> AnsibleInventory:
    """Read one inventory folder through Ansible's inventory API.

    Args:
        folder: an inventory source folder (a school's `inventories/<school_id>/`).

    Returns:
        Its hosts with merged vars, the files Ansible could not parse (as problems
        naming the file) and Ansible's other warnings (e.g. invalid group names).
    """
    refused: Problem | None = None
    with DeferredWarningContext(variables={}) as captured:
        try:
            hosts = _hosts(folder)
        except AnsibleError as exc:
            # A broken group_vars/host_vars file stops Ansible as a whole, as it
            # stops ansible-playbook: nothing of this folder can be trusted then.
            hosts = []
            file, line = _error_place(exc, folder)
            refused = Problem(file, f"Ansible cannot read it "
                              f"({_first_line(exc.message or str(exc))}); fix it", row=line)
    result = _sort_warnings([*captured.get_warnings(), *captured.get_deprecation_warnings()],
                            folder)
    result.hosts = hosts
    if refused is not None:
        result.unparsed.append(refused)
    return result


def _hosts(folder: Path) -> list[AnsibleHost]:
    loader = _Loader()
    manager = InventoryManager(loader=loader, sources=[str(folder)])
    variables = VariableManager(loader=loader, inventory=manager)
    return [
        AnsibleHost(
            name=host.name,
            groups=frozenset(group.name for group in host.get_groups()),
            vars=variables.get_vars(host=host, include_hostvars=False),
            source=str(host.vars.get("inventory_file") or folder),
            _loader=loader,
        )
        for host in manager.get_hosts()
    ]


def _error_place(exc: AnsibleError, folder: Path) -> tuple[str, int | None]:
    """The file and line an Ansible error points at, else the folder."""
    cause: BaseException | None = exc
    while cause is not None:
        obj = getattr(cause, "obj", None)
        origin = obj if isinstance(obj, Origin) else Origin.get_tag(obj)
        if origin is not None and origin.path:
            return str(origin.path), origin.line_num
        cause = cause.__cause__ or cause.__context__
    return str(folder), None


@functools.lru_cache(maxsize=64)
def _lines(path: str, _mtime_ns: int, _size: int) -> list[str]:
    # Keyed by modification time and size too: a file edited between two reads in
    # one process (a long-running caller, the tests) is read afresh.
    return Path(path).read_text(encoding="utf-8").splitlines()


def written_as(value: Any, key: str) -> tuple[str, str] | None:
    """Where `value` was written and the text written there, from Ansible's origin tags.

    YAML (1.1) turns `000123` into 83 and `1.10` into 1.1; Ansible's loader tags each
    value with the file, line and (YAML only) column it came from, so the text the
    person typed can be read back and compared.

    Args:
        value: a variable's value as loaded by Ansible.
        key: the variable's name (INI lines are searched for `key=`).

    Returns:
        `(file, raw text)`, or None when the value carries no origin (computed values).
    """
    origin = Origin.get_tag(value)
    if origin is None or not origin.path or not origin.line_num:
        return None
    try:
        stat = Path(origin.path).stat()
        line = _lines(origin.path, stat.st_mtime_ns, stat.st_size)[origin.line_num - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    if origin.col_num:
        raw = line[origin.col_num - 1:]
        for stop in (", ", ",", "}", "]", " #"):
            raw = raw.split(stop)[0]
        return origin.path, raw.strip()
    for token in line.split():
        if token.startswith(f"{key}="):
            return origin.path, token.removeprefix(f"{key}=")
    return None


def answers_snmp(host_vars: Mapping[str, Any]) -> bool:
    """Whether a host answers SNMP: host var `snmp`, read as Ansible reads a boolean,
    default true (the one reading of it for preflight, health and the WLAN read-back).

    Raises:
        ValueError: `snmp` is no boolean in Ansible's sense.
    """
    return as_bool(host_vars.get("snmp", True))


def as_bool(value: Any) -> bool:
    """`value` read as Ansible reads a boolean (true/false, yes/no, on/off, 1/0).

    Raises:
        ValueError: `value` is no boolean in Ansible's sense.
    """
    try:
        return bool(boolean(value, strict=True))
    except TypeError as exc:
        raise ValueError(f"{value!r} is not true or false") from exc
