"""What the CLI prints for people (rich): the eval summary and the tables.

A value a user types next (a dataset name, a run id, a trial number, a metric) sits in a
``no_wrap`` column, in full, down to 60 columns; descriptions wrap, move to a second line, or
are left to ``--json``.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..planner import planning, planning_line
from ..results import EvalReport, GoalReport, MetricSummary

_STYLE = {"ok": "bold green"}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


# Each column costs its padding and one border: 3 characters, plus the table's closing border.
_PER_COLUMN = 3
_NUMBER = len("0.0000")
_CI = len("[0.0000, 0.0000]")


def _metrics_table(agg: dict[str, MetricSummary], width: int) -> Table:
    """Metric names (typed next, as ``--metric``) and numbers never wrap or get cut. One line per
    metric: ``min``/``max`` are left out (they stay in ``--json``) when they would not fit; on a
    narrower terminal still the interval wraps after its comma."""
    name_w = max(map(len, ["metric", *agg]))
    full = name_w + 4 * _NUMBER + len("nn") + _CI + 7 * _PER_COLUMN + 1
    stats = ("mean", "std", "min", "max") if full <= width else ("mean", "std")
    table = Table(title="metrics across seeds (two-sided 95% Student-t interval over seeds)",
                  caption=None if "min" in stats else "min/max: --json")
    table.add_column("metric", no_wrap=True)
    for col in (*stats, "n"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("95% CI", justify="right")
    for name, s in agg.items():
        ci = "-" if s.ci_low is None else f"[{s.ci_low:.4f}, {s.ci_high:.4f}]"
        table.add_row(name, *(_fmt(getattr(s, k)) for k in stats), str(s.n), ci)
    return table


def _entry_line(entry: dict) -> str:
    """``model: MobileNet(num_classes=4, in_channels=3) - the one nn.Module class ... (filled ...)``."""
    args = ", ".join(f"{k}={v!r}" for k, v in {**entry["args"], **entry["filled_from_dataset"]}.items())
    filled = ", ".join(entry["filled_from_dataset"])
    note = f"; {filled} from the dataset" if filled else ""
    return f"model: {entry['name']}({args}) - {entry['chosen']}{note}"


def goal_bounds_line(goal: GoalReport) -> str:
    """Which one-sided bounds the goal decision used: over seeds, over test rows, and the binding one."""
    if goal.lower_bound is None:
        return ""
    level = f"one-sided {100 * (1 - goal.alpha_per_checkpoint):.1f}% bounds"
    parts = [f"{level} at {goal.checkpoint} seeds: [{goal.lower_bound:.4f}, {goal.upper_bound:.4f}]"]
    if goal.seed_lower_bound is not None:
        parts.append(f"seeds (Student t) [{goal.seed_lower_bound:.4f}, {goal.seed_upper_bound:.4f}]")
    if goal.test_lower_bound is not None:
        method = {"clopper_pearson": "exact binomial", "bootstrap": "bootstrap over test rows"}.get(
            goal.test_bound_method or "", goal.test_bound_method or "")
        parts.append(f"test set ({method}) [{goal.test_lower_bound:.4f}, {goal.test_upper_bound:.4f}]")
    return "; ".join(parts)


def print_eval(report: EvalReport, console: Console) -> None:
    status = report.status.value
    ds = report.dataset
    console.print(
        f"[{_STYLE.get(status, 'bold red')}]{status}[/]: {escape(report.message)}"  # the model's words
        f"  [dim]({escape(ds['name'])}: {ds['n_train']} train / {ds['n_test']} test, {ds['n_classes']} classes)[/]"
    )
    if report.model.entry:
        console.print(_entry_line(report.model.entry), markup=False, highlight=False)
    if report.flags:
        console.print(f"flags: {', '.join(report.flags)}")
    if report.aggregate:
        console.print(_metrics_table(report.aggregate, console.width))
    goal = report.goal
    if goal:
        color = {"achieved": "green", "not_achieved": "red"}.get(goal.decision, "yellow")
        op = ">=" if goal.higher_is_better else "<="
        console.print(f"goal {goal.metric} {op} {goal.target}: [{color}]{goal.decision}[/] "
                      f"(n={goal.n}) - {escape(goal.reason)}", highlight=False)
        if bounds := goal_bounds_line(goal):
            console.print(f"  [dim]{bounds}[/]", highlight=False)
    for seed in report.seeds:
        console.print(f"  seed {seed.seed}: {seed.status.value}  accuracy {_fmt(seed.metrics.get('accuracy'))}")
    box = report.sandbox
    if box.wall_s is not None:
        console.print(
            f"[dim]sandbox: image {(box.image or '')[:19]}, exit {box.exit_code}, "
            f"{box.wall_s}s wall, oom={box.oom_killed}, killed_by_us={box.we_killed}[/]"
        )
    if status != "ok" and box.stderr_tail:
        console.print("[dim]stderr (tail):[/]")
        console.print(box.stderr_tail[-1500:], markup=False, highlight=False)


# Narrower than this, the last column is too narrow for sources: they and the cache state go to --json.
_DATASETS_WIDE = 72


def datasets_table(rows: list[dict], width: int) -> Table:
    """A name is typed next (``--dataset NAME``): its column never wraps or gets cut, at 60 columns
    too; what an entry is (modality, input, classes; its source below) wraps in the last one."""
    wide = width >= _DATASETS_WIDE
    table = Table(title="datasets", caption=f"{'' if wide else 'sources, cache, '}aliases and licenses: "
                                            "research-agent datasets --json")
    for col in ("name", "offline", "cached") if wide else ("name", "offline"):
        table.add_column(col, no_wrap=True)
    table.add_column("about", overflow="fold")
    for r in rows:
        about = Text(_dataset_kind(r))
        cells = [r["name"], "yes" if r["available_offline"] else Text("no", style="yellow")]
        if wide:
            about.append("\n" + r["source"], style="dim")  # Text, not markup: sources hold brackets ("[SEP]")
            cells.append("yes" if r["cached"] else "no")
        table.add_row(*cells, about)
    return table


def _dataset_kind(row: dict) -> str:
    """``image, 1x28x28, 10 classes``; ``tabular, 30 features, 2 classes``."""
    shape = "x".join(map(str, row["input_shape"] or ()))
    size = shape and shape + {"tabular": " features", "text": " tokens"}.get(row["modality"], "")
    return ", ".join(k for k in (row["modality"], size, row["n_classes"] and f"{row['n_classes']} classes") if k)


def runs_table(rows) -> Table:
    """``RunSummary`` rows. The id is typed next (``runs show``, ``resume``, ``report``), so it
    never wraps; its creation time and the trial count sit below the id and the status."""
    table = Table(title="runs")
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("best (95% CI) / goal", overflow="fold")
    for r in rows:
        best = "-"
        if r.best and r.best.mean is not None:
            best = f"{r.best.metric} {r.best.mean:.4f}" + (
                f" [{r.best.ci_low:.4f}, {r.best.ci_high:.4f}]" if r.best.ci_low is not None else "")
        trials = f"{r.n_trials} trial{'' if r.n_trials == 1 else 's'}"
        table.add_row(Text.assemble(r.id, (f"\n{r.created_at:%Y-%m-%d %H:%M}", "dim")),
                      Text.assemble(r.status.value, (f"\n{trials}", "dim")),
                      Text.assemble(best, ("\n" + r.goal, "dim")))
    return table


_MESSAGE_CHARS = 160  # the whole message is in `runs show --json`


def print_run(doc: dict, console: Console) -> None:
    """A run export (``export_run``): its id and goal, then one row per trial. Trial numbers never
    wrap; a finished trial shows how it ended, another where it is (pending, running)."""
    run = doc["run"]
    console.print(Text.assemble(run["id"], "  ", run["status"]))
    console.print(Text(f"goal: {run['goal']}"))
    summary = planning([t.get("rung") or {} for t in doc["trials"]], (run.get("config") or {}).get("planner", ""))
    line = planning_line(summary)
    if line:
        console.print(Text(f"planning: {line}", style="bold yellow" if summary["llm"] == 0 else ""), soft_wrap=True)
    table = Table()
    for col in ("#", "status", "action"):
        table.add_column(col, no_wrap=True, justify="right" if col == "#" else "left")
    table.add_column("message", overflow="fold")
    for t in doc["trials"]:
        message = _first_line(t.get("message")) if t["state"] == "finished" else _where(t.get("progress"))
        table.add_row(str(t["number"]), str(t.get("status") or t["state"]),
                      str((t.get("rung") or {}).get("action", "-")), Text(message))
    if doc["trials"]:
        console.print(table)


def _where(progress: dict | None) -> str:
    """A running trial's last progress note: numbers only (the runner's, bounded when recorded)."""
    if not isinstance(progress, dict):
        return ""
    try:
        acc = f", val_acc {float(progress['val_acc']):.4f}" if progress.get("val_acc") is not None else ""
        return (f"seed {int(progress['seed'])} epoch {int(progress['epoch'])}/{int(progress['epochs'])}{acc} "
                f"({int(progress['seeds_done'])} of {int(progress['seeds'])} seeds done, "
                f"{float(progress.get('elapsed_s') or 0):.0f} s)")
    except (KeyError, TypeError, ValueError):
        return ""


def _first_line(message: str | None) -> str:
    line = (message or "").partition("\n")[0]
    return line if len(line) <= _MESSAGE_CHARS else line[:_MESSAGE_CHARS - 1] + "…"
