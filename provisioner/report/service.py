"""Export the report: build it, render one format, write the file, keep a snapshot.

The renderers are imported on use: a CSV export should not pay for loading
WeasyPrint, and a machine without pango can still write every other format.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from provisioner.db import Store
from provisioner.db.store import now
from provisioner.errors import ConfigError, ProvisionerError
from provisioner.models import ExportSnapshot
from provisioner.report.changes import (
    FIRST_EXPORT_NOTE,
    compare,
    find_snapshot,
    snapshot_figures,
)
from provisioner.report.model import Report, Scope, build_report, check_as_of

FORMATS = ("xlsx", "pdf", "html", "csv", "json")
BINARY_FORMATS = ("xlsx", "pdf")


def renderer(fmt: str) -> Callable[[Report], bytes]:
    """The function that renders `fmt` ("xlsx", "pdf", "html", "csv", "json").

    Raises:
        ConfigError: an unknown format.
    """
    if fmt == "xlsx":
        from provisioner.report.xlsx_format import render_xlsx
        return render_xlsx
    if fmt == "pdf":
        from provisioner.report.pdf_format import render_pdf
        return render_pdf
    if fmt == "html":
        from provisioner.report.html_format import render_html
        return render_html
    if fmt == "csv":
        from provisioner.report.csv_format import render_csv
        return render_csv
    if fmt == "json":
        from provisioner.report.json_format import render_json
        return render_json
    raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


def make_report(store: Store, scope: Scope, since: str | None = None) -> Report:
    """Build the report for `scope`, with the changes since a snapshot if asked.

    Args:
        store: the state database (read only here).
        scope: what to report.
        since: "last" (no changes before the first export), an ISO date (the newest
            export made on or before it), or None.

    Raises:
        ConfigError: a future as-of date or a malformed `since`.
        NotFoundError: no plan in force, nothing in scope, or no export on or before
            the date `since` names.
    """
    check_as_of(scope.as_of, dt.datetime.now(dt.UTC).date())
    snapshot = None
    if since is not None:
        try:
            snapshot = find_snapshot(store, since)
        except ValueError as exc:
            raise ConfigError(f"--since {since!r} is neither 'last' nor a date like "
                              "2026-06-30") from exc
    report = build_report(store, scope, generated_at=now())
    if snapshot is not None:
        report = replace(report, changes=compare(report, snapshot))
    elif since == "last":
        report = replace(report, first_since=True)
    return report


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file, so a failed export leaves no half file.

    Raises:
        ProvisionerError: the file cannot be written (the message names it).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise ProvisionerError(f"cannot write {path} ({exc.strerror or exc}); choose another "
                               "file with -o") from exc


@dataclass(frozen=True)
class ExportOutcome:
    """What an export produced: the report, the bytes and file per format, the snapshot,
    and a note for the user ("" or FIRST_EXPORT_NOTE)."""

    report: Report
    data: dict[str, bytes]
    files: dict[str, Path]
    snapshot: ExportSnapshot
    note: str = ""


def output_paths(output: Path, formats: Sequence[str]) -> dict[str, Path]:
    """Where each format goes: `output` itself for one format; for several, `output` with
    each format's suffix (`bericht` or `bericht.pdf` -> bericht.pdf, bericht.xlsx, ...)."""
    if len(formats) == 1:
        return {formats[0]: output}
    stem = output.with_suffix("") if output.suffix.lstrip(".") in FORMATS else output
    return {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in formats}


def export_report(store: Store, scope: Scope, formats: Sequence[str], *, user: str,
                  since: str | None = None, output: Path | None = None) -> ExportOutcome:
    """Build the report once, render each format, write the files, then keep one snapshot.

    Args:
        formats: one or more of FORMATS, each rendered from the same report.
        output: the file (one format) or the name the files share (several); None keeps
            the bytes in the outcome only.

    The snapshot is stored only after every file was written, so a failed export is
    never the "last meeting" a later `--since last` compares with.

    Raises:
        ConfigError, NotFoundError: see `make_report`; ProvisionerError: unwritable file.
    """
    formats = list(dict.fromkeys(formats))
    renderers = {fmt: renderer(fmt) for fmt in formats}
    report = make_report(store, scope, since)
    data = {fmt: render(report) for fmt, render in renderers.items()}
    files = output_paths(output, formats) if output is not None else {}
    for fmt, path in files.items():
        write_atomically(path, data[fmt])
    figures = json.dumps(snapshot_figures(report), ensure_ascii=False, sort_keys=True)
    snapshot = store.save_snapshot(user=user, as_of=scope.as_of.isoformat(),
                                   format=",".join(formats), scope=scope.describe(),
                                   figures=figures)
    note = FIRST_EXPORT_NOTE if report.first_since else ""
    return ExportOutcome(report, data, files, snapshot, note)
