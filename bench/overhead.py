"""What the sandbox costs: the same 3-seed eval in a hardened container vs. in-process on the host.

Both sides run the in-image runner (``sandbox_image/runner``) on the same job, the same
prepared digits data, the same torch build (2.13.0+cpu; the host side uses ``.venv-bench``,
made by ``bench/setup_venv.sh``), the same thread count and thread env vars, the same
CPU set. The host side is a plain process::

    .venv-bench/bin/python -m runner --job-dir J --data-dir D --out-dir O --no-linger

timed from before its launch to its exit (interpreter start and ``import torch`` included:
the container pays those too). The sandbox side is one ``DockerSandbox().run(...)`` call,
timed from the call to its return (job write, container create, start, training, copying
/out, exit, removal). Runs are interleaved and the medians are reported.

Prints figures, not a verdict: exit status 0 unless a run fails outright. Usage::

    make bench                                  # sets up .venv-bench, then runs this
    .venv/bin/python bench/overhead.py --epochs 60 --repeats 5 [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.config import EvalConfig  # noqa: E402
from agent.data import prepare  # noqa: E402
from agent.evaluation import _job  # noqa: E402  (the exact JobSpec an eval sends)
from agent.protocol import JobSpec  # noqa: E402
from agent.records import SandboxLimits, TrialStatus  # noqa: E402
from agent.sandbox import SandboxRequest  # noqa: E402
from agent.sandbox import _controls as controls  # noqa: E402

TARGET_RATIO = 1.5
DEFAULT_EPOCHS = 150  # ~20 s for 3 seeds of the example MLP on digits with 2 threads (2-core box)
DEFAULT_REPEATS = 3
DEFAULT_CPUS = 2.0
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
MODEL = ROOT / "agent" / "examples" / "mlp.py"
RUNNER_PATH = ROOT / "sandbox_image"
# Mirrors the image's ENV (sandbox_image/Dockerfile) so both interpreters behave alike.
IMAGE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class BenchFailure(Exception):
    pass


# ---------------------------------------------------------------------------- the two sides


def run_host(job: JobSpec, source: str, data_dir: Path, limits: SandboxLimits) -> dict:
    """The runner as a plain host process: no container, same env, threads and CPU set."""
    work = Path(tempfile.mkdtemp(prefix="bench-host-"))
    try:
        job_dir, out_dir = work / "job", work / "out"
        job_dir.mkdir()
        out_dir.mkdir()
        (job_dir / "job.json").write_text(job.model_dump_json())
        (job_dir / job.model_file).write_text(source)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
               "PYTHONPATH": str(RUNNER_PATH), **IMAGE_ENV, **controls.environment(limits)}
        cpus = _cpu_list(controls.cpuset(limits, os.cpu_count() or 1))
        cmd = [str(BENCH_PYTHON), "-m", "runner", "--job-dir", str(job_dir),
               "--data-dir", str(data_dir), "--out-dir", str(out_dir), "--no-linger"]
        start_wall = time.time()
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True,
                              preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        wall = time.monotonic() - t0
        end_wall = time.time()
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace")[-2000:]
            raise BenchFailure(f"host runner exited {proc.returncode}:\n{tail}")
        report = json.loads((out_dir / "report.json").read_text())
        probs = np.load(out_dir / "seed_0" / "test_probs.npy", allow_pickle=False)
        return _figures(wall, start_wall, start_wall, end_wall, report) | {"_probs": probs}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_sandbox(sandbox, job: JobSpec, source: str, data_dir: Path, limits: SandboxLimits) -> dict:
    """One ``DockerSandbox.run`` call, timed whole (create .. removal)."""
    request = SandboxRequest(job=job, model_source=source, data_dir=data_dir, limits=limits,
                             trial_id="bench")
    call_wall = time.time()
    t0 = time.monotonic()
    outcome = sandbox.run(request)
    wall = time.monotonic() - t0
    end_wall = time.time()
    if outcome.status is not TrialStatus.OK:
        raise BenchFailure(f"sandbox run ended {outcome.status.value}: {outcome.message}\n"
                           f"{outcome.stderr_tail[-2000:]}")
    report = json.loads(outcome.files["report.json"])
    probs = np.load(io.BytesIO(outcome.files["seed_0/test_probs.npy"]), allow_pickle=False)
    return _figures(wall, call_wall, outcome.start_s, end_wall, report) | {"_probs": probs}


def _figures(wall: float, call_at: float, start_at: float, end_at: float, report: dict) -> dict:
    """Phases on one wall clock (container and host share the kernel's clock).

    call_at: before anything (job write / process launch); start_at: container.start() for
    the sandbox, process launch for the host; report times come from the runner.
    """
    first, began, done = report["first_step_at"], report["started_at"], report["finished_at"]
    return {
        "wall_s": wall,
        "first_step_s": first - start_at,  # start (container or process) -> first optimizer step
        "prestart_s": start_at - call_at,  # job write + container create (0 on the host)
        "to_python_s": began - start_at,  # start -> the runner's module is executing
        "to_first_step_s": first - began,  # import torch, load data, model summary, step 1
        "train_s": done - first,  # first step -> report written (all seeds)
        "teardown_s": end_at - done,  # report written -> call returned (collect, exit, remove)
    }


def _cpu_list(spec: str) -> set[int]:
    cpus: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


# ---------------------------------------------------------------------------- driver


def measure(args) -> dict:
    from agent.sandbox import DockerSandbox  # imports docker; only here

    if not BENCH_PYTHON.exists():
        raise BenchFailure(f"{BENCH_PYTHON.relative_to(ROOT)} is missing; run bench/setup_venv.sh")
    limits = SandboxLimits(cpus=args.cpus)
    config = EvalConfig(dataset="digits", seeds=args.seeds, epochs=args.epochs, limits=limits)
    source = args.model.read_text()
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        data = prepare(config.dataset, cache, config.subset_size)
        job = _job(config, data)
        sandbox = DockerSandbox()
        host_torch = subprocess.run(
            [str(BENCH_PYTHON), "-c", "import torch; print(torch.__version__)"],
            capture_output=True, text=True, check=True).stdout.strip()
        log(f"[bench] {config.dataset} ({data.n_train} train), {len(job.seeds)} seeds x "
            f"{job.epochs} epochs, batch {job.batch_size}, {job.threads} threads, "
            f"cpuset {controls.cpuset(limits, sandbox.host_cpus)}, {args.repeats} repeats")
        host_runs, box_runs = [], []
        for i in range(args.repeats):
            order = ("host", "sandbox") if i % 2 == 0 else ("sandbox", "host")
            for side in order:
                if side == "host":
                    host_runs.append(run_host(job, source, data.public_dir, limits))
                    r = host_runs[-1]
                else:
                    box_runs.append(run_sandbox(sandbox, job, source, data.public_dir, limits))
                    r = box_runs[-1]
                log(f"[bench] run {i + 1}/{args.repeats} {side:7s}: wall {r['wall_s']:6.2f} s, "
                    f"first step {r['first_step_s']:5.2f} s, training {r['train_s']:6.2f} s")
        max_diff = float(max(np.abs(h["_probs"] - b["_probs"]).max()
                             for h, b in zip(host_runs, box_runs)))
        return summarize(host_runs, box_runs, job, config, sandbox, host_torch, max_diff)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def summarize(host_runs, box_runs, job, config, sandbox, host_torch, max_diff) -> dict:
    def med(runs, key):
        return round(statistics.median(r[key] for r in runs), 3)

    keys = [k for k in host_runs[0] if not k.startswith("_")]
    host = {k: med(host_runs, k) for k in keys}
    box = {k: med(box_runs, k) for k in keys}
    ratio = round(box["wall_s"] / host["wall_s"], 3)
    return {
        "workload": {"dataset": config.dataset, "model": "agent/examples/mlp.py",
                     "seeds": len(job.seeds), "epochs": job.epochs, "batch_size": job.batch_size,
                     "threads": job.threads, "cpus": config.limits.cpus,
                     "cpuset": controls.cpuset(config.limits, sandbox.host_cpus),
                     "repeats": len(host_runs)},
        "machine": {"host_cpus": os.cpu_count(), "platform": platform.platform(),
                    "docker": sandbox.client.version().get("Version"),
                    "runtime": config.limits.runtime or sandbox.client.info().get("DefaultRuntime"),
                    "cgroup_version": sandbox.client.info().get("CgroupVersion"),
                    "host_torch": host_torch, "image": sandbox.image.tag},
        "host": host,
        "sandbox": box,
        "overhead_s": {k: round(box[k] - host[k], 3) for k in keys},
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "ratio_ok": ratio < TARGET_RATIO,
        "container_start_to_first_step_s": box["first_step_s"],
        "host_start_to_first_step_s": host["first_step_s"],
        "train_ratio": round(box["train_s"] / host["train_s"], 3),
        "max_abs_prob_diff_seed0": max_diff,
        "runs": {"host_wall_s": [round(r["wall_s"], 3) for r in host_runs],
                 "sandbox_wall_s": [round(r["wall_s"], 3) for r in box_runs]},
    }


ROWS = [
    ("wall_s", "wall time (whole run)"),
    ("first_step_s", "start -> first training step"),
    ("prestart_s", "  job write + container create"),
    ("to_python_s", "  start -> runner code running"),
    ("to_first_step_s", "  runner -> first step (torch, data, model)"),
    ("train_s", "training (first step -> report)"),
    ("teardown_s", "report -> done (collect, exit, remove)"),
]


def print_table(r: dict) -> None:
    w = r["workload"]
    print(f"Sandbox overhead: {w['dataset']}, {w['model']}, {w['seeds']} seeds x {w['epochs']} "
          f"epochs, {w['threads']} threads, cpus={w['cpus']} cpuset={w['cpuset']}, "
          f"median of {w['repeats']}")
    print(f"{'':46s}{'host':>9s}{'sandbox':>10s}{'overhead':>10s}")
    for key, label in ROWS:
        h, b = r["host"][key], r["sandbox"][key]
        print(f"{label:46s}{h:9.2f}{b:10.2f}{b - h:+10.2f}")
    verdict = "ratio OK" if r["ratio_ok"] else "ratio ABOVE TARGET"
    print(f"container start -> first training step: {r['container_start_to_first_step_s']:.2f} s "
          f"(host process: {r['host_start_to_first_step_s']:.2f} s)")
    print(f"training-only ratio (sandbox/host): {r['train_ratio']:.2f}")
    print(f"wall ratio (sandbox/host): {r['ratio']:.2f}  (target < {r['target_ratio']}): {verdict}")
    print(f"identical training check: max |p_host - p_sandbox| (seed 0) = "
          f"{r['max_abs_prob_diff_seed0']:.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"epochs per seed (default {DEFAULT_EPOCHS}: ~20 s per eval)")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                        help="interleaved runs per side; medians are reported")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpus", type=float, default=DEFAULT_CPUS,
                        help="the sandbox CPU limit; threads = ceil(cpus) on both sides")
    parser.add_argument("--model", type=Path, default=MODEL, help="model file to train")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.epochs < 1 or args.seeds < 1:
        parser.error("--epochs, --repeats and --seeds must be at least 1")
    try:
        result = measure(args)
    except BenchFailure as exc:
        log(f"bench: {exc}")
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
