"""Ansible plugins of provisioner, loaded by `ansible-playbook` (not imported by the tool)."""
