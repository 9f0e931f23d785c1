"""Jinja filters of the site playbook (found through ANSIBLE_FILTER_PLUGINS / ansible.cfg)."""
