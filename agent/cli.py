"""The ``research-agent`` command line. Exit codes are a contract:

0  the trial status is ``ok``
1  an error of ours or of the environment (one line on stderr; traceback with --debug)
2  a usage error (bad flag, missing file, unknown dataset)
3  the model failed (any trial status other than ``ok`` and ``infra_error``)
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ._cli_eval import (
    EXIT_ERROR,
    EXIT_OK,
    ModelRef,
    config_from_options,
    err_console,
    eval_options,
    exit_code,
    run_eval,
)
from .config import home_dir
from .data import DEFAULT_DATASET
from .errors import AgentError, UsageError


def _invoke_one_line(super_invoke, ctx: click.Context):
    """Map AgentError to one red line and its exit code; tracebacks only with --debug."""
    try:
        return super_invoke(ctx)
    except AgentError as exc:
        if (ctx.obj and ctx.obj.get("debug")) or "--debug" in sys.argv:
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


class _OneLineErrors(click.Command):
    def invoke(self, ctx: click.Context):
        return _invoke_one_line(super().invoke, ctx)


# Every command that reads or writes runs also takes --home after its name (where a user who ran
# `run --home DIR` will type it next); the global one, before the command, still works.
home_option = click.option("--home", "local_home", default=None, type=click.Path(file_okay=False, path_type=Path),
                           help="Where runs live (same as the global --home).")


def _home(ctx: click.Context, local_home: Path | None) -> Path:
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


@main.command("eval")
@eval_options
@click.pass_context
def eval_cmd(ctx, **opts):
    """Train and score MODEL_FILE in the sandbox across seeds; decide a goal with --target."""
    config = config_from_options(opts)
    report = run_eval(ctx.obj["home"], opts["model_file"][0], config, opts["as_json"], opts["out"])
    ctx.exit(exit_code(report["status"]))


@main.command("compare")
@click.argument("reports", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--metric", default="accuracy", show_default=True)
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON document.")
def compare_cmd(reports: tuple[Path, ...], metric: str, alpha: float, as_json: bool):
    """Is REPORT_A better than REPORT_B (and C, ...)? Paired t-test over common seeds, Holm for many."""
    import json

    from .report import compare
    from .report._compare import print_comparison

    if len(reports) < 2:
        raise UsageError("compare needs at least two reports: REPORT_A REPORT_B [...]")
    result = compare(list(reports), metric, alpha)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    print_comparison(result, Console())


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
@click.option("--replay", default=None, metavar="RUN",
              help="Re-run RUN's recorded LLM decisions without an endpoint (its goal and budgets too).")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def run_cmd(ctx, goal, dataset, target, metric, max_iterations, budget_minutes, patience, seeds, planner,
            planner_seed, local_home, as_json, replay, **llm):
    """Research loop: plan, generate, train in the sandbox, decide with statistics; exit 0 when achieved."""
    from ._cli_run import start_run

    home = _home(ctx, local_home)
    llm = {k.removeprefix("llm_"): v for k, v in llm.items()}
    llm["timeout_s"] = llm.pop("timeout")
    ctx.exit(start_run(home, goal, dataset, target, metric, max_iterations, budget_minutes, patience, seeds,
                       planner_seed, as_json, planner=planner, llm=llm, replay=replay))


@main.command("resume")
@click.argument("run_id")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def resume_cmd(ctx, run_id, local_home, as_json):
    """Continue a run that was interrupted or killed; trials that were running are re-run."""
    from ._cli_run import resume_run

    ctx.exit(resume_run(_home(ctx, local_home), run_id, as_json))


@main.group("runs")
def runs_group():
    """Recorded runs."""


@runs_group.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_list(ctx, local_home, as_json):
    """Every run: id, created, goal, status, best metric with its interval."""
    from ._cli_run import list_runs

    list_runs(_home(ctx, local_home), as_json)


@runs_group.command("show")
@click.argument("run_id")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_show(ctx, run_id, local_home, as_json):
    """One run with its trials (--json: the full export)."""
    from ._cli_run import show_run

    show_run(_home(ctx, local_home), run_id, as_json)


@main.command("report")
@click.argument("run_id")
@home_option
@click.pass_context
def report_cmd(ctx, run_id, local_home):
    """(Re)write RESEARCH_REPORT.md and report.html for RUN_ID; prints the Markdown path."""
    from ._cli_run import report_run

    click.echo(str(report_run(_home(ctx, local_home), run_id)))


@main.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as one JSON document.")
@click.pass_context
def datasets_cmd(ctx, as_json: bool):
    """The dataset catalog: what each entry is and whether it works offline right now."""
    import json

    from .data import listing
    from .report._console import datasets_table

    rows = listing(ctx.obj["home"] / "cache" / "datasets")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    console = Console()
    console.print(datasets_table(rows, console.width))


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON document.")
def doctor_cmd(as_json: bool):
    """Check the Docker engine, runtime, limits and the sandbox image; ok/warn/fail each."""
    import json

    from .sandbox._doctor import as_dicts, checks_table, run_checks

    with err_console.status("checking the sandbox (runs a short probe container)"):
        checks = run_checks()
    failed = any(x.level == "fail" for x in checks)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": as_dicts(checks)}, indent=2))
    else:
        Console().print(checks_table(checks))
    sys.exit(EXIT_ERROR if failed else EXIT_OK)


@main.command("llm-check")
@click.option("--llm-base-url", default=None, metavar="URL",
              help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL).")
@click.option("--llm-model", default=None, help="Model name at the endpoint (default gpt-4o-mini).")
@click.option("--llm-api-key-env", default=None, metavar="NAME",
              help="Environment variable holding the API key (default OPENAI_API_KEY); never the key itself.")
@click.option("--llm-timeout", default=300.0, show_default=True, type=click.FloatRange(0, None, min_open=True),
              help="Seconds per request.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON document.")
def llm_check_cmd(llm_base_url, llm_model, llm_api_key_env, llm_timeout, as_json):
    """What the LLM endpoint can do: models, structured-output mode, first-token latency, tokens/s."""
    from ._cli_llm import llm_check

    sys.exit(llm_check(llm_base_url, llm_model, llm_api_key_env, llm_timeout, as_json))


@main.group("image")
def image_group():
    """The sandbox image."""


@image_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the image matches the source.")
@click.option("--variant", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def image_build(force: bool, variant: str):
    """Build the sandbox image (offline: a local base + wheels staged in the user's cache)."""
    from .sandbox import build_image

    info = build_image(variant=variant, force=force)
    click.echo(f"{info.tag} {info.id}")


@image_group.command("base")
def image_base():
    """Build the local base image with debootstrap (root only: for machines with no registry)."""
    from .sandbox import build_base_image

    click.echo(build_base_image())


def entry() -> None:
    main(prog_name="research-agent")


@click.command("quick-evaluator", cls=_OneLineErrors)
@click.argument("model_file", type=ModelRef())
@click.option("--dataset", default=DEFAULT_DATASET, show_default=True)
@click.option("--num-seeds", default="3", show_default=True, help="Seeds, or `auto`.")
@click.option("--target-accuracy", default=None, type=float, help="Goal accuracy (decided with intervals).")
@click.option("--subset-size", default=None, type=click.IntRange(10, None))
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def quick_evaluator(model_file, dataset, num_seeds, target_accuracy, subset_size, epochs, as_json):
    """pytorch-researcher's quick-evaluator names, mapped onto `research-agent eval`."""
    from ._cli_eval import eval_defaults

    opts = eval_defaults() | {
        "dataset": dataset, "seeds": num_seeds, "subset_size": subset_size, "epochs": epochs,
        "target": None if target_accuracy is None else str(target_accuracy), "metric": "accuracy",
        "model_file": model_file,
    }
    config = config_from_options(opts)
    report = run_eval(home_dir(None), model_file[0], config, as_json, None)
    sys.exit(exit_code(report["status"]))


def quick_entry() -> None:
    quick_evaluator(prog_name="quick-evaluator")


if __name__ == "__main__":
    sys.exit(entry())
