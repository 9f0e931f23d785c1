"""Provisioning a school: preflight, the play through Ansible, verification, records, locks."""
