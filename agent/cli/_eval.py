"""``eval``, ``compare`` and ``quick-evaluator``: their options, the config they build, what they print.

The trial itself runs in ``agent.api.evaluate_with_sandbox``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from ..defaults import DEFAULT_DATASET, DEFAULT_MAX_PARAMS, DEFAULT_MEMORY, DEFAULT_TIMEOUT_S, home_dir
from ..errors import ConfigError, UsageError
from ._group import EXIT_ERROR, EXIT_MODEL_FAILED, EXIT_OK, OneLineErrors, err_console, main
from ._signals import interruptible

if TYPE_CHECKING:  # pydantic, numpy and the data stack load when a command runs, not for --help
    from ..config import EvalConfig
    from ..protocol import RunnerProgress
    from ..records import SandboxLimits, TrialStatus
    from ..results import EvalReport

# SIGTERM/SIGHUP unwind like Ctrl-C (the sandbox removes the container); an eval writes nothing before its end.
UNRECORDED = "nothing was recorded; run the eval again"


class ModelRef(click.ParamType):
    """``MODEL_FILE[:ENTRY]`` -> ``(path, entry or None)``; a missing file is a usage error."""

    name = "MODEL_FILE[:ENTRY]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        from ..config import parse_model_ref

        try:
            return parse_model_ref(value)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


def limits(timeout: float, memory: str, cpus: float | None, gpus: str | None,
           runtime: str | None = None) -> SandboxLimits:
    from ..config import default_cpus, parse_gpus, parse_memory, validated
    from ..records import SandboxLimits

    return validated(SandboxLimits, timeout_s=timeout, memory_bytes=parse_memory(memory),
                     cpus=cpus or default_cpus(), gpus=parse_gpus(gpus), runtime=runtime)


def dataset_name(dataset: str, target_column: str | None, drop_columns: tuple[str, ...] = ()) -> str:
    """Catalog names become canonical; paths and hub specs stay as given (the catalog decides which
    is which, and checks it and any --drop-column now)."""
    from ..data import dataset_spec

    return dataset_spec(dataset, target_column, tuple(drop_columns))


def split_target(target: str | None, target_column: str | None) -> tuple[float | None, str | None]:
    """``--target 0.9`` is the goal; ``--target label`` (not a number) names a CSV's label column."""
    if target is None:
        return None, target_column
    try:
        return float(target), target_column
    except ValueError:
        if target_column:
            raise ConfigError("--target: give the goal as a number; the column goes in --target-column") from None
        return None, target


def exit_code(status: TrialStatus) -> int:
    from ..records import TrialStatus

    if status is TrialStatus.OK:
        return EXIT_OK
    return EXIT_ERROR if status is TrialStatus.INFRA_ERROR else EXIT_MODEL_FAILED


def progress_text(runner: RunnerProgress) -> str:
    """``seed 0 epoch 3/5 val_acc 0.8712 (1 of 3 seeds done)``: the runner's own numbers, untrusted
    but validated (``RunnerProgress`` bounds every field), shown and never scored."""
    acc = f" val_acc {runner.val_acc:.4f}" if runner.val_acc is not None else ""
    return (f"seed {runner.seed} epoch {runner.epoch}/{runner.epochs}{acc} "
            f"({runner.seeds_done} of {runner.seeds} seeds done)")


def run_eval(home: Path, model_file: Path, config: EvalConfig, as_json: bool, out: Path | None) -> EvalReport:
    from ..api import evaluate_with_sandbox

    with err_console.status("preparing", spinner="dots") as spinner:

        def progress(phase: str, elapsed: float, runner: RunnerProgress | None) -> None:
            line = f"sandbox {phase}: {elapsed:5.1f}s of {config.limits.timeout_s:.0f}s"
            spinner.update(f"{line}; {progress_text(runner)}" if runner is not None else line)

        report = evaluate_with_sandbox(model_file, config, home, progress, out)
    if as_json:
        click.echo(report.to_json())
    else:
        from ..report import print_eval

        print_eval(report, Console())
        if out is not None:
            Console().print(f"[dim]report and plots written to {out}[/]")
    return report


def eval_options(fn):
    options = [
        click.argument("model_file", type=ModelRef()),
        click.option("--model-arg", "model_arg", multiple=True, metavar="KEY=VALUE",
                     help="A constructor/factory argument (VALUE read as JSON, else as a string); repeatable."),
        click.option("--model-args", "model_args", default=None, metavar="JSON",
                     help="Constructor/factory arguments as one JSON object (--model-arg entries override)."),
        click.option("--dataset", default=DEFAULT_DATASET, show_default=True,
                     help="Catalog name (see `datasets`), a .csv/.tsv/.parquet path, hf:NAME[:CONFIG], "
                          "or an image folder."),
        click.option("--target", default=None,
                     help="Goal for --metric (a number, e.g. 0.9); for a CSV, a non-number names the label column."),
        click.option("--target-column", default=None, help="The label column of a CSV dataset."),
        click.option("--drop-column", "drop_column", multiple=True, default=(), metavar="COL",
                     help="A table column to leave out (an identifier, a leak); repeatable."),
        click.option("--metric", default="accuracy", show_default=True, help="The metric the goal is about."),
        click.option("--seeds", default="3", show_default=True,
                     help="Number of seeds, or `auto`: add seeds at 3, 5, 10 until the goal is decided."),
        click.option("--epochs", default=5, show_default=True, type=click.IntRange(1, 10_000)),
        click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 65_536)),
        click.option("--lr", default=1e-3, show_default=True, type=float),
        click.option("--optimizer", default="adam", show_default=True, type=click.Choice(["adam", "adamw", "sgd"])),
        click.option("--weight-decay", default=0.0, show_default=True, type=float),
        click.option("--schedule", default="none", show_default=True, type=click.Choice(["none", "cosine", "step"])),
        click.option("--label-smoothing", default=0.0, show_default=True, type=float),
        click.option("--grad-clip", default=None, type=float, help="Clip the gradient norm to this value."),
        click.option("--patience", default=None, type=click.IntRange(1, None),
                     help="Early stopping on validation loss after this many epochs without improvement."),
        click.option("--max-params", default=DEFAULT_MAX_PARAMS, show_default=True, type=click.IntRange(1, None),
                     help="Refuse models with more parameters (invalid_submission)."),
        click.option("--subset-size", default=None, type=click.IntRange(10, None),
                     help="Stratified, seeded subset of the training set."),
        click.option("--test-size", default=None, type=click.IntRange(10, None),
                     help="Stratified, seeded subset of the test set (default: the whole test set)."),
        click.option("--timeout", default=DEFAULT_TIMEOUT_S, show_default=True, type=float,
                     help="Wall-clock seconds per container before the host kills it."),
        click.option("--memory", default=DEFAULT_MEMORY, show_default=True, help="Memory limit (e.g. 512m, 1g)."),
        click.option("--cpus", default=None, type=float, help="CPU limit (default: min(2, cores))."),
        click.option("--gpus", default=None, help="GPUs to pass through: `all` or ids such as 0,1."),
        click.option("--runtime", default=None, type=click.Choice(["runc", "runsc"]),
                     help="Container runtime; runsc (gVisor) for the most hostile code."),
        click.option("--parallel-seeds/--sequential-seeds", default=None,
                     help="Train seeds in parallel processes in the container (default: sequential, "
                          "measured faster on 2 cores; see bench/seeds.py)."),
        click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=Path),
                     help="Write report.json and plots (PNG) to this directory."),
        click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def config_from_options(o: dict) -> EvalConfig:
    from ..config import EvalConfig, TrainingConfig, parse_model_args, parse_seeds, validated

    goal, column = split_target(o["target"], o["target_column"])
    drop = tuple(o.get("drop_column", ()))
    training = validated(TrainingConfig, weight_decay=o["weight_decay"], schedule=o["schedule"],
                         label_smoothing=o["label_smoothing"], grad_clip=o["grad_clip"],
                         patience=o["patience"], max_params=o["max_params"])
    return validated(
        EvalConfig, dataset=dataset_name(o["dataset"], column, drop), target_column=column, drop_columns=drop,
        seeds=parse_seeds(o["seeds"]), target=goal, metric=o["metric"], training=training,
        parallel_seeds=o["parallel_seeds"], epochs=o["epochs"], batch_size=o["batch_size"], lr=o["lr"],
        optimizer=o["optimizer"], subset_size=o["subset_size"], test_size=o["test_size"],
        limits=limits(o["timeout"], o["memory"], o["cpus"], o["gpus"], o["runtime"]),
        entry=o["model_file"][1] if o.get("model_file") else None,
        model_args=parse_model_args(o.get("model_arg") or (), o.get("model_args")),
    )


def eval_defaults() -> dict:
    """Every eval option at its default (for entry points that expose only some of them)."""

    @eval_options
    def probe(**kwargs):  # pragma: no cover - never invoked
        pass

    cmd = click.command()(probe)
    # click's own default processing: a repeatable option's default is () only after it
    params = cmd.make_context("probe", [], resilient_parsing=True).params
    return {p.name: params[p.name] for p in cmd.params if isinstance(p, click.Option)}


@main.command("eval")
@eval_options
@click.pass_context
def eval_cmd(ctx, **opts):
    """Train and score MODEL_FILE in the sandbox across seeds; decide a goal with --target."""
    config = config_from_options(opts)
    with interruptible(UNRECORDED):
        report = run_eval(ctx.obj["home"], opts["model_file"][0], config, opts["as_json"], opts["out"])
    ctx.exit(exit_code(report.status))


@main.command("compare")
@click.argument("reports", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--metric", default="accuracy", show_default=True)
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON document.")
def compare_cmd(reports: tuple[Path, ...], metric: str, alpha: float, as_json: bool):
    """Is REPORT_A better than REPORT_B (and C, ...)? Paired t-test over common seeds, Holm for many."""
    import json

    from ..report import compare
    from ..report._compare import print_comparison

    if len(reports) < 2:
        raise UsageError("compare needs at least two reports: REPORT_A REPORT_B [...]")
    result = compare(list(reports), metric, alpha)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    print_comparison(result, Console())


@click.command("quick-evaluator", cls=OneLineErrors)
@click.argument("model_file", type=ModelRef())
@click.option("--dataset", default=DEFAULT_DATASET, show_default=True)
@click.option("--num-seeds", default="3", show_default=True, help="Seeds, or `auto`.")
@click.option("--target-accuracy", default=None, type=float, help="Goal accuracy (decided with intervals).")
@click.option("--subset-size", default=None, type=click.IntRange(10, None))
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def quick_evaluator(model_file, dataset, num_seeds, target_accuracy, subset_size, epochs, as_json):
    """pytorch-researcher's quick-evaluator names, mapped onto `research-agent eval`."""
    opts = eval_defaults() | {
        "dataset": dataset, "seeds": num_seeds, "subset_size": subset_size, "epochs": epochs,
        "target": None if target_accuracy is None else str(target_accuracy), "metric": "accuracy",
        "model_file": model_file,
    }
    config = config_from_options(opts)
    with interruptible(UNRECORDED):
        report = run_eval(home_dir(None), model_file[0], config, as_json, None)
    sys.exit(exit_code(report.status))
