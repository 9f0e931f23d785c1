"""`provision export`: the committee report in XLSX, PDF, HTML, CSV or JSON."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from provisioner.cli.base import Context, cli, echo, echo_rendered, pass_ctx, school_id_type
from provisioner.errors import ConfigError
from provisioner.report import FORMATS, Scope, export_report
from provisioner.report.service import BINARY_FORMATS, ExportOutcome
from provisioner.report.text import LANGUAGES, Text
from provisioner.terminal import to_json


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _as_of(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else dt.datetime.now(dt.UTC).date()


@cli.command("export")
@click.option("--format", "formats", type=click.Choice(FORMATS), required=True, multiple=True,
              help="Output format; repeat it to write several from one report (needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: stdout; xlsx and pdf need a file or a pipe). "
                   "With several formats, the name they share: -o bericht gives bericht.pdf, "
                   "bericht.xlsx, ...")
@click.option("--lang", type=click.Choice(LANGUAGES), default="de", show_default=True,
              help="Language of labels, numbers and dates.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d", "%d.%m.%Y"]),
              help="Report as of this day, e.g. the Stichtag 2026-06-30 (default: today).")
@click.option("--school", "school_ids", type=school_id_type, multiple=True,
              help="Only this school (id); repeatable.")
@click.option("--year", type=int, help="Only this plan year.")
@click.option("--since", help="Show what changed since the export 'last' or of a date "
                              "(YYYY-MM-DD).")
@pass_ctx
def export_cmd(obj: Context, formats: tuple[str, ...], output: Path | None, lang: str,
               as_of: dt.datetime | None, school_ids: tuple[str, ...], year: int | None,
               since: str | None) -> None:
    """Write the committee report: plan against progress, budget, devices, health.

    Every export keeps a snapshot of its figures, so a later one can show what changed
    (--since last). The status rule (Ampel) is written into the report.

    Example: provision export --format pdf -o ausschuss.pdf --as-of 2026-06-30 --since last
    """
    _check_output(formats, output)
    scope = Scope(as_of=_as_of(as_of), school_ids=tuple(dict.fromkeys(school_ids)), year=year,
                  lang=lang)
    what = " ".join(f"--format {f}" for f in formats)
    with obj.app.audited(f"export {what}" + (f" -o {output.name}" if output else "")):
        outcome = export_report(obj.app.store, scope, formats, user=obj.app.user, since=since,
                                output=output)
    if outcome.note:
        echo(f"Note: {outcome.note}", err=True)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(outcome.data[formats[0]])
        sys.stdout.buffer.flush()
        return
    _show(obj, outcome, scope, lang)


def _check_output(formats: tuple[str, ...], output: Path | None) -> None:
    if output is not None:
        return
    if len(set(formats)) > 1:
        raise ConfigError("several formats need -o NAME: the files are NAME.pdf, NAME.xlsx, ...")
    if formats[0] in BINARY_FORMATS and _stdout_is_terminal():
        raise ConfigError(f"{formats[0]} is a binary format: give a file with "
                          f"-o FILE.{formats[0]} or pipe the output")


def _show(obj: Context, outcome: ExportOutcome, scope: Scope, lang: str) -> None:
    summary = outcome.report.summary
    files = {fmt: str(path) for fmt, path in outcome.files.items()}
    if obj.json_output:
        echo_rendered(to_json({"files": files, "as_of": scope.as_of.isoformat(),
                            "snapshot_id": outcome.snapshot.snapshot_id,
                            "summary": summary}), nl=False)
        return
    text = Text(lang)
    for fmt, path in outcome.files.items():
        echo(f"wrote {path} ({fmt}, {len(outcome.data[fmt]):,} bytes)")
    echo(f"{summary.schools} schools as of {text.date(scope.as_of)}: "
         f"{text.percent(summary.percent_done)} done, {text.money(summary.spent_eur)} "
         f"paid out; snapshot {outcome.snapshot.snapshot_id} kept for --since")
