"""What each page shows, read through the registry's API and shaped into plain dicts.

The templates only lay these out; every string in them is untrusted text (goal, model source,
stderr, LLM answers) and the templates escape it (Jinja2 autoescape). Pages are bounded: a run
with thousands of trials is read once per request and shown a page of trials at a time.
"""

from __future__ import annotations

import math
from collections import Counter

from ..registry import BaseRegistry, RunSnapshot, TrialRecord
from ..report import candidate_rows, decision_line, interval_text

__all__ = ["PAGE_RUNS", "PAGE_TRIALS", "compare_view", "page_of", "run_page", "run_totals", "run_view", "runs_view",
           "trial_rows", "trial_view"]

PAGE_RUNS = 50  # runs per page of the runs list
PAGE_TRIALS = 100  # trials per page of a run (its table and its chart)


def page_of(items: list, page: int, size: int) -> tuple[list, dict]:
    pages = max(1, math.ceil(len(items) / size))
    page = min(max(1, page), pages)
    return items[(page - 1) * size: page * size], {"page": page, "pages": pages, "total": len(items)}


def _goal(config: dict) -> dict:
    return config.get("goal") or {}


def runs_view(registry: BaseRegistry, status: str = "", dataset: str = "", page: int = 1) -> dict:
    rows = []
    for summary in registry.list_runs():
        run = registry.get_run(summary.id)
        goal = _goal(run.config)
        totals = _derived(registry, summary.id, "totals", run_totals)
        best = summary.best
        rows.append({
            "id": summary.id, "created": summary.created_at, "goal": summary.goal, "status": summary.status.value,
            "dataset": str(goal.get("dataset") or ""), "metric": best.metric if best else goal.get("metric"),
            "target": goal.get("target"), "best": best.model_dump() if best else None,
            "n_trials": summary.n_trials, "n_finished": summary.n_finished,
            "wall_s": totals["wall_s"], "container_s": totals["container_s"],
        })
    facets = {"statuses": sorted({r["status"] for r in rows}), "datasets": sorted({r["dataset"] for r in rows})}
    shown = [r for r in rows if (not status or r["status"] == status) and (not dataset or r["dataset"] == dataset)]
    items, pager = page_of(shown, page, PAGE_RUNS)
    return {"runs": items, "pager": pager, "facets": facets, "status": status, "dataset": dataset,
            "live": any(r["status"] == "running" for r in rows)}


def run_totals(snapshot: RunSnapshot) -> dict:
    """Counts and seconds of a run: the runs list and /metrics."""
    counts = Counter(t.status.value if t.status is not None else t.state.value for t in snapshot.trials)
    return {"wall_s": sum(t.wall_s or 0.0 for t in snapshot.trials),
            "container_s": sum(t.container_s or 0.0 for t in snapshot.trials), "by_status": dict(counts),
            "llm_calls": len(snapshot.llm_calls),
            "prompt_tokens": sum(c.prompt_tokens or 0 for c in snapshot.llm_calls),
            "completion_tokens": sum(c.completion_tokens or 0 for c in snapshot.llm_calls)}


def _value(t: TrialRecord, metric: str) -> dict:
    agg = t.summary.get(metric) or {}
    return {"mean": agg.get("mean"), "low": agg.get("ci_low"), "high": agg.get("ci_high"), "n": agg.get("n"),
            "text": interval_text(agg)}


def trial_rows(snapshot: RunSnapshot) -> list[dict]:
    """One flat row per trial: the dashboard's table and its CSV/JSON export."""
    metric = _goal(snapshot.run.config).get("metric", "accuracy")
    rows = []
    for t in snapshot.trials:
        rung, model = t.rung or {}, (t.spec.get("model") or {})
        value = _value(t, metric)
        rows.append({
            "number": t.number, "state": t.state.value, "status": t.status.value if t.status else t.state.value,
            "action": rung.get("action", ""), "candidate": rung.get("candidate", ""),
            "family": model.get("family", "source"), "seeds": ",".join(map(str, rung.get("seeds", []))),
            "metric": metric, "mean": value["mean"], "ci_low": value["low"], "ci_high": value["high"],
            "n": value["n"], "attempt": t.attempt, "wall_s": t.wall_s, "container_s": t.container_s,
            "message": t.message or "", "started_at": t.started_at.isoformat() if t.started_at else None,
            "finished_at": t.finished_at.isoformat() if t.finished_at else None,
        })
    return rows


TREE_CANDIDATES = 60  # candidates drawn in the tree; the trials table pages through every trial
TREE_TRIALS = 20  # trials shown under one candidate


def _tree(rows: list[dict]) -> tuple[list[dict], int]:
    """The search as candidates, each with its trials in order: explore -> promote -> add seeds ->
    confirm; a failed trial is a leaf with its status. Candidates that went past exploration come
    first; the rest (explored once) fill the tree up to its bound. Returns (nodes, candidates left out)."""
    nodes: dict[str, dict] = {}
    for r in rows:
        key = r["candidate"] or f"trial-{r['number']}"
        node = nodes.setdefault(key, {"candidate": r["candidate"], "family": r["family"], "trials": [], "more": 0})
        node["trials"].append(r)
    ranked = sorted(nodes.values(), key=lambda n: (all(t["action"] == "explore" for t in n["trials"]),
                                                   n["trials"][0]["number"]))
    shown = ranked[:TREE_CANDIDATES]
    for node in shown:
        node["more"] = max(0, len(node["trials"]) - TREE_TRIALS)
        node["trials"] = node["trials"][:TREE_TRIALS]
    return shown, len(ranked) - len(shown)


def _derived(registry, run_id: str, name: str, compute):
    """Through the app's ``Reader``: once per state of the run; a bare registry computes each time."""
    derived = getattr(registry, "derived", None)
    return derived(run_id, name, compute) if derived else compute(registry.snapshot(run_id))


def run_view(registry: BaseRegistry, run_id: str, page: int = 1) -> dict:
    snapshot = registry.snapshot(run_id)
    goal = _goal(snapshot.run.config)
    candidates = _derived(registry, run_id, "candidates",
                          lambda snap: candidate_rows(snap.run.config, goal, list(snap.trials)))
    return run_page(snapshot, page, candidates)


def run_page(snapshot: RunSnapshot, page: int = 1, candidates: list | None = None, size: int = PAGE_TRIALS,
             links: bool = True) -> dict:
    """A run's page from its snapshot: the dashboard's (``links``: to trial pages) and the static
    report.html's (every trial on one page, no links)."""
    from markupsafe import Markup

    from ..planner import planning, planning_line
    from . import _charts

    run = snapshot.run
    goal = _goal(run.config)
    rows = trial_rows(snapshot)
    items, pager = page_of(rows, page, size)
    decision = run.decision or {}
    statuses = Counter(r["status"] for r in rows)
    tree, left_out = _tree(rows)
    metric, better = goal.get("metric", "accuracy"), goal.get("higher_is_better", True)
    points = [{"number": r["number"], "mean": r["mean"], "low": r["ci_low"], "high": r["ci_high"],
               "status": r["status"], "label": f"trial {r['number']}: {r['action']} {r['family']}"} for r in items]
    plan = planning([t.rung or {} for t in snapshot.trials], run.config.get("planner", ""))
    best = _best(snapshot, metric, better)
    curves = {s.seed: s.curves for s in best.seeds if s.curves} if best else {}
    return {
        "run": run, "goal": goal, "metric": metric, "decision": decision, "links": links,
        "decision_line": decision_line({"decision": decision, "run": run}).replace("**", ""),
        "planning": plan, "planning_line": planning_line(plan),
        "candidates": candidate_rows(run.config, goal, list(snapshot.trials)) if candidates is None else candidates,
        "tree": tree, "tree_left_out": left_out, "trials": items, "pager": pager,
        "statuses": dict(sorted(statuses.items())),
        "chart": Markup(_charts.interval_svg(points, target=goal.get("target"), higher_is_better=better, metric=metric,
                                             href=_trial_link(run.id) if links else None)),
        "bound": Markup(_charts.bound_svg(decision.get("mean"), decision.get("lower_bound"),
                                          decision.get("upper_bound"), goal.get("target"), higher_is_better=better,
                                          metric=metric)),
        "best": best, "best_curves": Markup(_charts.learning_curves_svg(curves, title="loss per epoch, by seed")),
        "llm_calls": len(snapshot.llm_calls), "live": run.status.value == "running",
        "wall_s": sum(t.wall_s or 0.0 for t in snapshot.trials),
        "container_s": sum(t.container_s or 0.0 for t in snapshot.trials),
    }


def _best(snapshot: RunSnapshot, metric: str, higher_is_better: bool) -> TrialRecord | None:
    """The run's best trial (the loop's choice, once it made one), else the finished trial with the
    best mean so far: whose curves the run page shows."""
    chosen = next((t for t in snapshot.trials if t.id == snapshot.run.best_trial_id), None)
    if chosen is not None:
        return chosen
    scored = [t for t in snapshot.trials if t.mean(metric) is not None]
    sign = 1 if higher_is_better else -1
    return max(scored, key=lambda t: (sign * t.mean(metric), -t.number), default=None)


def _trial_link(run_id: str):
    return lambda point: f"/runs/{run_id}/trials/{point['number']}"


def trial_view(registry: BaseRegistry, run_id: str, number: int) -> dict | None:
    snapshot = registry.snapshot(run_id)
    trial = next((t for t in snapshot.trials if t.number == number), None)
    if trial is None:
        return None
    metric = _goal(snapshot.run.config).get("metric", "accuracy")
    seeds = [{"seed": s.seed, "status": s.status, "message": s.message, "metrics": s.metrics, "curves": s.curves,
              "confusion": s.extra.get("confusion_matrix"), "best_epoch": s.extra.get("best_epoch")}
             for s in trial.seeds]
    names = sorted({k for s in trial.seeds for k, v in s.metrics.items() if isinstance(v, int | float)})
    sandbox = trial.details.get("sandbox") or {}
    return {
        "run": snapshot.run, "trial": trial, "metric": metric, "value": _value(trial, metric),
        "rung": trial.rung or {}, "training": (trial.spec.get("training") or {}), "model": trial.spec.get("model"),
        "rationale": trial.spec.get("rationale") or "", "seeds": seeds, "metric_names": names,
        "curves": {s.seed: s.curves for s in trial.seeds if s.curves},
        "sandbox": {k: v for k, v in sandbox.items() if k not in ("stderr_tail", "runs", "image_labels")},
        "stderr": sandbox.get("stderr_tail") or "", "dataset": trial.details.get("dataset") or {},
        "llm_calls": _planned_before(snapshot, trial), "manifest": snapshot.run.manifest,
        "numbers": [t.number for t in snapshot.trials],
    }


def _planned_before(snapshot: RunSnapshot, trial: TrialRecord) -> list:
    """The LLM exchanges recorded after the previous trial started and before this one: the ones
    that planned it (the registry keeps exchanges per run, in order)."""
    earlier = [t.created_at for t in snapshot.trials if t.number < trial.number]
    since = max(earlier) if earlier else snapshot.run.created_at
    return [c for c in snapshot.llm_calls if since <= c.created_at <= trial.created_at]


MAX_COMPARED = 8  # trials side by side on one page


def _ok_values(trials: list[TrialRecord], metric: str) -> dict[int, float]:
    return {s.seed: s.metrics[metric] for t in trials for s in t.seeds
            if s.status == "ok" and isinstance(s.metrics.get(metric), int | float)}


def _column(name: str, href: str, trials: list[TrialRecord], metric: str) -> dict:
    last = trials[-1]
    values = _ok_values(trials, metric)
    mean = sum(values.values()) / len(values) if values else None
    return {"name": name, "href": href, "family": (last.spec.get("model") or {}).get("family", "source"),
            "action": ", ".join(dict.fromkeys((t.rung or {}).get("action", "") for t in trials)),
            "training": last.spec.get("training") or {}, "seeds": values,
            "value": _value(last, metric) if len(trials) == 1 else
            {"text": "-" if mean is None else f"{mean:.4f} (mean of n={len(values)} seeds)"}}


def compare_view(registry: BaseRegistry, run_id: str, numbers: list[int], candidates: list[str] = ()) -> dict:
    """Trials, or candidates (every full-fidelity seed of each, across its trials), side by side, with
    the paired comparison `research-agent compare` computes over their common seeds (the first
    against each other one; Holm-adjusted when there are several)."""
    from ..errors import UsageError
    from ..report import compare_values

    snapshot = registry.snapshot(run_id)
    metric = _goal(snapshot.run.config).get("metric", "accuracy")
    by_number = {t.number: t for t in snapshot.trials}
    columns = [_column(f"trial {n}", f"/runs/{run_id}/trials/{n}", [by_number[n]], metric)
               for n in dict.fromkeys(numbers) if n in by_number]
    for cid in dict.fromkeys(candidates):
        full = [t for t in snapshot.trials if (t.rung or {}).get("candidate") == cid
                and (t.rung or {}).get("action") != "explore" and t.state.value == "finished"]
        if full:
            columns.append(_column(f"candidate {cid}", f"/runs/{run_id}/trials/{full[-1].number}", full, metric))
    columns = columns[:MAX_COMPARED]
    result, problem = None, None
    if len(columns) >= 2:
        try:
            result = compare_values([(c["name"], c["seeds"]) for c in columns], metric)
        except UsageError as exc:
            problem = str(exc)
    else:
        problem = "choose two or more trials (or candidates at full fidelity) to compare"
    return {"run": snapshot.run, "metric": metric, "columns": columns, "result": result, "problem": problem}
