"""What one step of the research loop costs in bookkeeping, for histories of 10, 100 and 1,000 trials.

A step is what ``Study._loop`` does between two trials, minus the registry read, the planner's
TPE draw and the sandbox: the stop check (``_stop_reason``), the planner's context
(``_context``), the search planner's schedule over the candidates (``follow_up``: confirm, add
seeds, promote) and the progress line (``_describe``). The history is synthetic and shaped like a
real run: every candidate explored at low fidelity (1 seed), every third promoted (3 seeds), every
sixth raced to 5 seeds, none achieved (target 0.999), so nothing stops the loop early.

Each figure is the median over repeats of the step at N trials, taken after the same study has
already stepped at N - 1 (the loop's steady state: a ledger that is kept adds one trial). With
``--before REF`` (default: main before the ledger) the same measurement runs on a git worktree of
REF in a subprocess, so both sides are measured in one run, on the same machine state; compare
the ratios, not the absolute times.

A benchmark, not a test: it exits 0 unless a side fails. Usage::

    .venv/bin/python bench/ledger.py [--sizes 10 100 1000] [--repeats 5] [--before REF | --no-before] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "2ff855b"  # main before issue 14's ledger: the study, the search planner and the prompt each kept their own
SIZES = (10, 100, 1000)


def synthetic_trials(n: int) -> list:
    """``n`` finished trials of a run that explores, promotes every third candidate, races every sixth."""
    from agent.planner import Proposal
    from agent.registry import TrialRecord
    from agent.registry._records import SeedResultRecord
    from agent.specs import MLPSpec, TrainingSpec, TrialSpec

    now = datetime.now(UTC)
    steps: list[tuple[str, int, list[int]]] = []
    c = 0
    while len(steps) < n:
        steps.append(("explore", c, [0]))
        if c % 3 == 0:
            steps.append(("promote", c, [0, 1, 2]))
        if c % 6 == 0:
            steps.append(("add_seeds", c, [3, 4]))
        c += 1
    trials = []
    for number, (action, cand, seeds) in enumerate(steps[:n], start=1):
        spec = TrialSpec(model=MLPSpec(depth=1 + cand % 3, width=32 + cand % 7 * 16),
                         training=TrainingSpec(epochs=3 if action == "explore" else 9), origin="search",
                         subset_size=500 if action == "explore" else None)
        proposal = Proposal(spec=spec, action=action, candidate=f"c{cand:05d}", seeds=seeds,
                            rung=0 if action == "explore" else 1,
                            params={"values": {"epochs": 9}, "distributions": {}})
        acc = 0.80 + (cand * 7919 % 1000) / 10_000
        seed_rows = tuple(SeedResultRecord(trial_id=f"t{number}", seed=s, status="ok", message="",
                                           metrics={"accuracy": acc + s / 1000, "f1_macro": acc},
                                           curves={"epoch_s": [0.5, 0.5, 0.5], "train_loss": [1.0, 0.5, 0.3]},
                                           extra={}) for s in seeds)
        trials.append(TrialRecord(
            id=f"t{number}", run_id="run-bench", number=number, state="finished", status="ok",
            spec=spec.model_dump(mode="json"), message="the trial finished and its predictions were scored",
            summary={}, details={"sandbox": {"stderr_tail": ""}}, rung=proposal.model_dump(mode="json"),
            created_at=now, started_at=now, finished_at=now, wall_s=4.0, container_s=3.5, seeds=seed_rows))
    return trials


def _study(cache: Path):
    from agent.planner import Goal, SearchPlanner
    from agent.study import Study, StudyConfig

    goal = Goal(text="bench", dataset="digits", metric="accuracy", target=0.999)
    config = StudyConfig(goal=goal, budget_minutes=10_000, max_iterations=100_000, patience=100_000)
    return Study(config, registry=None, sandbox_factory=lambda: None, cache_root=cache,
                 planner=SearchPlanner(seed=0))


def step(study, trials: list, t0: float) -> None:
    study._stop_reason(trials, t0)
    ctx = study._context(trials, t0)
    proposal = study.planner.follow_up(ctx)
    if proposal is not None:
        study._describe(len(trials) + 1, proposal, trials, t0)


def measure(sizes: tuple[int, ...], repeats: int, cache: Path) -> dict[int, float]:
    out = {}
    for n in sizes:
        trials = synthetic_trials(n)
        times = []
        for _ in range(repeats):
            study, t0 = _study(cache), time.monotonic()
            step(study, trials[:-1], t0)  # the steady state: the loop stepped at n - 1 before
            start = time.perf_counter()
            step(study, trials, t0)
            times.append(time.perf_counter() - start)
        out[n] = statistics.median(times)
    return out


def _before(ref: str, sizes: tuple[int, ...], repeats: int, cache: Path) -> dict[int, float]:
    """The same measurement on a worktree of ``ref`` (this file is copied in: REF may predate it)."""
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), ref],
                       check=True, capture_output=True)
        try:
            (tree / "bench").mkdir(exist_ok=True)
            script = tree / "bench" / "_ledger_here.py"
            script.write_text(Path(__file__).read_text())
            env = os.environ | {"PYTHONPATH": str(tree)}
            cmd = [sys.executable, str(script), "--no-before", "--json", "--repeats", str(repeats),
                   "--cache", str(cache), "--sizes", *map(str, sizes)]
            done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"the {ref} side failed:\n{done.stderr[-2000:]}")
            return {int(k): v for k, v in json.loads(done.stdout)["after"].items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--before", default=BEFORE, help="git ref to compare with (default: %(default)s)")
    p.add_argument("--no-before", action="store_true", help="measure this tree only")
    p.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache" / "datasets")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    sizes = tuple(a.sizes)
    before = None if a.no_before else _before(a.before, sizes, a.repeats, a.cache)
    after = measure(sizes, a.repeats, a.cache)
    if a.json:
        print(json.dumps({"after": after, "before": before}))
        return 0
    print(f"one loop step's bookkeeping (median of {a.repeats}), ms")
    print(f"{'trials':>8} {'before':>10} {'after':>10} {'speed-up':>9}")
    for n in sizes:
        b = before[n] * 1000 if before else float("nan")
        print(f"{n:>8} {b:>10.2f} {after[n] * 1000:>10.2f} {b / (after[n] * 1000):>8.1f}x")
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        growth = f"after: {after[hi] / after[lo]:.1f}x the time for {hi / lo:.0f}x the trials"
        if before:
            growth += f"; before: {before[hi] / before[lo]:.1f}x"
        print(growth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
