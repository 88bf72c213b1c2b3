"""The ``research-agent`` command line. Exit codes are a contract:

0  the trial status is ``ok``
1  an error of ours or of the environment (one line on stderr; traceback with --debug)
2  a usage error (bad flag, missing file, unknown dataset)
3  the model failed (any trial status other than ``ok`` and ``infra_error``)
"""

from __future__ import annotations

import sys
import traceback
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from .config import EvalConfig, default_cpus, home_dir, parse_gpus, parse_memory, validated
from .data import DEFAULT_DATASET, resolve
from .errors import AgentError
from .records import SandboxLimits, TrialStatus

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MODEL_FAILED = 0, 1, 2, 3

err_console = Console(stderr=True)


class AgentGroup(click.Group):
    """Maps AgentError to one red line and its exit code; tracebacks only with --debug."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AgentError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            # soft_wrap: one line even past 80 columns (rich hard-wraps on a non-terminal)
            err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            ctx.exit(exc.exit_code)
        except click.UsageError as exc:  # a subcommand's bad flag or missing file: one line too
            err_console.print(f"[red]error:[/] {escape(exc.format_message())}", highlight=False,
                              soft_wrap=True)
            ctx.exit(exc.exit_code)


@click.group(cls=AgentGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where runs and the dataset cache live (default ./runs or $RESEARCH_AGENT_HOME).")
@click.pass_context
def main(ctx: click.Context, debug: bool, home: Path | None) -> None:
    """A sandbox-first PyTorch research agent."""
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, home=home_dir(str(home) if home else None))


def _limits(timeout: float, memory: str, cpus: float | None, gpus: str | None,
            runtime: str | None = None) -> SandboxLimits:
    return validated(SandboxLimits, timeout_s=timeout, memory_bytes=parse_memory(memory),
                     cpus=cpus or default_cpus(), gpus=parse_gpus(gpus), runtime=runtime)


@main.command("eval")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset", default=DEFAULT_DATASET, show_default=True,
              help="Catalog name (see `datasets`), a .csv path (with --target), hf:NAME[:CONFIG], "
                   "or an image folder.")
@click.option("--target", default=None, help="The label column of a CSV dataset.")
@click.option("--test-size", default=None, type=click.IntRange(10, None),
              help="Stratified, seeded subset of the test set (default: the whole test set).")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 65_536))
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--subset-size", default=None, type=click.IntRange(10, None),
              help="Stratified, seeded subset of the training set.")
@click.option("--timeout", default=600.0, show_default=True, type=float,
              help="Wall-clock seconds before the host kills the trial.")
@click.option("--memory", default="2g", show_default=True, help="Memory limit (e.g. 512m, 1g).")
@click.option("--cpus", default=None, type=float, help="CPU limit (default: min(2, cores)).")
@click.option("--gpus", default=None, help="GPUs to pass through: `all` or ids such as 0,1.")
@click.option("--runtime", default=None, type=click.Choice(["runc", "runsc"]),
              help="Container runtime; runsc (gVisor) for the most hostile code.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.pass_context
def eval_cmd(ctx, model_file, dataset, target, test_size, seeds, epochs, batch_size, lr, subset_size,
             timeout, memory, cpus, gpus, runtime, as_json):
    """Train and score MODEL_FILE in the sandbox across seeds."""
    config = validated(
        EvalConfig, dataset=_dataset_name(dataset, target), target=target, test_size=test_size,
        seeds=seeds, epochs=epochs,
        batch_size=batch_size, lr=lr, subset_size=subset_size,
        limits=_limits(timeout, memory, cpus, gpus, runtime),
    )
    report = _run_eval(ctx, model_file, config, as_json)
    ctx.exit(_exit_code(report["status"]))


def _dataset_name(dataset: str, target: str | None) -> str:
    """Catalog names become canonical; paths and hub specs stay as given (validated here)."""
    src = resolve(dataset, target)
    return src.name if not (dataset.startswith(("hf:", "synthetic:")) or "/" in dataset
                            or dataset.lower().endswith(".csv")) else dataset


def _run_eval(ctx, model_file: Path, config: EvalConfig, as_json: bool) -> dict:
    from .evaluation import evaluate
    from .report import dumps, print_eval
    from .sandbox import DockerSandbox

    home: Path = ctx.obj["home"]
    with err_console.status("preparing", spinner="dots") as spinner:

        def progress(phase: str, elapsed: float) -> None:
            spinner.update(f"sandbox {phase}: {elapsed:5.1f}s of {config.limits.timeout_s:.0f}s")

        variant = "cuda" if config.limits.gpus else "cpu"
        report = evaluate(model_file, config, lambda: DockerSandbox(variant=variant),
                          home / "cache" / "datasets", progress)
    if as_json:
        click.echo(dumps(report))
    else:
        print_eval(report, Console())
    return report


def _exit_code(status: str) -> int:
    if status == TrialStatus.OK.value:
        return EXIT_OK
    if status == TrialStatus.INFRA_ERROR.value:
        return EXIT_ERROR
    return EXIT_MODEL_FAILED


@main.command("run")
@click.option("--goal", default="", help="What to build, in words.")
@click.option("--dataset", default=DEFAULT_DATASET, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def run_cmd(ctx, goal: str, dataset: str, as_json: bool):
    """Run the research loop. (For now: evaluates the built-in example model.)"""
    if goal and not as_json:
        err_console.print(f"goal: {goal}")
        err_console.print("[dim]the research loop is not built yet; evaluating the built-in "
                          "example MLP in the sandbox instead[/]")
    example = Path(str(resources.files("agent").joinpath("examples/mlp.py")))
    config = validated(EvalConfig, dataset=_dataset_name(dataset, None), seeds=3, epochs=10,
                       limits=_limits(600.0, "2g", None, None))
    report = _run_eval(ctx, example, config, as_json)
    ctx.exit(_exit_code(report["status"]))


@main.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as one JSON document.")
@click.pass_context
def datasets_cmd(ctx, as_json: bool):
    """The dataset catalog: what each entry is and whether it works offline right now."""
    import json

    from rich.table import Table

    from .data import listing

    rows = listing(ctx.obj["home"] / "cache" / "datasets")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="datasets")
    for col in ("name", "modality", "classes", "input", "offline", "cached", "source"):
        table.add_column(col)
    for r in rows:
        shape = "x".join(map(str, r["input_shape"])) if r["input_shape"] else "-"
        table.add_row(r["name"], r["modality"], str(r["n_classes"] or "-"), shape,
                      "yes" if r["available_offline"] else "[yellow]needs network[/]",
                      "yes" if r["cached"] else "no", r["source"])
    Console().print(table)


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON document.")
def doctor_cmd(as_json: bool):
    """Check the Docker engine, runtime, limits and the sandbox image; ok/warn/fail each."""
    import json

    from .sandbox._doctor import as_dicts, run_checks

    with err_console.status("checking the sandbox (runs a short probe container)"):
        checks = run_checks()
    failed = any(x.level == "fail" for x in checks)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": as_dicts(checks)}, indent=2))
    else:
        style = {"ok": "green", "warn": "yellow", "fail": "red"}
        console = Console()
        for x in checks:
            step = f"  [dim]-> {x.next_step}[/]" if x.next_step and x.level != "ok" else ""
            console.print(f"[{style[x.level]}]{x.level:>4}[/]  {x.name}: {x.detail}{step}",
                          highlight=False)
    sys.exit(EXIT_ERROR if failed else EXIT_OK)


@main.group("image")
def image_group():
    """The sandbox image."""


@image_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the image matches the source.")
@click.option("--variant", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def image_build(force: bool, variant: str):
    """Build the sandbox image (offline: local base + staged wheels)."""
    from .sandbox import build_image

    info = build_image(variant=variant, force=force)
    click.echo(f"{info.tag} {info.id}")


def entry() -> None:
    main(prog_name="research-agent")


if __name__ == "__main__":
    sys.exit(entry())
