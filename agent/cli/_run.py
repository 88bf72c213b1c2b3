"""``run``, ``resume``, ``runs list/show`` and ``report``: the research loop's commands."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ..defaults import DEFAULT_MEMORY, DEFAULT_TIMEOUT_S
from ..errors import UsageError
from ._eval import limits
from ._export import experiment_option, live_tracking, mlflow_option, report_tracking, resume_hint
from ._group import err_console, home_option, main, resolve_home
from ._signals import interruptible

DEFAULT_GOAL = "Design a model for the digits dataset with at least 95% accuracy"
EXIT_ACHIEVED, EXIT_NOT_ACHIEVED = 0, 3


def open_home_registry(home: Path):
    from ..registry import open_registry

    return open_registry(home)


def _study(config, registry, home: Path, quiet: bool, tracker, prepare_next: bool = True):
    from ..sandbox import DockerSandbox
    from ..study import Study

    def progress(line: str) -> None:
        if not quiet:
            err_console.print(f"[dim]{escape(line)}[/]", highlight=False, soft_wrap=True)  # no markup from data

    return Study(config, registry, lambda: DockerSandbox(prepare_next=prepare_next), home / "cache" / "datasets",
                 progress=progress,
                 observe=tracker.notify)


@contextmanager
def _session(home: Path, tracking: dict, run_id: str | None = None):
    """The registry, the interruption hint and the live tracker (``--mlflow``) of one command."""
    with open_home_registry(home) as registry, _kept_on_interrupt(registry, run_id), \
            live_tracking(registry, tracking.get("mlflow_uri"), tracking.get("mlflow_experiment")) as tracker:
        yield registry, tracker


def start_run(home: Path, goal_text: str, dataset, target, metric, max_iterations, budget_minutes, patience,
              seeds, planner_seed, as_json: bool, planner: str = "search", llm: dict | None = None,
              replay: str | None = None, timeout: float | None = None, memory: str = DEFAULT_MEMORY,
              tracking: dict | None = None, prepare_next: bool = True) -> int:
    """``timeout``: the most one trial may take (None: each deadline follows the trial's projected cost)."""
    from ..config import parse_seeds, validated
    from ..goal import parse_goal
    from ..study import StudyConfig

    tracking = tracking or {}
    if replay:
        return replay_run(home, replay, as_json, tracking)
    goal = parse_goal(goal_text or DEFAULT_GOAL, dataset=dataset, target=target, metric=metric)
    kind, settings, line = _choose_planner(planner, llm or {})
    config = validated(StudyConfig, goal=goal, max_iterations=max_iterations, budget_minutes=budget_minutes,
                       patience=patience, seeds=parse_seeds(seeds), planner_seed=planner_seed, planner=kind,
                       llm=settings if kind == "llm" else None, trial_timeout_s=timeout,
                       limits=limits(timeout or DEFAULT_TIMEOUT_S, memory, None, None))
    if not as_json:
        err_console.print(f"goal: {goal.metric} {'>=' if goal.higher_is_better else '<='} {goal.target} on "
                          f"{goal.dataset}{f' ({goal.family})' if goal.family else ''}", highlight=False)
    err_console.print(line, highlight=False, soft_wrap=True)  # which planner, always (stderr)
    with _session(home, tracking) as (registry, tracker):
        result = _study(config, registry, home, as_json, tracker, prepare_next).start()
        return _conclude(registry, result, as_json, tracker)


@contextmanager
def _kept_on_interrupt(registry, run_id: str | None = None):
    """An interruption names the run it stopped and how to go on (``Interrupted.next_step``).

    A new run's id is the one that was not in the registry before (Study.start creates it)."""
    known = set() if run_id else {r.id for r in registry.list_runs()}
    try:
        yield
    except KeyboardInterrupt as exc:
        run_id = run_id or next((r.id for r in registry.list_runs() if r.id not in known), None)
        exc.next_step = (f"the run is kept: `research-agent resume {run_id}`" if run_id
                         else "no run was recorded")
        raise


def _choose_planner(requested: str, llm: dict):
    """``(planner, LLM settings or None, the line saying which)``: no network unless an endpoint is set."""
    from ..planner import choose_planner, endpoint_settings

    settings = None if requested == "search" else endpoint_settings(os.environ, **llm)
    kind, line = choose_planner(requested, settings, os.environ)
    return kind, settings, line


def replay_run(home: Path, run_id: str, as_json: bool, tracking: dict | None = None) -> int:
    """A new run with RUN's configuration whose LLM answers come from RUN's records (no endpoint)."""
    from ..study import StudyConfig

    with _session(home, tracking or {}) as (registry, tracker):
        source = StudyConfig.from_stored(registry.get_run(run_id).config)
        if source.planner != "llm" or source.llm is None:
            raise UsageError(f"{run_id} used the {source.planner} planner: only LLM runs have decisions to replay")
        calls = registry.list_llm_calls(run_id)
        config = source.model_copy(update={"replay_of": run_id})
        err_console.print(f"planner: llm, replaying {run_id} ({len(calls)} recorded exchanges; no endpoint)",
                          highlight=False, soft_wrap=True)
        result = _study(config, registry, home, as_json, tracker).start()
        return _conclude(registry, result, as_json, tracker)


def resume_run(home: Path, run_id: str, as_json: bool, tracking: dict | None = None) -> int:
    from ..study import StudyConfig

    with _session(home, tracking or {}, run_id) as (registry, tracker):
        run = registry.get_run(run_id)
        config = StudyConfig.from_stored(run.config)
        resume_hint(registry.run_dir(run_id), tracking or {})
        result = _study(config, registry, home, as_json, tracker).resume(run_id)
        return _conclude(registry, result, as_json, tracker)


def _conclude(registry, result, as_json: bool, tracker=None) -> int:
    from ..report import write_run_report

    tracking = tracker.close() if tracker else None  # the last sync first: --json says where the run went
    report_tracking(tracking)
    snapshot = registry.snapshot(result.run_id)
    run_dir = registry.run_dir(result.run_id)
    paths = write_run_report(snapshot, run_dir)
    registry.write_export(result.run_id, run_dir / "run.json")
    best = next((t for t in snapshot.trials if t.id == snapshot.run.best_trial_id), None)
    if best is not None and best.source:
        (run_dir / "best_model.py").write_text(best.source)
    doc = {"run_id": result.run_id, "status": result.status.value, "reason": result.reason,
           "decision": result.decision, "best_trial": result.best_trial, "trials": result.trials,
           "wall_s": round(result.wall_s, 1), "container_s": round(result.container_s, 1),
           "planning": result.planning,
           "report": {k: str(v) for k, v in paths.items()} | {"export": str(run_dir / "run.json")}}
    if tracking:
        doc["tracking"] = {"mlflow": tracking}
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _print_result(doc)
    return EXIT_ACHIEVED if result.status.value == "achieved" else EXIT_NOT_ACHIEVED


def _print_result(doc: dict) -> None:
    from ..planner import planning_line

    console = Console()
    d = doc["decision"] or {}
    color = "green" if doc["status"] == "achieved" else "yellow"
    bounds = ""
    if d.get("lower_bound") is not None:
        bounds = (f" {d.get('metric')} mean {d['mean']:.4f}, one-sided bounds [{d['lower_bound']:.4f}, "
                  f"{d['upper_bound']:.4f}] (n={d['n']}{', fresh seeds' if d.get('on_fresh_seeds') else ''})")
    console.print(f"[{color}]{doc['status']}[/]:{bounds}", highlight=False)
    console.print(f"{doc['reason']}; {doc['trials']} trials, {doc['wall_s']}s wall, {doc['container_s']}s in "
                  f"containers", highlight=False)
    if d.get("statistics"):  # what the bounds say (e.g. the test set is too small to carry the target)
        console.print(f"statistics: {d['statistics']}", highlight=False, soft_wrap=True)
    line = planning_line(doc.get("planning"))
    if line:  # a run the LLM never planned must not read like one it did
        style = "bold yellow" if doc["planning"]["llm"] == 0 else "default"
        console.print(f"[{style}]planning: {escape(line)}[/]", highlight=False, soft_wrap=True)
    # soft_wrap: a long path is left whole for the terminal to wrap, so it copies as one line
    console.print(f"report: {doc['report']['markdown']}", highlight=False, soft_wrap=True)


@main.command("run")
@click.option("--goal", default="", help="What to build, in words (dataset, metric, target, family).")
@click.option("--dataset", default=None, help="Overrides the dataset named in the goal.")
@click.option("--target", default=None, type=float, help="Overrides the target in the goal.")
@click.option("--metric", default=None, help="Overrides the metric in the goal.")
@click.option("--max-iterations", default=40, show_default=True, type=click.IntRange(1, None))
@click.option("--budget-minutes", default=10.0, show_default=True, type=click.FloatRange(0, None, min_open=True))
@click.option("--patience", default=12, show_default=True, type=click.IntRange(1, None),
              help="Stop when no candidate improved for this many trials.")
@click.option("--seeds", default="auto", show_default=True,
              help="`auto`: add seeds at 3, 5, 10 until decided; or a fixed count (>= 2).")
@click.option("--planner", type=click.Choice(["auto", "search", "llm"]), default="auto", show_default=True,
              help="auto: the LLM when an endpoint is configured and answers, else search (offline).")
@click.option("--planner-seed", default=0, show_default=True, type=int)
@click.option("--llm-base-url", default=None, metavar="URL",
              help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (default $OPENAI_BASE_URL).")
@click.option("--llm-model", default=None, help="Model name at the endpoint (default gpt-4o-mini).")
@click.option("--llm-api-key-env", default=None, metavar="NAME",
              help="Environment variable holding the API key (default OPENAI_API_KEY); never the key itself.")
@click.option("--llm-max-calls", default=40, show_default=True, type=click.IntRange(1, None),
              help="LLM requests per run (retries count); then the offline planner.")
@click.option("--llm-max-tokens", default=400_000, show_default=True, type=click.IntRange(1, None),
              help="Prompt + completion tokens per run; then the offline planner.")
@click.option("--llm-repairs", default=2, show_default=True, type=click.IntRange(0, 10),
              help="Rounds an LLM-written model that fails its smoke test goes back for a fix.")
@click.option("--llm-timeout", default=300.0, show_default=True, type=click.FloatRange(0, None, min_open=True),
              help="Seconds per LLM request (a small local model needs minutes).")
@click.option("--llm-answer-tokens", default=1024, show_default=True, type=click.IntRange(64, None),
              help="max_tokens of one LLM answer (a proposal needs about 1,024).")
@click.option("--timeout", default=None, type=click.FloatRange(0, None, min_open=True), metavar="SECONDS",
              help="The most one trial may take. Default: each trial's deadline follows its projected cost "
                   "on this machine (x1.5), within the budget left.")
@click.option("--memory", default=DEFAULT_MEMORY, show_default=True, help="Memory limit per trial (e.g. 512m, 4g).")
@click.option("--prepare-next/--no-prepare-next", default=True, show_default=True,
              help="Start the next trial's container while a trial runs, so its start-up is hidden (same controls).")
@click.option("--replay", default=None, metavar="RUN",
              help="Re-run RUN's recorded LLM decisions without an endpoint (its goal and budgets too).")
@mlflow_option
@experiment_option
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def run_cmd(ctx, goal, dataset, target, metric, max_iterations, budget_minutes, patience, seeds, planner,
            planner_seed, local_home, as_json, replay, timeout, memory, mlflow_uri, mlflow_experiment, prepare_next,
            **llm):
    """Research loop: plan, generate, train in the sandbox, decide with statistics; exit 0 when achieved."""
    home = resolve_home(ctx, local_home)
    llm = {k.removeprefix("llm_"): v for k, v in llm.items()}
    llm["timeout_s"] = llm.pop("timeout")
    with interruptible():  # SIGTERM/SIGHUP unwind like Ctrl-C: the run is marked interrupted, no container left
        code = start_run(home, goal, dataset, target, metric, max_iterations, budget_minutes, patience, seeds,
                         planner_seed, as_json, planner=planner, llm=llm, replay=replay, timeout=timeout,
                         memory=memory, tracking={"mlflow_uri": mlflow_uri, "mlflow_experiment": mlflow_experiment},
                         prepare_next=prepare_next)
    ctx.exit(code)


@main.command("resume")
@click.argument("run_id")
@mlflow_option
@experiment_option
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def resume_cmd(ctx, run_id, mlflow_uri, mlflow_experiment, local_home, as_json):
    """Continue a run that was interrupted or killed; trials that were running are re-run."""
    tracking = {"mlflow_uri": mlflow_uri, "mlflow_experiment": mlflow_experiment}
    with interruptible():
        code = resume_run(resolve_home(ctx, local_home), run_id, as_json, tracking)
    ctx.exit(code)
