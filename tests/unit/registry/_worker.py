"""A registry writer in its own process, for the concurrency and crash tests.

    python _worker.py BACKEND HOME RUN_ID --trials N --seeds S [--resume] [--pause ACTION:K] [--sleep-in-tx S]

Writes N trials (start -> finish with S seeds) to RUN_ID, printing one line per step so the
test can follow (and SIGKILL) it: ``started K``, ``finished K``, ``paused ACTION K``, ``done``.
``--pause finish_trial:3`` stops forever inside the 3rd finish_trial transaction just before
COMMIT (``between:3`` after the 3rd finished trial, ``running:3`` after the 3rd trial started);
``--resume`` first re-runs what ``recover`` returns. Stdout is flushed per line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from agent.registry import SQLiteRegistry
from tests.reports import make_report

HANG_S = 600  # "forever": the test kills the process long before


def say(line: str) -> None:
    print(line, flush=True)


class HookedSQLite(SQLiteRegistry):
    """SQLiteRegistry that can sleep or hang inside a write transaction, right before COMMIT."""

    pause: tuple[str, int] | None = None
    sleep_in_tx = 0.0

    def __init__(self, path):
        self.counts: dict[str, int] = {}
        super().__init__(path)

    def _before_commit(self, action: str) -> None:
        self.counts[action] = self.counts.get(action, 0) + 1
        if self.sleep_in_tx:
            time.sleep(self.sleep_in_tx)
        if self.pause == (action, self.counts[action]):
            say(f"paused {action} {self.counts[action]}")
            time.sleep(HANG_S)


BACKENDS = {"sqlite": lambda home: HookedSQLite(Path(home) / "registry.sqlite")}


def report(seeds: int, number: int):
    acc = 0.5 + number / 1000
    return make_report(seeds=range(seeds), accuracy=acc, message="scored", flags=[])


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("backend")
    p.add_argument("home")
    p.add_argument("run_id")
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--pause", default="")
    p.add_argument("--sleep-in-tx", type=float, default=0.0)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    action, _, k = args.pause.partition(":")
    HookedSQLite.pause = (action, int(k)) if args.pause else None
    HookedSQLite.sleep_in_tx = args.sleep_in_tx
    report(args.seeds, 0)  # the first report loads the metric names (scoring): before any write, not inside one
    with BACKENDS[args.backend](args.home) as reg:
        if args.resume:
            for trial in reg.recover(args.run_id):
                trial = reg.restart_trial(trial.id)
                say(f"restarted {trial.number}")
                reg.finish_trial(trial.id, report(args.seeds, trial.number))
                say(f"refinished {trial.number}")
        for i in range(1, args.trials + 1):
            trial = reg.start_trial(args.run_id, {"model": {"family": "mlp"}, "origin": "search"}, f"# model {i}\n")
            say(f"started {trial.number}")
            if HookedSQLite.pause == ("running", i):
                say(f"paused running {i}")
                time.sleep(HANG_S)
            reg.finish_trial(trial.id, report(args.seeds, trial.number))
            say(f"finished {trial.number}")
            if HookedSQLite.pause == ("between", i):
                say(f"paused between {i}")
                time.sleep(HANG_S)
    say("done")


if __name__ == "__main__":
    main(sys.argv[1:])
