"""``runs list``, ``runs show`` and ``report``: reading what the registry recorded."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from ..errors import UsageError
from ._group import home_option, main, resolve_home
from ._run import open_home_registry


@main.group("runs")
def runs_group():
    """Recorded runs."""


@runs_group.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_list(ctx, local_home, as_json):
    """Every run: id, created, goal, status, best metric with its interval."""
    list_runs(resolve_home(ctx, local_home), as_json)


@runs_group.command("show")
@click.argument("run_id")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_show(ctx, run_id, local_home, as_json):
    """One run with its trials (--json: the full export)."""
    show_run(resolve_home(ctx, local_home), run_id, as_json)


@main.command("report")
@click.argument("run_id")
@home_option
@click.pass_context
def report_cmd(ctx, run_id, local_home):
    """(Re)write RESEARCH_REPORT.md and report.html for RUN_ID; prints the Markdown path."""
    click.echo(str(report_run(resolve_home(ctx, local_home), run_id)))


def list_runs(home: Path, as_json: bool) -> None:
    with open_home_registry(home) as registry:
        rows = registry.list_runs()
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    from ..report._console import runs_table

    Console().print(runs_table(rows))


def show_run(home: Path, run_id: str, as_json: bool) -> None:
    with open_home_registry(home) as registry:
        doc = registry.export_run(run_id)
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    from ..report._console import print_run

    print_run(doc, Console())


def report_run(home: Path, run_id: str) -> Path:
    from ..report import write_run_report

    with open_home_registry(home) as registry:
        snapshot = registry.snapshot(run_id)
        paths = write_run_report(snapshot, registry.run_dir(run_id))
    if not paths:
        raise UsageError(f"{run_id}: nothing to report")
    return paths["markdown"]
