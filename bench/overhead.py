"""What the sandbox costs: the same 3-seed eval in a hardened container vs. in-process on the host.

Both sides run the same runner on the same job (the ``SandboxRequest`` that ``agent eval``
builds), the same prepared digits data, the same torch build (2.13.0+cpu; the host side
uses ``.venv-bench``, made by ``bench/setup_venv.sh``), the same thread count, thread env
vars and CPU set. The host side runs the runner code copied out of the sandbox image (so a
stale image cannot make the two sides differ) as a plain process::

    .venv-bench/bin/python -m runner --job-dir J --data-dir D --out-dir O --no-linger

timed from before its launch to its exit (interpreter start and ``import torch`` included:
the container pays those too). The sandbox side is one ``DockerSandbox().run(...)`` call,
timed from the call to its return (job write, container create, start, training, copying
/out, exit, removal). Runs alternate between the sides; medians are reported.

The machine may be shared, and on 2 cores any other work changes the figures a lot, so each
run waits (briefly) for a quiet machine and is metered: CPU seconds of the runner's own
processes, of the Docker daemons (the sandbox's supervision), and of everything else (shown
as "other work", in cores). Runs with little other work give a second, cleaner ratio.

A benchmark, not a test: it exits 0 unless a run fails outright. Usage::

    make bench                      # sets up .venv-bench, then runs this
    .venv/bin/python bench/overhead.py [--epochs N] [--repeats N] [--cpus N] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import BenchFailure, log, wait_quiet  # noqa: E402

from agent.config import EvalConfig  # noqa: E402
from agent.data import prepare  # noqa: E402
from agent.errors import AgentError  # noqa: E402
from agent.records import SandboxLimits, TrialStatus  # noqa: E402
from agent.sandbox import SandboxRequest  # noqa: E402
from agent.sandbox import _controls as controls  # noqa: E402
from agent.trial import _run as trial_run  # noqa: E402  # _job/_request: exactly what `agent eval` sends

TARGET_RATIO = 1.5
DEFAULT_EPOCHS = 400  # ~20 s per 3-seed eval of the example MLP on digits (2 cores, quiet machine)
DEFAULT_REPEATS = 3
DEFAULT_CPUS = 2.0
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
MODEL = ROOT / "agent" / "examples" / "mlp.py"
IMAGE_RUNNER = "/opt/runner/runner"  # where sandbox_image/Dockerfile puts the runner package
# The image's ENV (sandbox_image/Dockerfile), so both interpreters behave alike.
IMAGE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


# ---------------------------------------------------------------------------- the two sides


def run_host(request: SandboxRequest, runner_root: Path) -> dict:
    """The runner as a plain host process: no container, same env, threads and CPU set."""
    job, limits = request.job, request.limits
    work = Path(tempfile.mkdtemp(prefix="bench-host-"))
    try:
        job_dir, out_dir = work / "job", work / "out"
        job_dir.mkdir()
        out_dir.mkdir()
        (job_dir / "job.json").write_text(job.model_dump_json())
        (job_dir / job.model_file).write_text(request.model_source)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
               "PYTHONPATH": str(runner_root), **IMAGE_ENV, **controls.environment(limits)}
        cpus = _cpu_list(controls.cpuset(limits, os.cpu_count() or 1))
        cmd = [str(BENCH_PYTHON), "-m", "runner", "--job-dir", str(job_dir),
               "--data-dir", str(request.data_dir), "--out-dir", str(out_dir), "--no-linger"]
        meter, child0 = CpuMeter(), _children_cpu_s()
        start_wall = time.time()
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True,
                              preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        wall = time.monotonic() - t0
        end_wall = time.time()
        cpu = meter.split(wall, _children_cpu_s() - child0) | {"throttled_s": 0.0}
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace")[-2000:]
            raise BenchFailure(f"host runner exited {proc.returncode}:\n{tail}")
        report = json.loads((out_dir / "report.json").read_text())
        probs = np.load(out_dir / "seed_0" / "test_probs.npy", allow_pickle=False)
        return _figures(wall, start_wall, start_wall, end_wall, report) | _cpu(cpu) | {"_probs": probs}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_sandbox(sandbox, request: SandboxRequest) -> dict:
    """One ``DockerSandbox.run`` call, timed whole (job write, create .. removal)."""
    sandbox.last_cpu_s = sandbox.last_throttled_s = None
    meter = CpuMeter()
    call_wall = time.time()
    t0 = time.monotonic()
    outcome = sandbox.run(request)
    wall = time.monotonic() - t0
    end_wall = time.time()
    cpu = meter.split(wall, sandbox.last_cpu_s) | {"throttled_s": sandbox.last_throttled_s}
    if outcome.status is not TrialStatus.OK:
        raise BenchFailure(f"sandbox run ended {outcome.status.value}: {outcome.message}\n"
                           f"{outcome.stderr_tail[-2000:]}")
    report = json.loads(outcome.files["report.json"])
    probs = np.load(io.BytesIO(outcome.files["seed_0/test_probs.npy"]), allow_pickle=False)
    return _figures(wall, call_wall, outcome.start_s, end_wall, report) | _cpu(cpu) | {"_probs": probs}


def _cpu(split: dict) -> dict:
    """Per-run CPU figures (underscore keys: ``summarize`` picks them, the log shows them)."""
    return {f"_{k}": v for k, v in split.items()}


def _figures(wall: float, call_at: float, start_at: float, end_at: float, report: dict) -> dict:
    """Phases on one wall clock (the container and the host share the kernel's clock).

    call_at: before anything (job write / process launch); start_at: just before
    container.start() for the sandbox, the process launch for the host; the other instants
    come from the runner's report.
    """
    first, began, done = report["first_step_at"], report["started_at"], report["finished_at"]
    return {
        "wall_s": wall,
        "first_step_s": first - start_at,  # start (container or process) -> first optimizer step
        "prestart_s": start_at - call_at,  # job write + container create (0 on the host)
        "to_python_s": began - start_at,  # start -> the runner's module is executing
        "to_first_step_s": first - began,  # import torch, load data, check model, step 1
        "train_s": done - first,  # first step -> report written (all seeds)
        "teardown_s": end_at - done,  # report written -> call returned (collect, exit, remove)
        # The runner's per-epoch timer, median over every seed's epochs: training speed with
        # bursts of background load (other jobs on the machine) mostly filtered out.
        "epoch_median_s": statistics.median(
            t for s in report["seeds"] for t in s["curves"]["epoch_s"]),
        "_workers": report.get("seed_workers", 1),
        "_threads_per_worker": report.get("threads_per_worker"),
    }


def extract_runner(sandbox, dest: Path) -> Path:
    """Copy the runner package out of the sandbox image (never started); return its parent."""
    container = sandbox.client.containers.create(sandbox.image.id, network_disabled=True)
    try:
        stream, _stat = container.get_archive(IMAGE_RUNNER)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            tar.extractall(dest, filter="data")
    finally:
        container.remove(force=True)
    return dest


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


class CpuMeter:
    """CPU seconds spent on the whole machine during one run, split into who spent them.

    busy: every CPU's non-idle time (/proc/stat); workload: the runner's own processes;
    infra: the Docker daemons and this process (the sandbox's supervision). What is left is
    other work on the machine: the contention that makes a run slower for reasons that are
    neither the workload's nor the sandbox's.
    """

    INFRA = ("dockerd", "containerd")

    def __init__(self) -> None:
        self.busy0, self.infra0 = _busy_cpu_s(), _infra_cpu_s(self.INFRA)

    def split(self, wall_s: float, workload_cpu_s: float | None) -> dict:
        busy = _busy_cpu_s() - self.busy0
        infra = _infra_cpu_s(self.INFRA) - self.infra0
        other = None if workload_cpu_s is None else max(0.0, busy - workload_cpu_s - infra)
        return {"workload_cpu_s": workload_cpu_s, "infra_cpu_s": infra,
                "background_cores": None if other is None else other / wall_s}


def _busy_cpu_s() -> float:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle + iowait


def _infra_cpu_s(names: tuple[str, ...]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() not in names:
                    continue
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return total + usage.ru_utime + usage.ru_stime


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def container_cpu_s(container_id: str) -> float | None:
    """The container's CPU seconds so far from its cgroup (v1 or v2, cgroupfs or systemd)."""
    for path, scale in (
        (f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage", 1e-9),
        (f"/sys/fs/cgroup/cpuacct/system.slice/docker-{container_id}.scope/cpuacct.usage", 1e-9),
        (f"/sys/fs/cgroup/docker/{container_id}/cpu.stat", 1e-6),
        (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat", 1e-6),
    ):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if path.endswith("cpu.stat"):
            text = dict(line.split() for line in text.splitlines()).get("usage_usec", "")
        try:
            return int(text.strip()) * scale
        except ValueError:
            return None
    return None


def container_throttled_s(container_id: str) -> float | None:
    """Seconds the CFS quota (``nano_cpus``) held the container back, from its cgroup."""
    for path, key, scale in (
        (f"/sys/fs/cgroup/cpu/docker/{container_id}/cpu.stat", "throttled_time", 1e-9),
        (f"/sys/fs/cgroup/cpu/system.slice/docker-{container_id}.scope/cpu.stat", "throttled_time", 1e-9),
        (f"/sys/fs/cgroup/docker/{container_id}/cpu.stat", "throttled_usec", 1e-6),
        (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat", "throttled_usec", 1e-6),
    ):
        try:
            stat = dict(line.split() for line in Path(path).read_text().splitlines())
        except (OSError, ValueError):
            continue
        return int(stat[key]) * scale if key in stat else None
    return None


def metered(sandbox_cls):
    """The Docker sandbox, reading the container's CPU figures just before it copies /out."""

    class MeteredSandbox(sandbox_cls):
        last_cpu_s: float | None = None
        last_throttled_s: float | None = None

        def _collect(self, container):
            self.last_cpu_s = container_cpu_s(container.id)
            self.last_throttled_s = container_throttled_s(container.id)
            return super()._collect(container)

    return MeteredSandbox


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
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        data = prepare(config.dataset, work / "cache")
        # Exactly the request an `agent eval` of this model sends (one batch of seeds).
        job = trial_run._job(config, data, trial_run.seed_batches(config.seeds)[0])
        request = trial_run._request(config, data, source, job)
        sandbox = metered(DockerSandbox)()
        runner_root = extract_runner(sandbox, work / "runner")
        same_as_tree = _tree_digest(runner_root / "runner") == _tree_digest(ROOT / "sandbox_image" / "runner")
        if not same_as_tree:
            log("[bench] note: the image's runner differs from sandbox_image/runner "
                "(rebuild with `make image`); both sides use the image's copy")
        host_torch = subprocess.run(
            [str(BENCH_PYTHON), "-c", "import sys, torch; print(torch.__version__, sys.version.split()[0])"],
            capture_output=True, text=True, check=True).stdout.split()
        job = request.job
        log(f"[bench] {config.dataset} ({data.n_train} train), {len(job.seeds)} seeds x "
            f"{job.epochs} epochs, batch {job.batch_size}, {job.threads} threads, "
            f"cpuset {controls.cpuset(limits, sandbox.host_cpus)}, {args.repeats} repeats")
        host_runs, box_runs = [], []
        for i in range(args.repeats):
            order = ("host", "sandbox") if i % 2 == 0 else ("sandbox", "host")
            for side in order:
                busy = wait_quiet(args.quiet_below, args.settle_s)
                if side == "host":
                    r = run_host(request, runner_root)
                    host_runs.append(r)
                else:
                    r = run_sandbox(sandbox, request)
                    box_runs.append(r)
                r["_busy_before"] = busy
                bg = r["_background_cores"]
                log(f"[bench] run {i + 1}/{args.repeats} {side:7s}: wall {r['wall_s']:6.2f} s, "
                    f"first step {r['first_step_s']:5.2f} s, training {r['train_s']:6.2f} s, "
                    f"epoch median {r['epoch_median_s'] * 1000:5.1f} ms, other work "
                    f"{'?' if bg is None else f'{bg:.2f}'} cores (busy before: {busy:.0%})")
        max_diff = float(max(np.abs(h["_probs"] - b["_probs"]).max()
                             for h, b in zip(host_runs, box_runs, strict=True)))
        result = summarize(host_runs, box_runs, config, sandbox, host_torch, max_diff, args)
        result["workload"]["runner_matches_tree"] = same_as_tree
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _round(v, nd=3):
    return None if v is None else round(v, nd)


def summarize(host_runs, box_runs, config, sandbox, host_torch, max_diff, args) -> dict:
    def med(runs, key):
        values = [r[key] for r in runs if r[key] is not None]
        return _round(statistics.median(values)) if values else None

    keys = [k for k in host_runs[0] if not k.startswith("_")]
    extra = ("workload_cpu_s", "infra_cpu_s", "throttled_s")
    host = {k: med(host_runs, k) for k in keys} | {k: med(host_runs, f"_{k}") for k in extra}
    box = {k: med(box_runs, k) for k in keys} | {k: med(box_runs, f"_{k}") for k in extra}
    ratio = round(box["wall_s"] / host["wall_s"], 3)
    # Runs that other work on the machine left alone: the sandbox's own cost, without luck.
    calm_host = [r for r in host_runs if _calm(r, args)]
    calm_box = [r for r in box_runs if _calm(r, args)]
    calm_ratio = (round(statistics.median(r["wall_s"] for r in calm_box)
                        / statistics.median(r["wall_s"] for r in calm_host), 3)
                  if calm_host and calm_box else None)
    info = sandbox.client.info()
    try:
        model = str(args.model.resolve().relative_to(ROOT))
    except ValueError:
        model = str(args.model)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "workload": {"dataset": config.dataset, "model": model,
                     "seeds": len(trial_run.seed_batches(config.seeds)[0]),
                     "epochs": config.epochs, "batch_size": config.batch_size,
                     "threads": controls.thread_count(config.limits), "cpus": config.limits.cpus,
                     "cpuset": controls.cpuset(config.limits, sandbox.host_cpus),
                     "seed_workers": box_runs[0]["_workers"],
                     "threads_per_worker": box_runs[0]["_threads_per_worker"],
                     "repeats": len(host_runs)},
        "machine": {"host_cpus": os.cpu_count(), "platform": platform.platform(),
                    "docker": sandbox.client.version().get("Version"),
                    "runtime": config.limits.runtime or info.get("DefaultRuntime"),
                    "cgroup_version": info.get("CgroupVersion"),
                    "host_torch": host_torch[0], "host_python": host_torch[1],
                    "image": sandbox.image.tag, "image_id": sandbox.image.id},
        "host": host,
        "sandbox": box,
        "overhead_s": {k: (None if host[k] is None or box[k] is None else round(box[k] - host[k], 3))
                       for k in host},
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "ratio_ok": ratio < TARGET_RATIO,
        "container_start_to_first_step_s": box["first_step_s"],
        "host_start_to_first_step_s": host["first_step_s"],
        "train_ratio": round(box["train_s"] / host["train_s"], 3),
        "epoch_ratio": round(box["epoch_median_s"] / host["epoch_median_s"], 3),
        "max_abs_prob_diff_seed0": max_diff,
        "calm_runs": {"host": len(calm_host), "sandbox": len(calm_box),
                      "background_limit_cores": args.background_limit, "ratio": calm_ratio},
        "runs": {side: [{"wall_s": round(r["wall_s"], 3),
                         "first_step_s": round(r["first_step_s"], 3),
                         "background_cores": _round(r["_background_cores"], 2),
                         "busy_before": round(r["_busy_before"], 2)} for r in runs]
                 for side, runs in (("host", host_runs), ("sandbox", box_runs))},
    }


def _calm(run: dict, args) -> bool:
    return run["_background_cores"] is not None and run["_background_cores"] < args.background_limit


ROWS = [
    ("wall_s", "wall time, whole eval", 2),
    ("first_step_s", "start -> first training step", 2),
    ("prestart_s", "  job write + container create", 2),
    ("to_python_s", "  start -> runner code running", 2),
    ("to_first_step_s", "  runner -> first step (torch, data, checks)", 2),
    ("train_s", "training (first step -> report)", 2),
    ("teardown_s", "report -> done (copy out, exit, remove)", 2),
    ("epoch_median_s", "one epoch, median of all epochs", 3),
    ("workload_cpu_s", "CPU s: the runner's processes", 2),
    ("infra_cpu_s", "CPU s: dockerd, containerd, this script", 2),
    ("throttled_s", "held back by the CPU quota (nano_cpus)", 2),
]


def print_table(r: dict) -> None:
    w, m = r["workload"], r["machine"]
    print(f"Sandbox overhead, {r['date']}: {w['dataset']}, {w['model']}, {w['seeds']} seeds x "
          f"{w['epochs']} epochs, {w['threads']} threads (cpus={w['cpus']:g}, cpuset {w['cpuset']}, "
          f"{w['seed_workers']} seed worker(s) x {w['threads_per_worker']} thread(s))")
    print(f"machine: {m['host_cpus']} CPUs, Docker {m['docker']}, {m['runtime']}, "
          f"cgroup v{m['cgroup_version']}; torch {m['host_torch']} both sides, host python "
          f"{m['host_python']}")
    print()
    header = f"seconds, median of {w['repeats']} runs each"
    print(f"{header:46s}{'host':>9s}{'sandbox':>10s}{'overhead':>10s}")
    for key, label, digits in ROWS:
        h, b = r["host"][key], r["sandbox"][key]
        cells = [f"{'n/a':>{n}s}" if v is None else f"{v:{n}.{digits}f}" for v, n in ((h, 9), (b, 10))]
        diff = "" if h is None or b is None else f"{b - h:+10.{digits}f}"
        print(f"{label:46s}{cells[0]}{cells[1]}{diff}")
    print()
    print(f"container start -> first training step: {r['container_start_to_first_step_s']:.2f} s "
          f"(host process start -> first step: {r['host_start_to_first_step_s']:.2f} s)")
    print(f"overhead: {r['overhead_s']['wall_s']:+.2f} s wall per eval, of which "
          f"{r['overhead_s']['first_step_s']:+.2f} s before the first step, "
          f"{r['overhead_s']['train_s']:+.2f} s training, {r['overhead_s']['teardown_s']:+.2f} s after")
    print(f"same training on both sides: max |p_host - p_sandbox| (seed 0) = "
          f"{r['max_abs_prob_diff_seed0']:.1e}")
    bg = [x["background_cores"] for side in ("host", "sandbox") for x in r["runs"][side]]
    calm = r["calm_runs"]
    if any(b is None or b >= calm["background_limit_cores"] for b in bg):
        shown = ", ".join("?" if b is None else f"{b:.2f}" for b in bg)
        print(f"note: other work on the machine used CPU during some runs (cores, host runs then "
              f"sandbox runs: {shown}); the figures above are noisy")
        if calm["ratio"] is not None:
            print(f"      runs with under {calm['background_limit_cores']} cores of other work "
                  f"({calm['host']} host, {calm['sandbox']} sandbox): wall ratio {calm['ratio']:.2f}")
    verdict = "ratio OK" if r["ratio_ok"] else "ratio ABOVE TARGET"
    print(f"wall ratio sandbox/host: {r['ratio']:.2f} (target < {r['target_ratio']}): {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"epochs per seed (default {DEFAULT_EPOCHS}: ~20 s per eval here)")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                        help="runs per side, alternating; medians are reported")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpus", type=float, default=DEFAULT_CPUS,
                        help="the sandbox CPU limit; threads = ceil(cpus) on both sides")
    parser.add_argument("--model", type=Path, default=MODEL, help="the model file to train")
    parser.add_argument("--quiet-below", type=float, default=0.25,
                        help="start each run once the machine is less busy than this (0..1)")
    parser.add_argument("--settle-s", type=float, default=20.0,
                        help="how long to wait for that before starting anyway")
    parser.add_argument("--background-limit", type=float, default=0.2,
                        help="a run is calm when other work used fewer cores than this on average")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.epochs < 1 or args.seeds < 1:
        parser.error("--epochs, --repeats and --seeds must be at least 1")
    try:
        result = measure(args)
    except (BenchFailure, AgentError) as exc:  # e.g. no Docker engine, no sandbox image
        log(f"bench: {exc}")
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
