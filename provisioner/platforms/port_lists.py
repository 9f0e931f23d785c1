"""Port lists as HPE Aruba AOS-S writes them (`1-12,21,25-28`), both ways.

Imports nothing of the tool: the AOS-S cliconf plugin, which Ansible loads in its
connection process, uses it beside the platform's read-back and simulator.
"""

from __future__ import annotations


def ports_of(text: str) -> set[int]:
    """`1-12,21,25-28` as port numbers (stacked `1/5` names are not read)."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        if first.isdigit() and (last or first).isdigit():
            found |= set(range(int(first), int(last or first) + 1))
    return found


def format_ports(ports: set[int]) -> str:
    """Ports as AOS-S lists them: sorted, runs of two or more as `a-b`, comma-separated."""
    runs: list[list[int]] = []
    for port in sorted(ports):
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
