"""Ansible action plugins of provisioner (found through ANSIBLE_ACTION_PLUGINS)."""
