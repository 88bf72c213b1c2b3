"""The ``research-agent`` click group: one line per error, exit codes, the shared ``--home``.

Exit codes are a contract (README, "Exit codes"). ``eval``: 0 the trial status is ``ok``; 3 any
other trial status except ``infra_error``, which is 1. ``run``/``resume``: 0 the goal was
achieved, 3 the run ended without achieving it. Every command: 1 an ``AgentError`` of ours or of
the environment (engine down, image missing, dataset unavailable), 2 a usage error; 130, 143, 129
interrupted by SIGINT, SIGTERM, SIGHUP (128 + the signal; ``_signals``).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ..defaults import home_dir
from ..errors import AgentError
from ._signals import exit_code, interruption_line

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MODEL_FAILED = 0, 1, 2, 3
err_console = Console(stderr=True)


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("debug")) or "--debug" in sys.argv


def _invoke_one_line(super_invoke, ctx: click.Context):
    """Map AgentError to one red line and its exit code; tracebacks only with --debug."""
    try:
        return super_invoke(ctx)
    except KeyboardInterrupt as exc:  # click would print "Aborted!" and exit 1: say what stopped us
        if _debug(ctx):
            traceback.print_exc()
        err_console.print(f"[yellow]{escape(interruption_line(exc))}[/]", highlight=False, soft_wrap=True)
        ctx.exit(exit_code(exc))
    except AgentError as exc:
        if _debug(ctx):
            traceback.print_exc()
        # soft_wrap: one line even past 80 columns (rich hard-wraps on a non-terminal)
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        ctx.exit(exc.exit_code)
    except click.UsageError as exc:  # a subcommand's bad flag or missing file: one line too
        err_console.print(f"[red]error:[/] {escape(exc.format_message())}", highlight=False,
                          soft_wrap=True)
        ctx.exit(exc.exit_code)


class AgentGroup(click.Group):
    def invoke(self, ctx: click.Context):
        return _invoke_one_line(super().invoke, ctx)


class OneLineErrors(click.Command):
    def invoke(self, ctx: click.Context):
        return _invoke_one_line(super().invoke, ctx)


# Every command that reads or writes runs also takes --home after its name (where a user who ran
# `run --home DIR` will type it next); the global one, before the command, still works.
home_option = click.option("--home", "local_home", default=None, type=click.Path(file_okay=False, path_type=Path),
                           help="Where runs live (same as the global --home).")


def resolve_home(ctx: click.Context, local_home: Path | None) -> Path:
    return home_dir(str(local_home)) if local_home else ctx.obj["home"]


@click.group(cls=AgentGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where runs and the dataset cache live (default ./runs or $RESEARCH_AGENT_HOME).")
@click.pass_context
def main(ctx: click.Context, debug: bool, home: Path | None) -> None:
    """A sandbox-first PyTorch research agent."""
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, home=home_dir(str(home) if home else None))


