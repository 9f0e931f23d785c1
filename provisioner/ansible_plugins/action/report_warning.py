"""Ansible action `report_warning`: tell the admin something about this host, as a warning.

A role's "Report ..." tasks use it where `ansible.builtin.debug` would print a message
nobody reads: what the run did but could not finish the way the profile wants (dnsmasq
written but not started, an AP without a radio, an AP without a DHCP reservation). It
runs on the control node, changes nothing, and returns its message as the task's
`warnings`, each as "HOST: message", so `ansible-playbook` prints it as
`[WARNING]: HOST: message` (Ansible's warnings name no host) and `provision school`
records the message with the host and shows it in the run's summary
(`provisioner.ansible.task_warnings`, `host_warnings`).

Options:

| option | meaning |
|---|---|
| `msg` | the warning: a string, or a list of strings (one warning each); required |

It refuses to run under `no_log`: Ansible's censoring of a `no_log` result keeps its
warnings and prints them (ansible-core `executor/task_result.py`, `_PRESERVE`).
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """The `report_warning` action; see the module docstring."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec={"msg": {"type": "raw", "required": True}})
        if self._task.no_log or self._play_context.no_log:
            # Ansible prints a no_log result's warnings all the same (its censoring keeps
            # them): a report that needs hiding must not be a warning.
            raise AnsibleActionFail("report_warning: not under no_log (Ansible prints a "
                                    "warning whatever no_log says); report without the secret")
        messages = warning_lines(args["msg"])
        if not messages:
            raise AnsibleActionFail("report_warning: msg is empty; give the warning's text")
        host = str((task_vars or {}).get("inventory_hostname") or "")
        result.update(changed=False, msg="; ".join(messages),
                      warnings=[f"{host}: {text}" if host else text for text in messages])
        return result


def warning_lines(value: object) -> list[str]:
    """The warnings `msg` gives: one per string of a list, or the one string; blanks dropped."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [text for text in (str(item).strip() for item in items if item is not None) if text]
