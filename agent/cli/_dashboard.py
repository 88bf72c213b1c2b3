"""``research-agent dashboard``: serve the read-only web pages over the registry."""

from __future__ import annotations

from pathlib import Path

import click

from ._group import err_console, home_option, main, resolve_home
from ._signals import interruptible

DEFAULT_PORT = 8600


@main.command("dashboard")
@home_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback requires a token (generated, or --token-file).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--token-file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A file holding the token (one word, at least 16 characters); also asked for on loopback.")
@click.pass_context
def dashboard_cmd(ctx, local_home, host, port, token_file):
    """Live web pages of runs, trials, comparisons and exports; /metrics for Prometheus."""
    from ..dashboard import serve

    with interruptible():  # uvicorn stops cleanly, then re-raises the signal: exit 130/143 as every command
        serve(resolve_home(ctx, local_home), host, port, token_file,
              lambda line: err_console.print(line, highlight=False, soft_wrap=True, markup=False))
