from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.config import load_settings
from provisioner.errors import ConfigError


def test_defaults_follow_xdg_dirs(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    settings = load_settings(env=env)
    assert settings.db == tmp_path / "data" / "provisioner" / "provisioner.db"
    assert settings.cache_dir == tmp_path / "cache" / "provisioner"
    assert settings.inventories == Path("inventories")


def test_flag_beats_env_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('db = "/from/file.db"\ninventories = "/inv/file"\nlab_dir = "/lab/file"\n')
    env = {"PROVISIONER_DB": "/from/env.db", "PROVISIONER_INVENTORIES": "/inv/env",
           "HOME": str(tmp_path)}
    settings = load_settings({"db": Path("/from/flag.db"), "inventories": None}, env, config)
    assert settings.db == Path("/from/flag.db")
    assert settings.inventories == Path("/inv/env")
    assert settings.lab_dir == Path("/lab/file")


def test_unknown_setting_in_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('databse = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting\\(s\\) databse"):
        load_settings(env={}, config_file=config)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={}, config_file=tmp_path / "nope.toml")
