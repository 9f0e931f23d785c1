"""Ansible plugins of provisioner, loaded by `ansible-playbook` (not imported by the tool)."""

# The plugins the tool's strategy loads before its workers fork ("kind:name,...", set by
# provisioner.ansible; read by strategy/mitogen_unpinned.py's warm_plugins). Here, so both
# share it without the strategy importing the tool.
WARM_PLUGINS_ENV = "PROVISIONER_WARM_PLUGINS"
