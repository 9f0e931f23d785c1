"""network_sessions: installed only on the ansible-core series it follows, and what it
does with an open session's answers (pure logic; the lab test counts helper starts)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from ansible.errors import AnsibleError
from ansible.executor import task_executor

from provisioner.ansible_plugins import network_sessions


@pytest.fixture
def restored() -> Any:
    original = task_executor.start_connection
    yield
    task_executor.start_connection = original


def test_installed_on_the_followed_series(restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network_sessions, "ansible_version", "2.19.14")
    assert network_sessions.install()
    assert task_executor.start_connection is network_sessions.start_connection


def test_left_alone_on_another_series(restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network_sessions, "ansible_version", "2.20.0")
    before = task_executor.start_connection
    assert not network_sessions.install()
    assert task_executor.start_connection is before


class _Session:
    """An open session's JSON-RPC answers, as `Connection(socket)` gives them."""

    def __init__(self, fail_on: str = "", code: int | None = None) -> None:
        self.fail_on, self.code, self.calls = fail_on, code, []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if name == self.fail_on:
                exc = ConnectionError(f"{name} failed")
                exc.code = self.code  # type: ignore[attr-defined]
                raise exc
            return [("vvvv", "queued")] if name == "pop_messages" else None
        return call


CONTEXT = SimpleNamespace(remote_addr="10.213.1.14", serialize=lambda: {"check_mode": False})


def test_a_new_task_is_handed_its_options_play_context_and_prompt() -> None:
    session = _Session()
    network_sessions._hand_over(session, CONTEXT, {"persistent_command_timeout": 30}, "uuid")
    assert session.calls == ["set_options", "update_play_context", "set_check_prompt",
                             "pop_messages"]


def test_a_session_without_play_context_methods_is_no_error() -> None:
    session = _Session("update_play_context", code=-32601)  # netconf, httpapi
    network_sessions._hand_over(session, CONTEXT, {}, "uuid")
    assert session.calls[-1] == "pop_messages"


@pytest.mark.parametrize("fail_on", ["set_options", "update_play_context"])
def test_a_refusal_fails_the_task_naming_the_switch(fail_on: str) -> None:
    session = _Session(fail_on, code=-32603)
    with pytest.raises(AnsibleError, match=r"10\.213\.1\.14: the network_cli session .* "
                                           rf"did not take the task .*{fail_on} failed"):
        network_sessions._hand_over(session, CONTEXT, {}, "uuid")
    assert session.calls[-1] == "pop_messages"  # its messages are still shown
