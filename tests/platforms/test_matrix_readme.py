"""The README's platform matrix is `provision platforms` as the registry prints it.

After changing a platform: `UPDATE_README=1 .venv/bin/pytest tests/platforms/test_matrix_readme.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from provisioner.cli import cli

README = Path(__file__).parent.parent.parent / "README.md"
START, END = "<!-- platforms:start -->", "<!-- platforms:end -->"


def _printed(*args: str) -> str:
    result = CliRunner().invoke(cli, ["platforms", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_readme_matrix_is_the_registrys() -> None:
    text = README.read_text(encoding="utf-8")
    current = text.split(START)[1].split(END)[0]
    wanted = f"\n```\n$ provision platforms\n{_printed()}```\n"
    if os.environ.get("UPDATE_README") and current != wanted:
        README.write_text(text.replace(START + current + END, START + wanted + END),
                          encoding="utf-8")
        return
    assert current == wanted, ("README platform matrix is stale: UPDATE_README=1 pytest "
                               "tests/platforms/test_matrix_readme.py")


def test_json_matrix_has_every_capability_per_platform() -> None:
    rows = json.loads(_printed("--json"))
    assert [r["platform"] for r in rows][:2] == ["cisco_ios", "aruba_aoss"]
    for row in rows:
        assert set(row["capabilities"]) == {"provision", "check mode", "verify", "health",
                                            "lab simulator"}
    ios = next(r for r in rows if r["platform"] == "cisco_ios")
    assert all(ios["capabilities"].values())
