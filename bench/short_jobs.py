"""Fast for short jobs: `--help`, a one-epoch eval and the default `run`, timed as whole processes.

Three figures, each from runs that alternate between its arms (medians):

1. ``research-agent --help`` (the console script in ``.venv``) and ``python -m agent --help``,
   launch to exit. Target: under 0.3 s.
2. A short eval, the MLP 3,072-64-10 on 512 synthetic 3x32x32 training images, 3 seeds x 1 epoch,
   batch 32: ``research-agent --home H eval MODEL ... --json`` against the same runner as a plain
   process on the same job (``bench/overhead.py``'s host side: ``.venv-bench/bin/python -m runner
   --job-dir J --data-dir D --out-dir O --no-linger``, the runner copied out of the image). The
   plain side's job is built by ``agent.trial._run._job``/``_request`` from the ``EvalConfig`` the
   CLI builds, on the data the eval reads (prepared into H's cache once, before any timing).
   Target: the eval within 1.15x of the plain process. The eval's own ``--json`` report splits its
   wall: the sandbox's wall (``sandbox.wall_s``: the container is started early, so from the job's
   hand-over to the container's exit) and the rest, "host only" (interpreter, imports, preflight,
   data cache, container create and start where the job building did not hide them, collection,
   removal, scoring, the report, interpreter exit); and its ``timing``: job hand-over -> first step.
3. ``research-agent run`` of the default goal (the Makefile's GOAL, offline search planner) in a
   fresh home each repeat: the run's wall (its JSON result and the whole process), its status
   (only ``achieved`` runs count), its trials, and each trial's container start -> first training
   step (from the run's export, ``run.json``; for a prepared container, from the moment it was
   handed its job). Target: under 20 s. Two arms: ``--prepare-next`` (the default: the next
   trial's container is started while one runs) and ``--no-prepare-next``.

A benchmark, not a test: it exits 0 unless a run fails outright. Usage::

    bench/setup_venv.sh             # once: .venv-bench for the plain process
    .venv/bin/python bench/short_jobs.py [--repeats N] [--run-repeats N] [--skip-run] [--json]
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import BenchFailure, loadavg, log, wait_quiet  # noqa: E402
from overhead import BENCH_PYTHON, extract_runner, run_host  # noqa: E402

from agent.assembler import dataset_args, preflight  # noqa: E402
from agent.cli._eval import config_from_options, eval_defaults  # noqa: E402  # the CLI's own config
from agent.cli._run import DEFAULT_GOAL  # noqa: E402  # the Makefile's GOAL too
from agent.data import prepare  # noqa: E402
from agent.errors import AgentError  # noqa: E402
from agent.trial import _run as trial_run  # noqa: E402  # _job/_request: exactly what `agent eval` sends

AGENT = ROOT / ".venv" / "bin" / "research-agent"
AGENT_PYTHON = ROOT / ".venv" / "bin" / "python"
HELP_TARGET_S = 0.3
EVAL_TARGET_RATIO = 1.15
RUN_TARGET_S = 20.0
# 683 samples: the catalog's fixed split keeps 512 for training (461 after the 10% validation).
EVAL_OPTIONS = {"dataset": "synthetic:samples=683,features=3072,classes=10,image=3x32x32",
                "seeds": "3", "epochs": 1, "batch_size": 32}
MODEL_SOURCE = '''"""MLP 3,072-64-10 for 3x32x32 images."""

import torch.nn as nn


class Model(nn.Module):
    def __init__(self, input_shape=(3, 32, 32), n_classes: int = 10):
        super().__init__()
        c, h, w = input_shape
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 64), nn.ReLU(), nn.Linear(64, n_classes))

    def forward(self, x):
        return self.net(x)
'''


@dataclass(frozen=True)
class RunArm:
    """One way of running ``research-agent run``: extra environment and arguments on top of the plain command."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()


RUN_ARMS = [RunArm("prepared", args=("--prepare-next",)), RunArm("not prepared", args=("--no-prepare-next",))]


# ---------------------------------------------------------------------------- helpers


def alternate(section: str, arms: list[tuple[str, Callable[[], dict]]], repeats: int, args) -> dict:
    """Run every arm ``repeats`` times, rotating which goes first, each after a wait for a quiet machine."""
    runs: dict[str, list[dict]] = {name: [] for name, _ in arms}
    for i in range(repeats):
        k = i % len(arms)
        for name, fn in arms[k:] + arms[:k]:
            busy = wait_quiet(args.quiet_below, args.settle_s)
            r = fn() | {"busy_before": round(busy, 2)}
            runs[name].append(r)
            log(f"[bench] {section} {i + 1}/{repeats} {name}: wall {r['wall_s']:.2f} s (busy before {busy:.0%})")
    return runs


def timed(cmd: list[str], what: str, env: dict | None = None, ok: tuple[int, ...] = (0,)):
    """``(wall s, completed process)``, launch to exit; a failed process ends the bench, named."""
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    if proc.returncode not in ok:
        tail = (proc.stderr.strip().splitlines() or ["no stderr"])[-1]
        raise BenchFailure(f"{what} exited {proc.returncode}: {tail}")
    return wall, proc


def median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


# ---------------------------------------------------------------------------- 1. --help


def help_section(args) -> dict:
    commands = {"research-agent --help": [str(AGENT), "--help"],
                "python -m agent --help": [str(AGENT_PYTHON), "-m", "agent", "--help"]}
    arms = [(name, lambda cmd=cmd, name=name: {"wall_s": timed(cmd, name)[0]}) for name, cmd in commands.items()]
    runs = alternate("help", arms, args.repeats, args)
    out = {name: {"median_s": median(r, "wall_s"), "runs_s": [round(x["wall_s"], 3) for x in r]}
           for name, r in runs.items()}
    headline = out["research-agent --help"]["median_s"]
    return {"arms": out, "target_s": HELP_TARGET_S, "ok": headline < HELP_TARGET_S}


# ---------------------------------------------------------------------------- 2. short eval


def eval_setup(work: Path):
    """The model file, the CLI's config, the data prepared into the eval's cache, the bound entry, the runner."""
    from agent.sandbox import DockerSandbox  # imports docker; only here

    if not BENCH_PYTHON.exists():
        raise BenchFailure(f"{BENCH_PYTHON.relative_to(ROOT)} is missing; run bench/setup_venv.sh")
    home, model = work / "home", work / "mlp3072.py"
    model.write_text(MODEL_SOURCE)
    config = config_from_options(eval_defaults() | EVAL_OPTIONS | {"model_file": (model, None)})
    # Prepared once into the cache the eval reads: neither side pays for preparation while timed.
    data = prepare(config.dataset, home / "cache" / "datasets", subset_size=config.subset_size,
                   test_size=config.test_size, target=config.target_column, drop_columns=config.drop_columns)
    check = preflight(MODEL_SOURCE, model.name, config.entry, config.model_args,
                      dataset_args(data.n_classes, data.input_shape))
    if not check.ok:
        raise BenchFailure(f"the bench model fails preflight: {check.message}")
    return home, model, config, data, check, extract_runner(DockerSandbox(), work / "runner")


def eval_section(args, work: Path) -> dict:
    home, model, config, data, check, runner_root = eval_setup(work)
    batch, labels = trial_run.seed_batches(config.seeds)[0], data.test_labels()
    flags = [a for k, v in EVAL_OPTIONS.items() for a in (f"--{k.replace('_', '-')}", str(v))]
    eval_cmd = [str(AGENT), "--home", str(home), "eval", str(model), *flags, "--json"]
    log(f"[bench] eval: {config.dataset} ({data.n_train} train, {data.n_val} val), {len(batch)} seeds x "
        f"{config.epochs} epoch, batch {config.batch_size}, cpus {config.limits.cpus:g}")
    last_threads: list[int] = []

    def plain() -> dict:
        job = trial_run._job(config, data, batch, check.entry.name, check.model_args)
        # The eval picks its thread count from the CPUs idle when it builds the job; the plain
        # process gets the count the last eval got, so both sides train the same job.
        job = job.model_copy(update={"threads": last_threads[-1]})
        r = run_host(trial_run._request(config, data, MODEL_SOURCE, job), runner_root)
        return {"wall_s": r["wall_s"], "first_step_s": r["first_step_s"], "threads": job.threads,
                "seed0_accuracy": round(float((r["_probs"].argmax(1) == labels).mean()), 4)}

    def cli() -> dict:
        wall, proc = timed(eval_cmd, "the eval")
        report = json.loads(proc.stdout)
        if report["config"] != config.model_dump(mode="json"):
            log("[bench] note: the eval's config differs from the plain side's; the jobs may differ")
        summary = report.get("model_summary") or {}
        last_threads.append(summary["threads_per_worker"] * summary.get("seed_workers", 1))
        sandbox_wall = report["sandbox"]["wall_s"]
        return {"wall_s": wall, "sandbox_wall_s": sandbox_wall, "host_only_s": wall - sandbox_wall,
                "first_step_s": (report.get("timing") or {}).get("container_start_to_first_step_s"),
                "threads": last_threads[-1], "seed0_accuracy": report["seeds"][0]["metrics"].get("accuracy")}

    cli()  # untimed warm-up: the page cache, and a thread count for the plain side's first run
    runs = alternate("eval", [("plain", plain), ("eval", cli)], args.repeats, args)
    keys = ("wall_s", "first_step_s", "sandbox_wall_s", "host_only_s")
    sides = {side: {k: median(r, k) for k in keys if any(k in x for x in r)} for side, r in runs.items()}
    ratio = round(sides["eval"]["wall_s"] / sides["plain"]["wall_s"], 3)
    return {"workload": {"dataset": config.dataset, "n_train": data.n_train, "n_val": data.n_val,
                         "seeds": len(batch), "epochs": config.epochs, "batch_size": config.batch_size,
                         "cpus": config.limits.cpus},
            **sides, "ratio": ratio, "target_ratio": EVAL_TARGET_RATIO, "ok": ratio < EVAL_TARGET_RATIO,
            "runs": {side: [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in x.items()} for x in r]
                     for side, r in runs.items()}}


# ---------------------------------------------------------------------------- 3. research-agent run


def run_once(arm: RunArm, work: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))  # fresh: no registry, no dataset cache
    # --planner search: what `auto` picks offline, named so an endpoint in the env cannot change it.
    cmd = [str(AGENT), "run", "--goal", DEFAULT_GOAL, "--planner", "search", "--home", str(home), "--json",
           *arm.args]
    wall, proc = timed(cmd, f"research-agent run ({arm.name})", env=os.environ | arm.env, ok=(0, 3))
    doc = json.loads(proc.stdout)
    export = json.loads(Path(doc["report"]["export"]).read_text())
    trials = [_trial_figures(t) for t in export["trials"]]
    shutil.rmtree(home, ignore_errors=True)
    return {"wall_s": doc["wall_s"], "process_wall_s": round(wall, 3), "status": doc["status"],
            "trials": doc["trials"], "container_s": doc["container_s"], "trial_list": trials}


def _trial_figures(trial: dict) -> dict:
    """One trial of the run's export: what it ran and how long its container took to get going."""
    details = trial.get("details") or {}
    summary = details.get("model_summary") or {}
    threads = summary.get("threads_per_worker")
    return {"number": trial["number"], "status": trial["status"], "seeds": len(trial["seeds"]),
            "container_s": trial["container_s"],
            "threads": None if threads is None else threads * (summary.get("seed_workers") or 1),
            "first_step_s": (details.get("timing") or {}).get("container_start_to_first_step_s")}


def run_section(args, work: Path) -> dict:
    arms = [(arm.name, lambda arm=arm: run_once(arm, work)) for arm in RUN_ARMS]
    runs = alternate("run", arms, args.run_repeats, args)
    out = {}
    for name, r in runs.items():
        valid = [x for x in r if x["status"] == "achieved"]  # a run that did not decide says nothing of speed
        wall = median(valid, "wall_s")
        out[name] = {"valid": len(valid), "wall_s": wall, "process_wall_s": median(valid, "process_wall_s"),
                     "ok": wall is not None and wall < RUN_TARGET_S, "runs": r}
    return {"goal": DEFAULT_GOAL, "target_s": RUN_TARGET_S, "arms": out}


# ---------------------------------------------------------------------------- driver


def measure(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-short-"))
    try:
        result = {"date": time.strftime("%Y-%m-%d %H:%M"), "loadavg_start": loadavg(),
                  "machine": {"host_cpus": os.cpu_count(), "platform": platform.platform()}}
        log("[bench] 1/3 --help")
        result["help"] = help_section(args)
        log("[bench] 2/3 short eval")
        result["eval"] = eval_section(args, work)
        if not args.skip_run:
            log("[bench] 3/3 research-agent run")
            result["run"] = run_section(args, work)
        result["loadavg_end"] = loadavg()
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _s(v, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _verdict(ok: bool) -> str:
    return "OK" if ok else "ABOVE TARGET"


def print_help(h: dict, repeats: int) -> None:
    print(f"1. --help, launch to exit, median of {repeats}")
    for name, a in h["arms"].items():
        runs = ", ".join(f"{x:.3f}" for x in a["runs_s"])
        print(f"   {name:26s}{a['median_s']:7.3f} s   (runs: {runs})")
    print(f"   research-agent --help {h['arms']['research-agent --help']['median_s']:.3f} s "
          f"(target < {h['target_s']} s): {_verdict(h['ok'])}")


EVAL_ROWS = [
    ("wall_s", "wall, whole process"),
    ("first_step_s", "start -> first training step (*)"),
    ("sandbox_wall_s", "  sandbox wall (report: job .. exited)"),
    ("host_only_s", "  host only (wall - sandbox wall)"),
]


def print_eval(e: dict, repeats: int) -> None:
    w = e["workload"]
    print(f"2. short eval: MLP 3,072-64-10, {w['n_train']} train + {w['n_val']} val images 3x32x32, "
          f"{w['seeds']} seeds x {w['epochs']} epoch, batch {w['batch_size']}, cpus {w['cpus']:g}; median of {repeats}")
    print(f"   {'seconds':44s}{'plain':>8s}{'eval':>8s}{'eval-plain':>12s}")
    for key, label in EVAL_ROWS:
        p, v = e["plain"].get(key), e["eval"].get(key)
        diff = "" if p is None or v is None else f"{v - p:+12.2f}"
        print(f"   {label:44s}{_s(p):>8s}{_s(v):>8s}{diff}")
    print("   (*) plain: process launch -> first step; eval: job handed to its early-started container -> first step")
    for side in ("plain", "eval"):
        runs = e["runs"][side]
        print(f"   {side} runs: wall {', '.join(_s(x['wall_s']) for x in runs)} s; threads "
              f"{', '.join(str(x['threads']) for x in runs)}; seed-0 accuracy "
              f"{', '.join(_s(x['seed0_accuracy'], 4) for x in runs)}")
    print(f"   wall ratio eval/plain: {e['ratio']:.2f} (target < {e['target_ratio']}): {_verdict(e['ok'])}")


def print_run(r: dict, repeats: int) -> None:
    print(f"3. research-agent run --goal {r['goal']!r} (search planner, fresh home), {repeats} repeat(s)")
    for name, a in r["arms"].items():
        print(f"   arm {name!r}: {a['valid']} achieved of {len(a['runs'])}; median run wall {_s(a['wall_s'])} s "
              f"(whole process {_s(a['process_wall_s'])} s)")
        for i, x in enumerate(a["runs"], 1):
            print(f"     {i}: {x['status']}, wall {_s(x['wall_s'], 1)} s (process {_s(x['process_wall_s'], 1)} s), "
                  f"{x['trials']} trials, {_s(x['container_s'], 1)} container-s")
            for t in x["trial_list"]:
                print(f"        trial {t['number']}: {t['status']}, {t['seeds']} seed(s), {t['threads']} thread(s), "
                      f"{_s(t['container_s'])} s in its container(s), container start -> first step "
                      f"{_s(t['first_step_s'])} s")
        print(f"   arm {name!r} run wall {_s(a['wall_s'])} s (target < {r['target_s']:g} s): "
              f"{_verdict(a['ok']) if a['valid'] else 'no achieved run'}")


def print_table(r: dict, args) -> None:
    m = r["machine"]
    print(f"Short jobs, {r['date']}: {m['host_cpus']} CPUs, {m['platform']}; load average "
          f"{r['loadavg_start']} at start, {r['loadavg_end']} at end")
    print()
    print_help(r["help"], args.repeats)
    print()
    print_eval(r["eval"], args.repeats)
    if "run" in r:
        print()
        print_run(r["run"], args.run_repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per arm of the --help and eval figures")
    parser.add_argument("--run-repeats", type=int, default=2, help="`research-agent run`s per arm")
    parser.add_argument("--skip-run", action="store_true", help="skip figure 3 (a minute or two)")
    parser.add_argument("--quiet-below", type=float, default=0.25,
                        help="start each run once the machine is less busy than this (0..1)")
    parser.add_argument("--settle-s", type=float, default=20.0,
                        help="how long to wait for that before starting anyway")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.run_repeats < 1:
        parser.error("--repeats and --run-repeats must be at least 1")
    try:
        result = measure(args)
    except (BenchFailure, AgentError) as exc:  # e.g. no Docker engine, a crashed eval
        log(f"bench: {exc}")
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
