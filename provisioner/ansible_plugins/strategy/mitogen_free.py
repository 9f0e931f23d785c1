"""Ansible strategy `mitogen_free`: mitogen over `free`, unpinned (mitogen_unpinned.py)."""

from __future__ import annotations

from provisioner.ansible_plugins.strategy.mitogen_unpinned import strategy_class

StrategyModule = strategy_class("free")
