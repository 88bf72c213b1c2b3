"""Per-run reports: ``RESEARCH_REPORT.md`` (with its PNG of the best curves) and a self-contained
``report.html``, which is the dashboard's run page as one file (``dashboard._report_page``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from ..planner import Ledger, planning, planning_line, summary_of
from ..scoring import plan_for, plot_learning_curves
from ..specs import Goal

__all__ = ["candidate_rows", "decision_line", "interval_text", "write_run_report"]


def write_run_report(snapshot, run_dir: Path) -> dict[str, Path]:
    """Write both reports (and the best trial's learning curves) into ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run, trials = snapshot.run, list(snapshot.trials)
    best = next((t for t in trials if t.id == run.best_trial_id), None)
    curves_png = None
    if best is not None:
        curves = {s.seed: s.curves for s in best.seeds if s.curves}
        if curves:
            curves_png = plot_learning_curves(curves, run_dir / "best_learning_curves.png",
                                              title=f"trial {best.number}: learning curves")
    sections = _sections(run, trials, best)
    md = run_dir / "RESEARCH_REPORT.md"
    md.write_text(_markdown(sections, curves_png))
    page = run_dir / "report.html"
    page.write_text(_html(snapshot, sections["candidates"]))
    out = {"markdown": md, "html": page}
    if curves_png:
        out["learning_curves"] = Path(curves_png)
    return out


def _fmt(v, digits=4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def interval_text(summary: dict | None) -> str:
    if not summary or summary.get("mean") is None:
        return "-"
    if summary.get("ci_low") is None:
        return f"{summary['mean']:.4f} (n={summary.get('n', 1)})"
    return f"{summary['mean']:.4f} [{summary['ci_low']:.4f}, {summary['ci_high']:.4f}] (n={summary['n']})"


def _sections(run, trials, best) -> dict:
    config = run.config
    goal = config.get("goal", {})
    metric = goal.get("metric", "accuracy")
    decision = run.decision or {}
    leaderboard = []
    for t in trials:
        rung = t.rung or {}
        spec = t.spec.get("model") or {}
        leaderboard.append({
            "number": t.number, "action": rung.get("action", "-"), "family": spec.get("family", "source"),
            "seeds": ",".join(map(str, rung.get("seeds", []))), "status": (t.status.value if t.status else t.state),
            "value": interval_text(t.summary.get(metric)), "message": (t.message or "")[:80],
            "wall_s": t.wall_s,
        })
    failures = Counter(t.status.value for t in trials if t.status is not None and t.status.value != "ok")
    candidates = candidate_rows(config, goal, trials)
    plan = planning([t.rung or {} for t in trials], config.get("planner", ""))
    return {"run": run, "goal": goal, "metric": metric, "decision": decision, "best": best,
            "leaderboard": leaderboard, "candidates": candidates, "failures": failures, "manifest": run.manifest,
            "planning": plan, "planning_line": planning_line(plan)}


TOP_CANDIDATES = 10  # the report's candidate table; the leaderboard below lists every trial


def candidate_rows(config: dict, goal: dict, trials) -> list[dict]:
    """The run's ledger (the one the loop decided with), best full-fidelity mean first."""
    finished = [t for t in trials if t.state == "finished" and t.rung]
    if not finished or not goal.get("dataset"):
        return []
    n_test = next((d["n_test"] for t in finished if isinstance(d := t.details.get("dataset"), dict)
                   and isinstance(d.get("n_test"), int) and (t.rung or {}).get("action") != "explore"), None)
    try:
        g = Goal.model_validate(goal)
    except ValidationError:  # a run recorded before goals were checked: its trials are still listed below
        return []
    ledger = Ledger.build(g, plan_for(config.get("seeds", "auto")), [summary_of(t, g.metric) for t in finished],
                          n_test=n_test)
    rows = []
    for c in ledger.ranked()[:TOP_CANDIDATES]:
        d = c.decision
        bounds = "-" if d.lower_bound is None else f"[{d.lower_bound:.4f}, {d.upper_bound:.4f}]"
        rows.append({"id": c.id, "family": c.family, "n": len(c.full), "mean": c.mean, "bounds": bounds,
                     "decision": d.decision.value, "trials": ",".join(map(str, c.full_trials)),
                     "confirmed": "-" if c.confirm_decision is None else c.confirm_decision.decision.value})
    return rows


def decision_line(s: dict) -> str:
    """The run's decision: which one-sided bounds it rests on (seeds, test set), why the run stopped."""
    d = s["decision"]
    status = s["run"].status.value
    if d.get("lower_bound") is not None:
        alpha = d.get("alpha_per_checkpoint")
        level = f"one-sided {100 * (1 - alpha):.1f}%" if alpha else "one-sided"
        bounds = f"{level} bounds [{d['lower_bound']:.4f}, {d['upper_bound']:.4f}], mean {d['mean']:.4f}, n={d['n']}"
        if d.get("seed_lower_bound") is not None:
            bounds += f" (over seeds, Student t: [{d['seed_lower_bound']:.4f}, {d['seed_upper_bound']:.4f}]"
            if d.get("test_lower_bound") is not None:
                method = "exact binomial" if d.get("test_bound_method") == "clopper_pearson" else "bootstrap"
                bounds += f"; test set, {method}: [{d['test_lower_bound']:.4f}, {d['test_upper_bound']:.4f}]"
            bounds += ")"
    else:
        bounds = "no interval"
    fresh = " on fresh seeds" if d.get("on_fresh_seeds") else ""
    why = f" {d['statistics']}." if d.get("statistics") else ""
    return f"**{status}**{fresh}: {bounds}. {d.get('reason', '')}.{why}"


def _markdown(s: dict, curves_png) -> str:
    run, goal, best = s["run"], s["goal"], s["best"]
    lines = [
        f"# Research report: {run.id}", "",
        f"**Goal:** {run.goal or '-'}  ", f"**Dataset:** {goal.get('dataset')}  ",
        f"**Target:** {s['metric']} {'>=' if goal.get('higher_is_better', True) else '<='} {goal.get('target')}  ",
        f"**Created:** {run.created_at:%Y-%m-%d %H:%M UTC}", "",
        "## Decision", "", decision_line(s), "",
    ]
    if s["planning_line"]:  # an LLM run says who planned it; one the LLM never planned says so loudly
        text = s["planning_line"][0].upper() + s["planning_line"][1:]
        lines += [f"> **{text}.**" if s["planning"]["llm"] == 0 else f"Planning: {s['planning_line']}.", ""]
    if best is not None:
        value = interval_text(best.summary.get(s["metric"]))
        lines += [f"## Best model (trial {best.number})", "", f"{s['metric']}: {value}",
                  "", "```python", (best.source or "").rstrip(), "```", ""]
        if curves_png:
            lines += [f"![learning curves]({Path(curves_png).name})", ""]
    if s["candidates"]:
        lines += ["## Candidates at full fidelity", "",
                  "Bounds: the one-sided bounds the goal decision uses (the lower of the seeds' Student-t bound "
                  "and the test set's own bound).", "",
                  "| candidate | family | seeds | mean | one-sided bounds | decision | fresh seeds | trials |",
                  "|---|---|---:|---:|---|---|---|---|"]
        lines += [f"| {c['id']} | {c['family']} | {c['n']} | {c['mean']:.4f} | {c['bounds']} | {c['decision']} | "
                  f"{c['confirmed']} | {c['trials']} |" for c in s["candidates"]]
        lines.append("")
    lines += ["## Leaderboard", "", "Values: mean [two-sided 95% Student-t interval over seeds] (n seeds).", "",
              f"| # | action | family | seeds | status | {s['metric']} | wall s |",
              "|---:|---|---|---|---|---|---:|"]
    for r in s["leaderboard"]:
        lines.append(f"| {r['number']} | {r['action']} | {r['family']} | {r['seeds']} | {r['status']} | "
                     f"{r['value']} | {_fmt(r['wall_s'], 1)} |")
    lines += ["", "## Failures by status", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(s["failures"].items())] or ["- none"]
    lines += ["", "## Reproducibility manifest", "", "```json", json.dumps(s["manifest"], indent=2, sort_keys=True),
              "```", ""]
    return "\n".join(lines)


def _html(snapshot, candidates: list[dict]) -> str:
    """The dashboard's run page as one file (its views, inline SVG, no scripts), with the candidate
    rows the Markdown report already built (the ledger over every trial is built once)."""
    from ..dashboard import report_html

    return report_html(snapshot, candidates)
