"""What every `provision` command shares: the root group, its context, errors to exit statuses."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from provisioner import __version__
from provisioner.app import App, build_app
from provisioner.errors import InvalidInputError, Problem, ProvisionerError
from provisioner.lines import printable
from provisioner.terminal import render_table, to_json

F = TypeVar("F", bound=Callable[..., Any])


def echo(text: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Print text for people: the one way the commands do. Each line with its control
    characters as blanks (`lines.printable`): much of what is printed comes from devices
    (a task's error, an AP's name on its controller, a health reason), and a hostile
    device must not rewrite the admin's terminal with escape sequences. Line breaks stay."""
    click.echo("\n".join(printable(line) for line in str(text).split("\n")), err=err, nl=nl)


def echo_rendered(text: str, *, nl: bool = True) -> None:
    """Print what is already safe for a terminal: JSON (`to_json` escapes every control
    character) or a table `terminal` rendered from cells it made printable, with its own
    colour on a terminal."""
    click.echo(text, nl=nl)


class Context:
    """What the global options give every command."""

    def __init__(self, app: App, json_output: bool, verbose: int) -> None:
        self.app = app
        self.json_output = json_output
        self.verbose = verbose

    @property
    def tty(self) -> bool:
        """Whether stdout is a terminal (tables with lines and colour)."""
        return sys.stdout.isatty()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
              title: str | None = None, right: Sequence[int] = ()) -> None:
        """Print a table."""
        echo_rendered(render_table(headers, rows, title=title, tty=self.tty, right=right),
                      nl=False)

    def progress(self, message: str) -> None:
        """Progress for people: on stderr, so stdout stays data."""
        echo(message, err=True)


def plural(count: int, noun: str) -> str:
    """`count` and `noun`, in the plural unless it is one ("1 school", "2 schools")."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def problems_of(exc: ProvisionerError) -> list[str]:
    """The single problems behind an error (each bad row, each refused address), if any."""
    return [str(p) for p in exc.problems] if isinstance(exc, InvalidInputError) else []


def error_dict(message: str, exit_status: int,
               problems: Sequence[Problem] = ()) -> dict[str, Any]:
    """The one JSON shape of an error, whatever the command: what went wrong (one line),
    the exit status, and the single problems behind it, each as {file, message, row,
    column} (a bad row of a plan, a host's address outside the management networks)."""
    return {"error": message, "exit_status": int(exit_status),
            "problems": [asdict(p) for p in problems]}


def error_of(exc: ProvisionerError) -> dict[str, Any]:
    """A library error in the JSON error shape (`error_dict`)."""
    problems = exc.problems if isinstance(exc, InvalidInputError) else []
    return error_dict(str(exc), int(exc.exit_status), problems)


def echo_error(exc: ProvisionerError, json_output: bool = False) -> None:
    """Print a library error as people should read it (its problems, then one line on
    stderr), or with `json_output` as the JSON error shape on stdout."""
    if json_output:
        echo_rendered(to_json(error_of(exc)), nl=False)
        return
    for problem in problems_of(exc):
        echo(f"  {problem}", err=True)
    echo(f"Error: {exc}", err=True)


def fail(exc: ProvisionerError, json_output: bool = False) -> NoReturn:
    """Print a library error (`echo_error`) and exit with its status."""
    echo_error(exc, json_output)
    raise click.exceptions.Exit(int(exc.exit_status))


class ProvisionerGroup(click.Group):
    """A group that turns library errors into one clear message and an exit status;
    with --json, into the one JSON error shape (`error_dict`) on stdout."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map ProvisionerError to its exit status."""
        try:
            return super().invoke(ctx)
        except ProvisionerError as exc:
            fail(exc, _json_output(ctx))
        except click.ClickException as exc:
            if not _json_output(ctx):
                raise
            echo_rendered(to_json(error_dict(exc.format_message(), exc.exit_code)), nl=False)
            raise click.exceptions.Exit(exc.exit_code) from exc
        finally:
            obj = ctx.find_object(Context)
            if obj is not None:
                obj.app.close()


def _json_output(ctx: click.Context) -> bool:
    # The root command makes the Context (in its callback), so look it up when needed.
    obj = ctx.find_object(Context)
    return obj is not None and obj.json_output


pass_ctx = click.make_pass_decorator(Context)


def json_option(func: F) -> F:
    """`--json` on a listing command, same as the global `--json`."""

    def set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Context).json_output = True

    # Eager: taken before the other options, so that a bad value given before it
    # (`--limit 0 --json`) is still refused in JSON.
    return click.option("--json", "json_flag", is_flag=True, expose_value=False,
                        is_eager=True, callback=set_json,
                        help="Machine-readable JSON output.")(func)


class SchoolIdType(click.ParamType):
    """A school id as typed, spaces removed ("100 001" is 100001); shown as SCHOOL."""

    name = "school"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        """The id without spaces."""
        return str(value).replace(" ", "")


school_id_type = SchoolIdType()


@click.group(cls=ProvisionerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="State database file [env PROVISIONER_DB; default in the user's data dir].")
@click.option("--inventories", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of per-school inventories [env PROVISIONER_INVENTORIES; "
                   "default ./inventories].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (TOML) [env PROVISIONER_CONFIG].")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv: debug).")
@click.version_option(__version__, prog_name="provision")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, inventories: Path | None,
        config_file: Path | None, json_output: bool, verbose: int) -> None:
    """Roll out, check and report the IT of a city's schools.

    Example: provision plan import examples/plan-musterstadt.csv
    """
    levels = {0: logging.WARNING, 1: logging.INFO}
    logging.basicConfig(level=levels.get(verbose, logging.DEBUG), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        app = build_app({"db": db, "inventories": inventories}, config_file=config_file)
    except ProvisionerError as exc:
        fail(exc, json_output)
    ctx.obj = Context(app, json_output, verbose)
