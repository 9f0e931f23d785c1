"""Ansible strategy `mitogen_linear`: mitogen over `linear`, unpinned (mitogen_unpinned.py)."""

from __future__ import annotations

from provisioner.ansible_plugins.strategy.mitogen_unpinned import strategy_class

StrategyModule = strategy_class("linear")
