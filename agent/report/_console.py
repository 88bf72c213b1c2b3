"""The human-readable summary of an eval report (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

_STYLE = {"ok": "bold green"}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def print_eval(report: dict, console: Console) -> None:
    status = report["status"]
    ds = report["dataset"]
    console.print(
        f"[{_STYLE.get(status, 'bold red')}]{status}[/]: {report['message']}"
        f"  [dim]({ds['name']}: {ds['n_train']} train / {ds['n_test']} test, {ds['n_classes']} classes)[/]"
    )
    if report.get("flags"):
        console.print(f"flags: {', '.join(report['flags'])}")
    agg = report.get("aggregate") or {}
    if agg:
        table = Table(title="metrics across seeds (95% Student-t interval)")
        for col in ("metric", "mean", "std", "min", "max", "n", "95% CI"):
            table.add_column(col, justify="right" if col != "metric" else "left")
        for name, s in agg.items():
            ci = "-" if s["ci_low"] is None else f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]"
            table.add_row(name, _fmt(s["mean"]), _fmt(s["std"]), _fmt(s["min"]), _fmt(s["max"]),
                          str(s["n"]), ci)
        console.print(table)
    goal = report.get("goal")
    if goal:
        color = {"achieved": "green", "not_achieved": "red"}.get(goal["decision"], "yellow")
        console.print(f"goal {goal['metric']} >= {goal['target']}: [{color}]{goal['decision']}[/] "
                      f"(n={goal['n']}) - {goal['reason']}", highlight=False)
    for seed in report.get("seeds", []):
        acc = seed.get("metrics", {}).get("accuracy")
        console.print(f"  seed {seed['seed']}: {seed['status']}  accuracy {_fmt(acc)}")
    box = report.get("sandbox", {})
    if "wall_s" in box:
        console.print(
            f"[dim]sandbox: image {box.get('image', '')[:19]}, exit {box.get('exit_code')}, "
            f"{box.get('wall_s')}s wall, oom={box.get('oom_killed')}, killed_by_us={box.get('we_killed')}[/]"
        )
    if status != "ok" and box.get("stderr_tail"):
        console.print("[dim]stderr (tail):[/]")
        console.print(box["stderr_tail"][-1500:], markup=False, highlight=False)
