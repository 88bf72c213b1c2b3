"""``export RUN --mlflow/--tensorboard``, and ``run/resume --mlflow`` (live logging) options."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import click
from rich.markup import escape

from ..errors import UsageError
from ._group import err_console, home_option, main, resolve_home

# `--mlflow` alone means MLflow's own default store (MLFLOW_TRACKING_URI, else sqlite:///mlflow.db).
mlflow_option = click.option(
    "--mlflow", "mlflow_uri", is_flag=False, flag_value="", default=None, metavar="[URI]",
    help="Log to MLflow: a tracking URI, or alone for MLflow's default ($MLFLOW_TRACKING_URI, else "
         "sqlite:///mlflow.db here). Needs research-agent[mlflow].")
experiment_option = click.option("--mlflow-experiment", default="research-agent", show_default=True,
                                 help="The MLflow experiment the runs go to.")


@main.command("export")
@click.argument("run_id")
@mlflow_option
@experiment_option
@click.option("--tensorboard", "tb_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR", help="Write TensorBoard event files under DIR/RUN_ID. Needs research-agent[tensorboard].")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def export_cmd(ctx, run_id, mlflow_uri, mlflow_experiment, tb_dir, local_home, as_json):
    """Send a recorded run to MLflow and/or TensorBoard (again: nothing is duplicated)."""
    if mlflow_uri is None and tb_dir is None:
        raise UsageError("say where to export: --mlflow [URI], --tensorboard DIR, or both")
    done = export_run(resolve_home(ctx, local_home), run_id, mlflow_uri, mlflow_experiment, tb_dir)
    if as_json:
        click.echo(json.dumps(done, indent=2))
        return
    for line in done.values():
        click.echo(line["line"])


def export_run(home: Path, run_id: str, mlflow_uri: str | None, experiment: str, tb_dir: Path | None) -> dict:
    from ..report import export_tensorboard, tracked_run
    from ._run import open_home_registry

    with open_home_registry(home) as registry:
        run = tracked_run(registry.snapshot(run_id))
    done = {}
    if mlflow_uri is not None:
        sink = _connect(mlflow_uri, experiment)
        counts = sink.sync(run)
        done["mlflow"] = {"where": sink.where, "parent_run_id": counts.parent_id, "trials": len(run.trials),
                          "created": counts.created, "line": f"mlflow: {run_id} is in {sink.where} (parent run "
                          f"{counts.parent_id}, {len(run.trials)} trials; {counts.created} MLflow runs created now)"}
    if tb_dir is not None:
        folder, n = export_tensorboard(run, tb_dir, run.params.get("metric", "accuracy"))
        done["tensorboard"] = {"folder": str(folder), "trials": n,
                               "line": f"tensorboard: {n} finished trials in {folder}; "
                                       f"view with `tensorboard --logdir {tb_dir}`"}
    return done


def _connect(uri: str, experiment: str):
    from ..report import MlflowSink

    return MlflowSink(uri or None, experiment)


@contextmanager
def live_tracking(registry, mlflow_uri: str | None, experiment: str):
    """``run/resume --mlflow``: a connected tracker before the run starts (a bad URI is one line and
    exit 1 before anything is recorded), closed and reported when the command ends, however it ends."""
    if mlflow_uri is None:
        yield _NoTracker()
        return
    from ..report import LiveTracker

    tracker = LiveTracker(_connect(mlflow_uri, experiment), registry)
    try:
        yield tracker
    except BaseException:
        if not tracker.closed:
            report_tracking(tracker.close(interrupted=True))
        raise
    if not tracker.closed:
        report_tracking(tracker.close())


def resume_hint(run_dir: Path, tracking: dict) -> None:
    """A run logged live and resumed without ``--mlflow`` goes on unlogged: say so, and how to go on."""
    from ..report import NOTE_FILE

    if tracking.get("mlflow_uri") is not None:
        return
    try:
        where = json.loads((run_dir / NOTE_FILE).read_text())["mlflow"]["where"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    err_console.print(f"[yellow]this run was logged live to {escape(where)}; without --mlflow the rest is not: "
                      f"pass --mlflow URI, or `research-agent export {run_dir.name} --mlflow URI` later[/]",
                      highlight=False, soft_wrap=True)


def report_tracking(summary: dict | None) -> None:
    """One line on stderr: where the run went, or how many writes failed and how to catch up."""
    if not summary:
        return
    if summary["failures"]:
        line = (f"[yellow]mlflow: {summary['failures']} write(s) to {escape(summary['where'])} failed (last: "
                f"{escape(summary['last_error'] or '')}); the registry holds the whole run: "
                f"`research-agent export RUN --mlflow URI` catches up[/]")
    else:
        line = f"mlflow: logged to {escape(summary['where'])} (parent run {summary['parent_run_id']})"
    err_console.print(line, highlight=False, soft_wrap=True)


class _NoTracker:
    closed = True

    def notify(self, run_id: str) -> None:
        pass

    def close(self, interrupted: bool = False) -> None:
        return None
