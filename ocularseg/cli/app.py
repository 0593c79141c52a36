"""The ``ocularseg`` command.

Heavy libraries (OpenCV, dlib, onnxruntime, torch) are imported inside the commands that
need them, so ``ocularseg --help`` stays fast. ``OcularsegError`` is rendered as one line on
stderr (the traceback only with ``--verbose``) and mapped to its exit code: 2 for usage and
config errors, 1 for the rest.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from ocularseg import __version__
from ocularseg.core.errors import OcularsegError

log = logging.getLogger("ocularseg")


class _State:
    verbose: bool = False


STATE = _State()


class OcularsegGroup(TyperGroup):
    """Click group that renders our errors as one clear line instead of a traceback."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OcularsegError as exc:
            if STATE.verbose:
                traceback.print_exc(file=sys.stderr)
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=OcularsegGroup,
    name="ocularseg",
    help=(
        "Eye segmentation and eyelid measurements (MRD1, visible iris fraction) from face "
        "video, for ptosis assessment. A measurement aid, not a diagnosis."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ocularseg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log details and show tracebacks on errors."
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Global options."""
    STATE.verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


def _register_commands() -> None:
    # Imported here (not at the top) to keep the command modules next to their logic while
    # the modules themselves import only Typer; heavy imports live inside each command.
    from ocularseg.cli import (
        analyze_cmd,
        data_cmd,
        evaluate_cmd,
        experiment_cmd,
        export_cmd,
        info_cmd,
        quantize_cmd,
        synth_cmd,
        synth_video_cmd,
        train_cmd,
    )

    analyze_cmd.register(app)
    info_cmd.register(app)
    synth_cmd.register(app)
    synth_video_cmd.register(app)
    data_cmd.register(app)
    train_cmd.register(app)
    evaluate_cmd.register(app)
    export_cmd.register(app)
    quantize_cmd.register(app)
    experiment_cmd.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="ocularseg")
