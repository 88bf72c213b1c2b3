"""The dashboard's page time on a large run: a generated registry of one run with N trials.

The registry is a real SQLite file filled through its API (real ``EvalReport`` objects with 3
seeds and 20-epoch curves each, tests/reports.py's shape); the dashboard is served by uvicorn on
127.0.0.1 in this process and read over HTTP with urllib, each page REPEATS times (median, max).
Pages: the runs list, the run's first and last page of trials (100 each, table and chart), a trial
page (source, curves per seed), the CSV export of every trial, and ``/metrics``. Alongside, the
same figures for a run of 20 trials, so the growth with N reads as a ratio in one run.

A benchmark, not a test: it prints figures and exits 0. Usage::

    .venv/bin/python bench/dashboard.py [--trials 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.dashboard import create_app  # noqa: E402
from agent.registry import RunStatus, SQLiteRegistry  # noqa: E402
from tests.dashboard_server import Served, fetch, free_port  # noqa: E402
from tests.reports import make_report  # noqa: E402
from tests.unit.dashboard.test_app import _rung  # noqa: E402

CURVE = [1.0 / (e + 1) for e in range(20)]


def fill(reg, n: int) -> str:
    from agent.results import EvalReport
    from agent.specs import Goal
    from agent.study import StudyConfig

    config = StudyConfig(goal=Goal(text="digits 95%", dataset="digits", target=0.95), seeds=3)
    run = reg.create_run("digits 95%", config.model_dump(mode="json") | {"metric": "accuracy"})
    source = "import torch.nn as nn\n\n\nclass Model(nn.Module):\n    pass\n" * 10
    for i in range(n):
        rung = _rung("promote" if i % 3 == 2 else "explore", [0, 1, 2], width=64 + 8 * (i % 4))
        t = reg.start_trial(run.id, rung["spec"], source, rung=rung)
        report = make_report(seeds=[0, 1, 2], accuracy=0.9 + (i % 50) / 1000)
        doc = report.model_dump(mode="json")
        for seed in doc["seeds"]:
            seed["curves"] = {"train_loss": CURVE, "val_loss": CURVE, "train_acc": CURVE, "val_acc": CURVE}
        reg.finish_trial(t.id, EvalReport.model_validate(doc))
    reg.set_run_status(run.id, RunStatus.INCONCLUSIVE, decision={"reason": "generated"})
    return run.id


def time_pages(n: int, repeats: int) -> dict[str, tuple[float, float, int]]:
    with tempfile.TemporaryDirectory() as tmp, SQLiteRegistry(Path(tmp) / "registry.sqlite") as reg:
        t0 = time.perf_counter()
        run_id = fill(reg, n)
        print(f"  filled {n} trials in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        last = (n + 99) // 100
        run = f"/runs/{run_id}"
        pages = {"runs list": "/", "run, first page": run, "run, last page": f"{run}?page={last}",
                 "trial page": f"/runs/{run_id}/trials/{n}", "trials.csv": f"/runs/{run_id}/trials.csv",
                 "/metrics": "/metrics"}
        port = free_port()
        out = {}
        with Served(create_app(reg, port=port), port) as base:
            for name, path in pages.items():
                times, size = [], 0
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    answer = fetch(base + path)
                    times.append(time.perf_counter() - t0)
                    assert answer.status == 200, (path, answer.status)
                    size = len(answer.body)
                out[name] = (statistics.median(times), max(times), size)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    small, large = time_pages(20, args.repeats), time_pages(args.trials, args.repeats)
    print(f"{'page':<16} {'20 trials: median s':>20} {f'{args.trials} trials: median s':>22} {'max s':>7} "
          f"{'ratio':>6} {'bytes':>9}")
    for name, (median, worst, size) in large.items():
        base = small[name][0]
        print(f"{name:<16} {base:>20.3f} {median:>22.3f} {worst:>7.3f} {median / base:>6.1f} {size:>9,}")


if __name__ == "__main__":
    main()
