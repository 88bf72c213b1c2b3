"""The research loop vs. plain Optuna TPE on the same goal, space, sandbox and budget.

Arm A, the product: ``agent.study.Study`` (search planner: TPE proposals explored at low fidelity,
successive halving, Benjamini-Hochberg racing for more seeds, a fresh-seed confirmation before
"achieved"), seeds ``auto`` (checkpoints 3, 5, 10), its registry in a temporary home.

Arm B, the baseline: an Optuna ``TPESampler`` (seeded from ``--planner-seed`` the way the search
planner seeds its first proposal, ``n_startup_trials=5``) asking the same space
(``agent.planner._space.suggest``), from its random start by default; with
``--baseline-start defaults`` it first asks each family's default configuration, as the search
planner does, so the comparison isolates halving and racing. Every candidate runs at full fidelity (all the training
data, the epochs it drew) on seeds 0, 1, 2 in one container, is scored by the same host code
(``agent.trial.run_trial``) and told its mean. No halving, no racing. When a candidate's
``decide_goal`` lower bound (checkpoints 3, 5, 10; its look at 3 seeds) clears the target, the
same candidate is re-run on the fresh seeds 1000-1002 and judged at one checkpoint, exactly as
the study confirms; achieved when that holds too, otherwise the search goes on. Either arm stops
starting trials once its budget is spent (a trial already running finishes, as in the study).

Both arms use the limits of ``research-agent run`` (2 GiB, cpus = min(2, host CPUs)) and the same
prepared dataset (prepared once before either arm starts, outside both clocks) and one
``DockerSandbox``. Arm A's trial deadlines follow each trial's projected cost, as the CLI's do
without ``--timeout``; arm B keeps the fixed 600 s capped by the budget left + 60 s.
``--busy-cores N`` keeps N cores busy with a spinning process the benchmark starts and stops.

Per arm: time-to-decision (wall seconds from the arm's start to the decision, achieved or not
achieved; none when the budget ran out first), trials (containers), container-seconds (sum of
the host-timed sandbox wall of every container), wasted container-seconds (the share of each
trial whose seeds did not come back), timeouts, the best candidate's mean and one-sided interval
(the fresh-seed one when achieved, else its selection seeds), the load average around it, and
for arm A each full-data trial's projected against actual container-seconds.

A benchmark, not a test: it exits 0 unless an arm fails outright. Usage::

    .venv/bin/python bench/loop_vs_tpe.py                      # fashion-mnist, >= 0.90, 30 min each
    .venv/bin/python bench/loop_vs_tpe.py --dataset digits --target 0.95 --budget-minutes 6
    .venv/bin/python bench/loop_vs_tpe.py --arms A --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import loadavg  # noqa: E402

from agent.config import EvalConfig, TrainingConfig, default_cpus  # noqa: E402
from agent.data import prepare  # noqa: E402
from agent.goal import parse_goal  # noqa: E402
from agent.records import SandboxLimits, TrialStatus  # noqa: E402
from agent.results import EvalReport  # noqa: E402
from agent.scoring import CHECKPOINTS, Decision, decide_goal  # noqa: E402

TRIAL_TIMEOUT_S = 600.0  # arm B: the fixed limit the loop used before its deadlines followed the plan
MEMORY_BYTES = 2 * 1024**3  # `--memory 2g`, the CLI default
SELECTION_SEEDS = [0, 1, 2]  # the study's first checkpoint (its promote seeds)
CONFIRM_SEEDS = [1000, 1001, 1002]  # agent.planner._search.CONFIRM_SEEDS
N_STARTUP = 5  # the search planner's TPE n_startup_trials


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class LoadSampler:
    """Samples the 1-minute load average every ``every_s`` while an arm runs."""

    def __init__(self, every_s: float = 15.0):
        self.every_s, self.samples = every_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every_s)

    def __enter__(self):
        self.start_avg = loadavg()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.end_avg = loadavg()

    def summary(self) -> dict:
        s = self.samples or [0.0]
        return {"at_start": self.start_avg, "at_end": self.end_avg, "load1_mean": round(statistics.mean(s), 2),
                "load1_max": round(max(s), 2)}


def _interval(d: dict | None) -> dict | None:
    if not d or d.get("mean") is None:
        return None
    return {k: d.get(k) for k in ("mean", "lower_bound", "upper_bound", "n", "checkpoint", "decision",
                                  "alpha_per_checkpoint")}


# ---------------------------------------------------------------------------- arm A: the study


def arm_study(goal, args, limits: SandboxLimits, cache: Path, home: Path) -> dict:
    from agent.registry import open_registry
    from agent.sandbox import DockerSandbox
    from agent.study import Study, StudyConfig

    config = StudyConfig(goal=goal, budget_minutes=args.budget_minutes, max_iterations=args.max_iterations,
                         patience=args.patience, seeds="auto", planner_seed=args.planner_seed, limits=limits)
    sandbox = DockerSandbox()
    t0 = time.monotonic()
    with open_registry(home) as registry:
        study = Study(config, registry, lambda: sandbox, cache, progress=lambda line: log(f"A {line}"))
        result = study.start()
        wall = time.monotonic() - t0
        trials = registry.list_trials(result.run_id)
    actions: dict[str, int] = {}
    action_s: dict[str, float] = {}
    for t in trials:
        a = (t.rung or {}).get("action", "?")
        actions[a] = actions.get(a, 0) + 1
        action_s[a] = round(action_s.get(a, 0.0) + (t.container_s or 0.0), 1)
    d = result.decision or {}
    decided = result.status.value in ("achieved", "not_achieved")
    return {
        "arm": "A", "name": "study (TPE + halving + racing + confirmation)",
        "status": result.status.value, "reason": result.reason,
        "time_to_decision_s": round(wall, 1) if decided else None, "wall_s": round(wall, 1),
        "trials": result.trials, "containers": result.trials,
        "container_s": round(result.container_s, 1),
        "trials_by_action": actions, "container_s_by_action": action_s,
        "best": _interval(d), "best_selection": _interval(d.get("selection")),
        "best_on_fresh_seeds": bool(d.get("on_fresh_seeds")), "best_trial": result.best_trial,
        "best_spec": next((t.spec for t in trials if t.number == result.best_trial), None),
        **time_accounting(trials),
    }


def time_accounting(trials) -> dict:
    """Wasted container-seconds (the share of a trial whose seeds did not come back: a whole failed
    trial, the unfinished part of one cut by its deadline), the timeouts, and how the projections the
    deadlines came from compared with what the full-data trials took."""
    wasted, timeouts, ratios, cuts = 0.0, 0, [], []
    for t in trials:
        rung, spent = t.rung or {}, t.container_s or 0.0
        planned = len(rung.get("seeds") or []) or 1
        kept = sum(1 for s in t.seeds if s.status == "ok")
        if t.status is not None and t.status.value != "ok":
            wasted += spent * (1 - kept / planned)
            timeouts += t.status.value == "timeout"
            cuts.append({"trial": t.number, "status": t.status.value, "seeds_kept": f"{kept}/{planned}",
                         "container_s": round(spent, 1)})
        if rung.get("action") in ("promote", "add_seeds", "confirm") and rung.get("projected_s") and t.status \
                and t.status.value == "ok":
            ratios.append({"trial": t.number, "action": rung["action"], "projected_s": round(rung["projected_s"], 1),
                           "actual_s": round(spent, 1), "ratio": round(spent / rung["projected_s"], 3)})
    return {"wasted_container_s": round(wasted, 1), "timeouts": timeouts, "cut_trials": cuts,
            "projections": ratios}


# ---------------------------------------------------------------------------- arm B: plain TPE


def arm_tpe(goal, args, limits: SandboxLimits, cache: Path) -> dict:
    import optuna

    from agent.assembler import AssemblyError, source_for
    from agent.planner._space import default_params, families, suggest
    from agent.sandbox import DockerSandbox
    from agent.specs import DataShape, TrialSpec
    from agent.trial import run_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = prepare(goal.dataset, cache)
    shape = DataShape(modality=data.modality, input_shape=data.input_shape, n_classes=data.n_classes,
                      vocab_size=data.extra.get("vocab_size"), pad_id=data.extra.get("pad_id"))
    sandbox = DockerSandbox()
    # The search planner's first sampler is seeded planner_seed * 1_000_003 (+ trials told = 0).
    sampler = optuna.samplers.TPESampler(seed=args.planner_seed * 1_000_003, n_startup_trials=N_STARTUP)
    study = optuna.create_study(direction="maximize" if goal.higher_is_better else "minimize", sampler=sampler)
    worst = 0.0 if goal.higher_is_better else 1e6
    t0 = time.monotonic()
    budget_s = args.budget_minutes * 60
    history, container_s, containers = [], 0.0, 0
    status, reason, best, best_fresh, decided_at = "budget_exhausted", "", None, None, None

    def left_s() -> float:
        return budget_s - (time.monotonic() - t0)

    def evaluate(source: str, label: str, training, seeds: list[int]) -> tuple[EvalReport, list[float]]:
        nonlocal container_s, containers
        timeout = max(60.0, min(TRIAL_TIMEOUT_S, left_s() + 60.0))
        config = EvalConfig(dataset=goal.dataset, seeds=len(seeds), epochs=training.epochs,
                            batch_size=training.batch_size, lr=training.lr, optimizer=training.optimizer,
                            training=TrainingConfig(weight_decay=training.weight_decay, schedule=training.schedule,
                                                    label_smoothing=training.label_smoothing),
                            limits=limits.model_copy(update={"timeout_s": timeout}))
        report = run_trial(source, label, config, lambda: sandbox, data, batches=[seeds],
                           trial_id=f"bench-tpe/{label}")
        containers += len(report.sandbox.runs or [])
        container_s += report.sandbox.wall_s or 0.0
        return report, list(report.seed_values(goal.metric).values())  # ok seeds, in seed order

    while True:
        if len(history) >= args.max_iterations:
            reason = f"reached {args.max_iterations} trials"
            status = "inconclusive"
            break
        if left_s() <= 0:
            reason = f"spent the {args.budget_minutes:g}-minute budget"
            break
        number = len(history) + 1
        fams = families(shape, goal.family)
        if args.baseline_start == "defaults" and number <= len(fams):
            study.enqueue_trial(default_params(fams[number - 1], shape, data.n_train))
        trial = study.ask()
        model, training = suggest(trial, shape, data.n_train, goal.family)
        try:
            source = source_for(TrialSpec(model=model, training=training, origin="search"), shape)
        except AssemblyError as exc:
            study.tell(trial, worst)
            history.append({"number": number, "status": "invalid_submission", "message": str(exc)[:200]})
            continue
        report, values = evaluate(source, f"trial-{number}.py", training, SELECTION_SEEDS)
        ok = report.status is TrialStatus.OK and len(values) == len(SELECTION_SEEDS)
        mean = float(np.mean(values)) if ok else None
        study.tell(trial, mean if ok else worst)
        d = decide_goal(values, goal.target, CHECKPOINTS, higher_is_better=goal.higher_is_better) if ok else None
        entry = {"number": number, "family": model.family, "epochs": training.epochs, "status": report.status.value,
                 "values": values, "mean": mean, "decision": d.decision.value if d else None,
                 "container_s": report.sandbox.wall_s}
        history.append(entry)
        log(f"B trial {number}: {model.family} {training.epochs} ep -> {report.status.value} "
            f"{'' if mean is None else f'{mean:.4f}'} {entry['decision'] or ''} | "
            f"{left_s() / 60:.1f} min left, {container_s:.0f} container-s")
        if d is not None and (best is None or (mean - best["mean"]) * (1 if goal.higher_is_better else -1) > 0):
            best = d.to_dict() | {"trial": number}
        if d is not None and d.decision == Decision.ACHIEVED:
            # The same fresh-seed confirmation the study demands before it says "achieved".
            creport, cvalues = evaluate(source, f"trial-{number}-confirm.py", training, CONFIRM_SEEDS)
            c = decide_goal(cvalues, goal.target, CHECKPOINTS[:1], higher_is_better=goal.higher_is_better)
            entry["confirm"] = {"status": creport.status.value, "values": cvalues, "decision": c.decision.value,
                                "container_s": creport.sandbox.wall_s}
            log(f"B confirm trial {number} on seeds {CONFIRM_SEEDS}: {c.decision.value} "
                f"(mean {c.mean if c.mean is None else round(c.mean, 4)})")
            if c.decision == Decision.ACHIEVED and creport.status is TrialStatus.OK:
                status, reason = "achieved", f"trial {number} cleared the target on fresh seeds"
                best, best_fresh = d.to_dict() | {"trial": number}, c.to_dict()
                decided_at = time.monotonic() - t0
                break
    wall = time.monotonic() - t0
    return {
        "arm": "B", "name": "plain TPE (full fidelity, 3 seeds, + fresh-seed confirmation"
                            f"{', family defaults first' if args.baseline_start == 'defaults' else ''})",
        "status": status, "reason": reason,
        "time_to_decision_s": round(decided_at, 1) if decided_at is not None else None, "wall_s": round(wall, 1),
        "trials": len(history), "containers": containers, "container_s": round(container_s, 1),
        "best": _interval(best_fresh or best), "best_selection": _interval(best),
        "best_on_fresh_seeds": best_fresh is not None, "best_trial": best["trial"] if best else None,
        "history": history,
    }


# ---------------------------------------------------------------------------- output


def print_table(result: dict) -> None:
    g = result["goal"]
    print(f"Loop vs plain TPE, {result['date']}: {g['metric']} >= {g['target']} on {g['dataset']}"
          f"{' (' + g['family'] + ')' if g.get('family') else ''}, budget {result['budget_minutes']:g} min per arm, "
          f"planner seed {result['planner_seed']}, cpus {result['cpus']:g}, "
          f"{result['machine']['host_cpus']} host CPUs, {result.get('busy_cores', 0)} kept busy by a spinning process")
    arms = result["arms"]
    print()
    short = {"A": "A: study loop", "B": "B: plain TPE"}
    print(f"{'':26s}" + "".join(f"{short[a['arm']]:>36s}" for a in arms))

    def row(label: str, fn) -> None:
        print(f"{label:26s}" + "".join(f"{fn(a):>36s}" for a in arms))

    def fmt_iv(iv: dict | None) -> str:
        if not iv:
            return "-"
        if iv.get("lower_bound") is None:
            return f"{iv['mean']:.4f} (n={iv['n']})"
        return f"{iv['mean']:.4f} [{iv['lower_bound']:.4f}, {iv['upper_bound']:.4f}] n={iv['n']}"

    row("status", lambda a: a["status"])
    row("time to decision (s)", lambda a: "-" if a["time_to_decision_s"] is None else f"{a['time_to_decision_s']:.0f}")
    row("wall, whole arm (s)", lambda a: f"{a['wall_s']:.0f}")
    row("trials", lambda a: str(a["trials"]))
    row("containers", lambda a: str(a["containers"]))
    row("container-seconds", lambda a: f"{a['container_s']:.0f}")
    row("  wasted (thrown away)", lambda a: f"{a['wasted_container_s']:.0f}" if "wasted_container_s" in a else "-")
    row("  timeouts", lambda a: str(a.get("timeouts", "-")))
    row("best: decision interval", lambda a: fmt_iv(a["best"]))
    row("  on fresh seeds", lambda a: "yes" if a["best_on_fresh_seeds"] else "no")
    row("best: selection seeds", lambda a: fmt_iv(a["best_selection"]))
    row("load avg at start", lambda a: ", ".join(f"{x:.1f}" for x in a["load"]["at_start"]))
    row("load1 mean / max during", lambda a: f"{a['load']['load1_mean']:.1f} / {a['load']['load1_max']:.1f}")
    print()
    for a in arms:
        extra = f"; by action {a['trials_by_action']}, container-s {a['container_s_by_action']}" \
            if "trials_by_action" in a else ""
        print(f"{a['arm']} ({a['name']}): {a['reason']}{extra}")
    for a in arms:
        for p in a.get("projections", []):
            print(f"{a['arm']} trial {p['trial']} ({p['action']}): projected {p['projected_s']:.0f} s, "
                  f"took {p['actual_s']:.0f} s, actual/projected {p['ratio']:.2f}")
        for cut in a.get("cut_trials", []):
            print(f"{a['arm']} trial {cut['trial']} ended {cut['status']}: {cut['seeds_kept']} seeds kept, "
                  f"{cut['container_s']:.0f} container-s")
    c = result.get("comparison")
    if c:
        print()
        print(f"A/B container-seconds: {c['container_s_ratio_a_over_b']}; A/B wall: {c['wall_ratio_a_over_b']}; "
              f"A within the {result['budget_minutes']:g}-minute budget: {c['a_achieved_in_budget']}; "
              f"A used less compute than B: {c['a_less_compute']}")
    print("(intervals: decide_goal's one-sided bounds [lower, upper] at the deciding look)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--goal", default=None, help="goal text (default: a model for DATASET with >= TARGET acc)")
    parser.add_argument("--budget-minutes", type=float, default=30.0, help="per arm")
    parser.add_argument("--planner-seed", type=int, default=0)
    parser.add_argument("--arms", default="A,B", help="A (study), B (plain TPE), or both")
    parser.add_argument("--baseline-start", choices=["tpe", "defaults"], default="tpe",
                        help="arm B's first trials: TPE's random start, or each family's defaults first")
    parser.add_argument("--max-iterations", type=int, default=40, help="trial cap per arm (the CLI's default)")
    parser.add_argument("--patience", type=int, default=12, help="the study's --patience (its default)")
    parser.add_argument("--cpus", type=float, default=None, help="sandbox CPUs (default: the CLI's, min(2, CPUs))")
    parser.add_argument("--home", type=Path, default=None, help="keep arm A's registry here (default: temp)")
    parser.add_argument("--busy-cores", type=int, default=0,
                        help="keep this many cores busy with a spinning process while the arms run (a loaded machine)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    arms = [a.strip().upper() for a in args.arms.split(",") if a.strip()]
    if not arms or set(arms) - {"A", "B"}:
        parser.error("--arms takes A, B or A,B")
    goal = parse_goal(args.goal or f"Design a model for the {args.dataset} dataset with at least "
                                   f"{args.target * 100:g}% accuracy", dataset=args.dataset, target=args.target)
    limits = SandboxLimits(timeout_s=TRIAL_TIMEOUT_S, memory_bytes=MEMORY_BYTES, cpus=args.cpus or default_cpus())
    work = Path(tempfile.mkdtemp(prefix="bench-loop-"))
    cache = work / "cache"
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "goal": goal.model_dump(), "budget_minutes": args.budget_minutes,
              "planner_seed": args.planner_seed, "baseline_start": args.baseline_start, "cpus": limits.cpus,
              "machine": {"host_cpus": os.cpu_count(), "platform": platform.platform()}, "arms": []}
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy_cores)]
    result["busy_cores"] = args.busy_cores
    try:
        log(f"preparing {goal.dataset} (outside both clocks)")
        prepare(goal.dataset, cache)
        for arm in arms:
            log(f"arm {arm} starts; load average {loadavg()}")
            with LoadSampler() as load:
                if arm == "A":
                    out = arm_study(goal, args, limits, cache, args.home or (work / "home"))
                else:
                    out = arm_tpe(goal, args, limits, cache)
            out["load"] = load.summary()
            result["arms"].append(out)
            log(f"arm {arm}: {out['status']} after {out['wall_s']:.0f} s, {out['trials']} trials, "
                f"{out['container_s']:.0f} container-s")
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    by = {a["arm"]: a for a in result["arms"]}
    if "A" in by and "B" in by:
        a, b = by["A"], by["B"]
        result["comparison"] = {
            "container_s_ratio_a_over_b": round(a["container_s"] / b["container_s"], 3) if b["container_s"] else None,
            "wall_ratio_a_over_b": round(a["wall_s"] / b["wall_s"], 3) if b["wall_s"] else None,
            "a_achieved_in_budget": a["status"] == "achieved",
            "b_achieved_in_budget": b["status"] == "achieved",
            # Less compute to reach the decision (a B that never decided spent its whole budget).
            "a_less_compute": a["status"] == "achieved" and (b["status"] != "achieved"
                                                             or a["container_s"] < b["container_s"]),
        }
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
