"""Secrets are kept in files and passed around by path; this is where they are read."""

from __future__ import annotations

from pathlib import Path

from provisioner.errors import ConfigError
from provisioner.files import write_atomic


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


def write_secret_file(path: Path, text: str) -> None:
    """Replace a secret file atomically with mode 0600: a reader sees the old or the new
    file whole, and the secret is never readable by others, not even for a moment.

    The temporary file sits beside the target (same file system, so the rename is
    atomic) and is created 0600 before anything is written to it.

    Raises:
        ConfigError: the folder is missing or not writable.
    """
    try:
        write_atomic(path, text, 0o600, sync=True)
    except OSError as exc:
        raise ConfigError(f"cannot write secret file {path} ({exc.strerror}); "
                          "check that its folder exists and is writable") from exc
