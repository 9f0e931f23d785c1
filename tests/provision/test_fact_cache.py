"""The fact cache of a school's runs: which hosts keep their facts, and Ansible's settings."""

from __future__ import annotations

import json
from pathlib import Path

from provisioner.ansible import FACT_PREFIX, FACT_TTL_S, PlaybookJob, ansible_env, run_playbook
from provisioner.db import Store
from provisioner.models import HostRun
from provisioner.provision.facts import (
    cached_files,
    fact_cache_dir,
    forget_facts,
    prepare_fact_cache,
)


def _cache(tmp_path: Path, school: str, *hosts: str) -> Path:
    folder = fact_cache_dir(tmp_path, school)
    folder.mkdir(parents=True)
    for host in hosts:
        (folder / f"{FACT_PREFIX}{host}").write_text("{}")
    return folder


def test_only_hosts_whose_last_run_verified_them_keep_their_facts(tmp_path: Path) -> None:
    folder = _cache(tmp_path, "100001", "srv01", "s1_sw01", "ap01", "ap02", "ap011")
    assert prepare_fact_cache(folder, ["srv01", "sw01", "ap01"], {"srv01", "ap01"}) == folder
    # sw01 was not verified: gathered afresh; ap02 and ap011 are not in this run.
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{FACT_PREFIX}ap01", f"{FACT_PREFIX}ap011", f"{FACT_PREFIX}ap02", f"{FACT_PREFIX}srv01"]


def test_the_cache_folder_is_made_private(tmp_path: Path) -> None:
    folder = prepare_fact_cache(fact_cache_dir(tmp_path, "100002"), ["srv01"], set())
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700


def test_trust_forgets_a_hosts_facts_in_every_school(tmp_path: Path) -> None:
    one = _cache(tmp_path, "100001", "s1_srv01", "srv02")
    two = _cache(tmp_path, "100002", "srv01")
    assert forget_facts(tmp_path, "srv01") == 2
    assert [p.name for p in one.iterdir()] == [f"{FACT_PREFIX}srv02"]
    assert list(two.iterdir()) == []
    assert forget_facts(tmp_path / "no-runs-yet", "srv01") == 0


def test_ansible_uses_the_cache_only_when_given_one(tmp_path: Path) -> None:
    job = PlaybookJob(tmp_path / "site.yml", tmp_path / "inv", tmp_path / "run")
    assert "ANSIBLE_CACHE_PLUGIN" not in ansible_env(job)
    cached = ansible_env(PlaybookJob(tmp_path / "site.yml", tmp_path / "inv", tmp_path / "run",
                                     fact_cache=tmp_path / "facts"))
    assert (cached["ANSIBLE_GATHERING"], cached["ANSIBLE_CACHE_PLUGIN"]) == ("smart", "jsonfile")
    assert cached["ANSIBLE_CACHE_PLUGIN_PREFIX"] == FACT_PREFIX
    assert cached["ANSIBLE_CACHE_PLUGIN_TIMEOUT"] == str(FACT_TTL_S)


def test_verified_last_reads_each_hosts_latest_earlier_run(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    try:
        runs = store.runs

        def run(school: str, **statuses: str) -> int:
            run_id = runs.start(kind="provision", school_id=school, user="t", arguments={},
                                playbook_commit="", pid=1, pid_started=1, artifacts="")
            runs.save_hosts(run_id, [HostRun(h, "server", s) for h, s in statuses.items()])
            return run_id

        run("100001", srv01="verified", ap01="verified", sw01="verified")
        run("100001", ap01="unreachable", sw01="verified")
        run("100002", srv01="failed")  # another school's run says nothing of this one
        current = run("100001", srv01="pending", ap01="pending", sw01="pending", ap02="pending")
        assert runs.verified_last("100001", ["srv01", "ap01", "sw01", "ap02"], current) == {
            "srv01", "sw01"}
        assert runs.verified_last("100001", [], current) == set()
    finally:
        store.close()


GATHER = """\
- name: Gather
  hosts: all
  gather_facts: true
  gather_subset: ["!all", "!min", "distribution"]
  tasks:
    - name: Use a fact
      ansible.builtin.debug:
        msg: "{{ ansible_facts.os_family }}"
"""


def _gathered_hosts(artifact_dir: Path) -> set[str]:
    events = (json.loads(p.read_text()) for p in (artifact_dir / "job_events").glob("*.json"))
    return {e["event_data"]["host"] for e in events
            if e["event"] == "runner_on_ok" and e["event_data"].get("task") == "Gathering Facts"}


def test_a_real_run_gathers_once_then_reads_the_cache(tmp_path: Path) -> None:
    (tmp_path / "site.yml").write_text(GATHER)
    (tmp_path / "inv").write_text("a ansible_connection=local "
                                  "ansible_python_interpreter=/usr/bin/python3\n")
    cache = prepare_fact_cache(fact_cache_dir(tmp_path / "runs", "100001"), ["a"], set())

    def run(name: str, facts: Path | None) -> Path:
        outcome = run_playbook(PlaybookJob(tmp_path / "site.yml", tmp_path / "inv",
                                           tmp_path / name, fact_cache=facts))
        assert outcome.status == "successful" and outcome.hosts["a"].task == "Use a fact"
        return outcome.artifact_dir

    assert _gathered_hosts(run("first", cache)) == {"a"}
    assert [p.name for p in cached_files(cache, "a")] == [f"{FACT_PREFIX}s1_a"]
    assert _gathered_hosts(run("again", cache)) == set()
    assert _gathered_hosts(run("uncached", None)) == {"a"}  # without: gathered every time
    prepare_fact_cache(cache, ["a"], set())  # its last run did not verify it
    assert _gathered_hosts(run("dropped", cache)) == {"a"}
