"""The fact cache of a school's runs: a re-run within the hour does not gather again.

Ansible's `jsonfile` cache with `gathering: smart` (the hand-tuned setup Ansible's own
docs give) keeps each host's gathered facts in `<runs>/facts/<school>/facts-s1_<host>`
for an hour (`FACT_TTL_S` in provisioner/ansible.py). Facts describe the installed
system (OS, addresses, container or not), so a host keeps its cached facts only
while it stays as it was seen: its cache is removed before a run unless its last run
ended `verified`, and `provision trust` removes it (a new host key can mean a new installation).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path

from provisioner.ansible import FACT_PREFIX as PREFIX


def fact_cache_dir(runs_root: Path, school_id: str) -> Path:
    """The school's cache folder (made on first use, mode 0700)."""
    return runs_root / "facts" / school_id


def prepare_fact_cache(directory: Path, hosts: Iterable[str], verified: Collection[str]) -> Path:
    """Make `directory`; drop the cached facts of every host in `hosts` not in `verified`.

    Returns:
        `directory`, for `PlaybookJob.fact_cache`.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for host in hosts:
        if host not in verified:
            for cached in cached_files(directory, host):
                cached.unlink(missing_ok=True)
    return directory


def forget_facts(runs_root: Path, host: str) -> int:
    """Remove `host`'s cached facts in every school's cache; how many files went."""
    gone = 0
    for school in (runs_root / "facts").glob("*"):
        for cached in cached_files(school, host):
            cached.unlink(missing_ok=True)
            gone += 1
    return gone


def cached_files(directory: Path, host: str) -> list[Path]:
    """`host`'s files in a cache folder: `facts-<host>`, or with the schema tag that
    ansible-core 2.19 puts before the host (`facts-s1_<host>`)."""
    name = re.compile(rf"{re.escape(PREFIX)}(?:s\d+_)?{re.escape(host)}")
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if name.fullmatch(p.name)]
