"""Talking to devices over SSH: reachability probes (`ssh`) and switch CLI sessions (`cli_session`).

Only `ssh` imports paramiko and only `cli_session` imports netmiko; both check host
keys strictly against a pinned known_hosts file and raise the `DeviceError` family
from `provisioner.errors`, never a third-party exception.
"""
