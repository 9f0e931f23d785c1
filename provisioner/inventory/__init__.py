"""Ansible-native inventories of the schools' devices, and their checks."""

from provisioner.inventory.check import CountComparison, InventoryReport, check_inventory
from provisioner.inventory.loader import InventoryLoad, load_inventories
from provisioner.inventory.profile import network_profile
from provisioner.inventory.writer import write_school_inventory

__all__ = [
    "CountComparison",
    "InventoryLoad",
    "InventoryReport",
    "check_inventory",
    "load_inventories",
    "network_profile",
    "write_school_inventory",
]
