"""Secrets are kept in files and passed around by path; this is where they are read."""

from __future__ import annotations

from pathlib import Path

from provisioner.errors import ConfigError


def read_secret(path: Path, what: str) -> str:
    """The first line of a secret file.

    Args:
        path: the file holding the secret.
        what: what the secret is for, to name it in an error (never the secret itself).

    Raises:
        ConfigError: the file is missing, unreadable or empty.
    """
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{what}: secret file {path} cannot be read ({exc.strerror}); "
                          "check the path in the inventory") from exc
    if not value:
        raise ConfigError(f"{what}: secret file {path} is empty; put the secret in it")
    return value
