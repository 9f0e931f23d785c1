"""The one way the lab runs system commands: argv lists, stderr captured into the error.

Every `ip`, `mount`, `debootstrap` ... call of the lab goes through `run`, so a failing
command always surfaces as a `LabError` naming the step, the command and what the tool
said, and nothing is ever printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from provisioner.errors import EnvironmentProblemError, LabError

# The Debian package that ships each external tool the lab needs.
TOOL_PACKAGES: dict[str, str] = {
    "ip": "iproute2",
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "unshare": "util-linux",
    "setpriv": "util-linux",
    "mount": "mount",
    "umount": "mount",
    "chroot": "coreutils",
    "tar": "tar",
    "zstd": "zstd",
    "dpkg-scanpackages": "dpkg-dev",
    "rabbitmqctl": "rabbitmq-server",
    "epmd": "erlang-base",
}

# stderr is cut to this many characters in error messages: enough to see the cause.
_STDERR_LIMIT = 400


def _tail(text: str) -> str:
    one_line = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return one_line[-_STDERR_LIMIT:]


def run(
    argv: Sequence[str | Path],
    *,
    step: str,
    input_text: str | None = None,
    timeout: float = 120.0,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run a command to completion and return its stdout.

    Args:
        argv: the command and its arguments (never a shell string).
        step: what the lab was doing, for the error message ("create bridge pvlab0").
        input_text: text fed to the command's stdin (e.g. an `ip -batch -` script).
        timeout: seconds before the command counts as hung.
        cwd: working directory.
        env: the command's whole environment (default: this process's).

    Raises:
        LabError: the command is missing, failed, or timed out; the message carries
            its stderr (commands never get secrets on their command line).
    """
    args = [str(a) for a in argv]
    try:
        done = subprocess.run(
            args,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env,
            check=False,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise missing_tool(args[0]) from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{step}: '{' '.join(args[:3])} ...' hung for {timeout:.0f} s; "
                       "run 'provision lab down' and try again") from exc
    if done.returncode != 0:
        raise LabError(
            f"{step}: '{args[0]}' exited {done.returncode}: {_tail(done.stderr) or 'no message'}"
        )
    return done.stdout


def missing_tool(tool: str) -> EnvironmentProblemError:
    """The error for a tool that is not installed, naming its Debian package."""
    package = TOOL_PACKAGES.get(Path(tool).name, Path(tool).name)
    return EnvironmentProblemError(
        f"the lab needs '{Path(tool).name}', which is not installed; "
        f"run 'apt-get install {package}'"
    )


def require_tools(tools: Sequence[str]) -> None:
    """Raise for the first tool of `tools` that is not on PATH.

    Raises:
        EnvironmentProblemError: naming the Debian packages of all missing tools.
    """
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = sorted({TOOL_PACKAGES.get(tool, tool) for tool in missing})
        raise EnvironmentProblemError(
            f"the lab needs {', '.join(missing)}, which is not installed; "
            f"run 'apt-get install {' '.join(packages)}'"
        )


def require_root() -> None:
    """Raise unless running as root (namespaces, mounts and bridges need it).

    Raises:
        EnvironmentProblemError: not root.
    """
    if os.geteuid() != 0:
        raise EnvironmentProblemError(
            "the lab needs root (network namespaces, bridges, mounts); "
            "run the command again with sudo"
        )


def parse_mounts_below(mountinfo_text: str, directory: Path) -> list[str]:
    """Mount points at or below `directory` in /proc/self/mountinfo text, deepest first.

    Mount points are octal-escaped there (a space is `\\040`); they are unescaped here.
    """
    base = str(directory)
    found = []
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        if point == base or point.startswith(base.rstrip("/") + "/"):
            found.append(point)
    # Deepest first, and later mounts over earlier ones first (reverse mount order).
    ordered = list(reversed(found))
    return sorted(ordered, key=lambda p: p.count("/"), reverse=True)


def mounts_below(directory: Path) -> list[str]:
    """The current mount points at or below `directory`, deepest first."""
    text = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
    return parse_mounts_below(text, directory.resolve())


def unmount_below(directory: Path, step: str) -> int:
    """Unmount everything at or below `directory`; returns how many were unmounted.

    Raises:
        LabError: a mount stays busy (a process still runs from it).
    """
    count = 0
    for point in mounts_below(directory):
        run(["umount", point], step=f"{step}: unmount {point}")
        count += 1
    return count
