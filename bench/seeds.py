"""Seeds in one container: sequential (one process, all threads) vs parallel (processes, threads split),
and what the host spends scoring 10,000 predictions.

(a) The same N-seed job (default 3 seeds, ``--cpus 2`` -> 2 torch threads, cpuset 0-1) goes through
``DockerSandbox().run(SandboxRequest(...))`` once per ``seed_workers`` setting. The job is exactly the
one ``agent eval`` builds (``agent.trial._run._job``) with only ``seed_workers`` changed:

- ``seed_workers=1``: the runner trains the seeds one after another with ``threads`` torch threads;
- ``seed_workers=k`` (k >= 2): the runner spawns k processes, seeds dealt round-robin, each with
  ``max(1, threads // k)`` threads (3 workers on 2 threads: 3 one-thread processes on 2 cores);
- ``1x1``: sequential, but the job's ``threads`` forced to 1 (what separates "one process per seed"
  from "one torch thread per process": the runner calls ``torch.set_num_threads(job.threads)``).

Workloads (``--workloads``): ``digits`` (the example MLP on sklearn digits, ``--digits-epochs``,
the size of a typical study trial on digits: 10-30 epochs) and ``fmnist`` (the template CNN,
``CNNSpec()`` defaults, on a stratified 3000-image Fashion-MNIST subset, ``--fmnist-epochs``).
Settings alternate inside each repeat (the order rotates per repeat); medians are reported with
the ratio to sequential. Each run is timed whole (one ``sandbox.run`` call: job write, container
create/start, training, copy-out, removal) and by the runner's own clock (first step -> report).

(b) Host scoring: ``agent.scoring.classification_report`` on 10,000 x 10 random probabilities
with labels; ``aggregate`` over 3 seeds' metrics; and the whole per-batch host path the eval
loop runs after each container (``agent.trial._seeds.score_batch`` for 3 seeds: load and
validate each seed's .npy, recompute validation curves from per-epoch probabilities, full
report, learning dynamics), each the median of ``--score-repeats`` (20).

A benchmark, not a test: it exits 0 unless a run fails. The machine's load average is printed
with the figures (this benchmark shares the CPUs with whatever else runs). Usage::

    .venv/bin/python bench/seeds.py [--workloads digits,fmnist] [--repeats 3] [--json]
    .venv/bin/python bench/seeds.py --skip-sandbox          # only (b), no Docker needed
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import BenchFailure, loadavg, log, machine_busy, wait_quiet  # noqa: E402

from agent.config import EvalConfig  # noqa: E402
from agent.data import prepare  # noqa: E402
from agent.protocol import PROTOCOL_VERSION  # noqa: E402
from agent.records import SandboxLimits, SandboxOutcome, TrialStatus  # noqa: E402
from agent.sandbox import SandboxRequest  # noqa: E402
from agent.sandbox._controls import thread_count  # noqa: E402
from agent.scoring import aggregate, classification_report  # noqa: E402
from agent.trial import _run as trial_run  # noqa: E402  # _job: exactly the job `agent eval` builds
from agent.trial._seeds import score_batch  # noqa: E402

MODEL = ROOT / "agent" / "examples" / "mlp.py"
FMNIST_SUBSET = 3000
N_SCORE = 10_000
N_CLASSES = 10


# ---------------------------------------------------------------------------- (a) in the sandbox


def _workload(name: str, args, cache: Path) -> tuple[EvalConfig, object, str, str]:
    """``(config, prepared data, model source, description)`` for one workload."""
    limits = SandboxLimits(cpus=args.cpus, timeout_s=900.0)
    if name == "digits":
        config = EvalConfig(dataset="digits", seeds=args.seeds, epochs=args.digits_epochs, limits=limits)
        data = prepare("digits", cache)
        return config, data, MODEL.read_text(), f"example MLP, digits ({data.n_train} train), " \
                                                 f"{args.digits_epochs} epochs"
    if name == "fmnist":
        from agent.assembler import source_for
        from agent.specs import CNNSpec, DataShape, TrialSpec

        config = EvalConfig(dataset="fashion-mnist", seeds=args.seeds, epochs=args.fmnist_epochs,
                            subset_size=FMNIST_SUBSET, limits=limits)
        data = prepare("fashion-mnist", cache, subset_size=FMNIST_SUBSET)
        shape = DataShape(modality=data.modality, input_shape=data.input_shape, n_classes=data.n_classes)
        source = source_for(TrialSpec(model=CNNSpec()), shape)
        return config, data, source, f"template CNN (CNNSpec defaults), fashion-mnist subset " \
                                     f"({data.n_train} train), {args.fmnist_epochs} epochs"
    raise BenchFailure(f"unknown workload {name!r} (digits, fmnist)")


def _parse_setting(text: str) -> tuple[int, int | None]:
    """``"3"`` -> 3 workers (threads as the product sets them); ``"1x1"`` -> 1 worker, job threads 1."""
    w, _, t = text.strip().partition("x")
    return int(w), (int(t) if t else None)


def _run_once(sandbox, config: EvalConfig, data, source: str, setting: str, args) -> dict:
    seeds = list(range(config.seeds))
    busy = wait_quiet(args.quiet_below, args.settle_s) if args.settle_s > 0 else machine_busy()
    workers, threads = _parse_setting(setting)
    update = {"seed_workers": workers} | ({"threads": threads} if threads else {})
    job = trial_run._job(config, data, seeds).model_copy(update=update)
    request = SandboxRequest(job=job, model_source=source, data_dir=data.public_dir, limits=config.limits,
                             trial_id=f"bench-seeds-{setting}")
    load = os.getloadavg()[0]
    t0 = time.monotonic()
    outcome = sandbox.run(request)
    wall = time.monotonic() - t0
    if outcome.status is not TrialStatus.OK:
        raise BenchFailure(f"seed_workers={setting}: {outcome.status.value}: {outcome.message}\n"
                           f"{outcome.stderr_tail[-1500:]}")
    report = json.loads(outcome.files["report.json"])
    y = data.test_labels()
    accs = [float((np.load(io.BytesIO(outcome.files[f"seed_{s}/test_probs.npy"]), allow_pickle=False)
                   .argmax(1) == y).mean()) for s in seeds]
    return {
        "wall_s": wall,
        "train_s": report["finished_at"] - report["first_step_at"],  # first step of any seed -> report
        "runner_s": report["finished_at"] - report["started_at"],  # runner start -> report
        "seed_wall_s": statistics.median(s["wall_s"] for s in report["seeds"]),
        "epoch_median_s": statistics.median(t for s in report["seeds"] for t in s["curves"]["epoch_s"]),
        "accuracy_mean": float(np.mean(accs)),
        "load1_before": load,
        "busy_before": busy,
        "_workers": report.get("seed_workers"), "_threads": report.get("threads_per_worker"),
    }


def measure_sandbox(args) -> list[dict]:
    from agent.sandbox import DockerSandbox  # imports docker; only here

    sandbox = DockerSandbox()
    work = Path(tempfile.mkdtemp(prefix="bench-seeds-"))
    results = []
    try:
        for name in args.workloads:
            config, data, source, what = _workload(name, args, work / "cache")
            settings = args.workers
            runs: dict[str, list[dict]] = {w: [] for w in settings}
            log(f"[seeds] {name}: {what}, {config.seeds} seeds, {thread_count(config.limits)} "
                f"threads, settings seed_workers={settings}, {args.repeats} repeats")
            for i in range(args.repeats):
                order = settings[i % len(settings):] + settings[:i % len(settings)]  # rotate per repeat
                for w in order:
                    r = _run_once(sandbox, config, data, source, w, args)
                    runs[w].append(r)
                    log(f"[seeds] {name} repeat {i + 1} seed_workers={w} ({r['_workers']} proc x "
                        f"{r['_threads']} thr): wall {r['wall_s']:6.2f} s, train {r['train_s']:6.2f} s, "
                        f"epoch {r['epoch_median_s'] * 1000:6.1f} ms, acc {r['accuracy_mean']:.4f}, "
                        f"load1 {r['load1_before']:.2f}, CPUs {r['busy_before']:.0%} busy before")
            results.append(_summarize(name, what, config, runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _summarize(name: str, what: str, config: EvalConfig, runs: dict[str, list[dict]]) -> dict:
    def med(rs, key):
        return round(statistics.median(r[key] for r in rs), 4)

    base = med(runs["1"], "wall_s") if "1" in runs else None
    base_train = med(runs["1"], "train_s") if "1" in runs else None
    rows = []
    for w, rs in runs.items():
        row = {"seed_workers": w, "processes": rs[0]["_workers"], "threads_per_process": rs[0]["_threads"]}
        row |= {k: med(rs, k) for k in ("wall_s", "train_s", "runner_s", "seed_wall_s", "epoch_median_s",
                                        "accuracy_mean")}
        row["wall_runs_s"] = [round(r["wall_s"], 3) for r in rs]
        row["load1_before"] = [round(r["load1_before"], 2) for r in rs]
        row["busy_before"] = [round(r["busy_before"], 2) for r in rs]
        if base:
            row["wall_vs_sequential"] = round(row["wall_s"] / base, 3)
            row["train_vs_sequential"] = round(row["train_s"] / base_train, 3)
        rows.append(row)
    return {"workload": name, "description": what, "seeds": config.seeds,
            "threads": thread_count(config.limits), "cpus": config.limits.cpus, "rows": rows}


# ---------------------------------------------------------------------------- (b) on the host


class _Labels:
    """Duck-typed stand-in for PreparedDataset: what ``score_batch`` reads."""

    def __init__(self, y_test: np.ndarray, y_val: np.ndarray, n_classes: int):
        self._y_test, self._y_val = y_test, y_val
        self.n_test, self.n_classes = len(y_test), n_classes
        self.class_names = [str(c) for c in range(n_classes)]

    def test_labels(self) -> np.ndarray:
        return self._y_test

    def val_labels(self) -> np.ndarray:
        return self._y_val


def _probs(rng, n: int, k: int, y: np.ndarray, skill: float = 2.0) -> np.ndarray:
    """Random probabilities with some signal on the true class (so metrics are not all degenerate)."""
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += skill
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _median_s(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def measure_scoring(args) -> dict:
    rng = np.random.default_rng(0)
    n, k = N_SCORE, N_CLASSES
    y = rng.integers(0, k, size=n)
    probs = _probs(rng, n, k, y).astype(np.float64)
    report_s, _ = _median_s(lambda: classification_report(probs, y), args.score_repeats)
    seeds = list(range(args.seeds))
    per_seed = [classification_report(_probs(rng, n, k, y).astype(np.float64), y)["scalars"] for _ in seeds]
    aggregate_s, _ = _median_s(lambda: aggregate(per_seed, n_test=n), args.score_repeats)

    # The whole per-container host path for the seeds of one batch, as after a real container run:
    # bytes -> validated arrays -> host validation curves -> report -> dynamics.
    n_val, epochs = args.score_n_val, args.score_epochs
    y_val = rng.integers(0, k, size=n_val)
    files: dict[str, bytes] = {}
    seed_reports = []
    for s in seeds:
        files[f"seed_{s}/test_probs.npy"] = _npy(_probs(rng, n, k, y))
        files[f"seed_{s}/val_probs.npy"] = _npy(np.stack([_probs(rng, n_val, k, y_val) for _ in range(epochs)]))
        curve = [float(x) for x in np.linspace(1.0, 0.3, epochs)]
        seed_reports.append({"seed": s, "curves": {"train_loss": curve, "train_acc": curve[::-1],
                                                   "val_loss": curve, "val_acc": curve[::-1],
                                                   "epoch_s": [0.1] * epochs},
                             "best_epoch": epochs - 1, "stopped_epoch": epochs - 1, "wall_s": 1.0})
    now = time.time()
    files["report.json"] = json.dumps({
        "protocol_version": PROTOCOL_VERSION, "torch_version": "2.13.0+cpu", "device": "cpu", "started_at": now,
        "first_step_at": now, "finished_at": now, "seeds": seed_reports,
        "summary": {"params_total": 1, "params_trainable": 1, "output_shape": [1, k]}}).encode()
    outcome = SandboxOutcome(status=TrialStatus.OK, message="ok", exit_code=0, files=files)
    labels = _Labels(y, y_val, k)
    check = score_batch(outcome, seeds, labels)
    if check.problems or check.report_problem:
        raise BenchFailure(f"score_batch rejected the synthetic batch: {check.problems or check.report_problem}")
    batch_s, _ = _median_s(lambda: score_batch(outcome, seeds, labels), args.score_repeats)
    return {"n_test": n, "n_classes": k, "seeds": len(seeds), "repeats": args.score_repeats,
            "n_val": n_val, "epochs": epochs,
            "classification_report_s": round(report_s, 4),
            "aggregate_s": round(aggregate_s, 4),
            "score_batch_s": round(batch_s, 4),
            "score_batch_per_seed_s": round(batch_s / len(seeds), 4)}


# ---------------------------------------------------------------------------- output


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"Seeds in one container, {result['date']}: {m['host_cpus']} host CPUs, {m['platform']}; "
          f"load average at start {m['load_start']}, at end {m['load_end']}")
    for wl in result.get("sandbox", []):
        print()
        print(f"{wl['workload']}: {wl['description']}; {wl['seeds']} seeds, cpus={wl['cpus']:g} "
              f"({wl['threads']} threads); medians")
        print(f"{'setting':>12s} {'procs x thr':>11s} {'wall s':>8s} {'x seq':>6s} {'train s':>8s} "
              f"{'x seq':>6s} {'epoch ms':>9s} {'acc':>7s}  before each run: load1 (CPUs busy)")
        for r in wl["rows"]:
            busy = r.get("busy_before") or [float("nan")] * len(r["load1_before"])
            before = ", ".join(f"{x:.1f} ({b:.0%})" for x, b in zip(r["load1_before"], busy, strict=True))
            print(f"{r['seed_workers']:>12s} {r['processes']:>5d} x {r['threads_per_process']:<3d} "
                  f"{r['wall_s']:8.2f} {r.get('wall_vs_sequential', float('nan')):6.2f} {r['train_s']:8.2f} "
                  f"{r.get('train_vs_sequential', float('nan')):6.2f} {r['epoch_median_s'] * 1000:9.1f} "
                  f"{r['accuracy_mean']:7.4f}  {before}")
    s = result.get("scoring")
    if s:
        print()
        print(f"host scoring, {s['n_test']} x {s['n_classes']} probabilities, median of {s['repeats']}:")
        print(f"  classification_report (one seed, every metric)   {s['classification_report_s'] * 1000:8.1f} ms")
        print(f"  aggregate ({s['seeds']} seeds, t intervals)                {s['aggregate_s'] * 1000:8.1f} ms")
        print(f"  score_batch ({s['seeds']} seeds: load+validate, val curves "
              f"{s['epochs']} x {s['n_val']}, report, dynamics) {s['score_batch_s'] * 1000:8.1f} ms "
              f"({s['score_batch_per_seed_s'] * 1000:.1f} ms/seed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="digits,fmnist", help="comma list: digits, fmnist")
    parser.add_argument("--workers", default="1,1x1,2,3",
                        help="settings to compare: seed_workers (1 = sequential, the baseline of the ratios), "
                             "or WxT to also force T torch threads per job (1x1: sequential, one thread)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting, interleaved; medians reported")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpus", type=float, default=2.0, help="sandbox CPU limit; threads = ceil(cpus)")
    parser.add_argument("--digits-epochs", type=int, default=30)
    parser.add_argument("--fmnist-epochs", type=int, default=5)
    parser.add_argument("--score-repeats", type=int, default=20)
    parser.add_argument("--score-n-val", type=int, default=6000, help="validation rows for score_batch")
    parser.add_argument("--score-epochs", type=int, default=10, help="epochs of val probs for score_batch")
    parser.add_argument("--quiet-below", type=float, default=0.25,
                        help="start each sandbox run once the CPUs are less busy than this (0..1)")
    parser.add_argument("--settle-s", type=float, default=0.0,
                        help="how long to wait for that before starting anyway (0: never wait)")
    parser.add_argument("--skip-sandbox", action="store_true", help="only the host-scoring part")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    if args.repeats < 1 or args.seeds < 1 or args.score_repeats < 1 or \
            min(min(x or 1 for x in _parse_setting(w)) for w in args.workers) < 1:
        parser.error("--repeats, --seeds, --score-repeats and --workers must be at least 1")
    result = {"date": time.strftime("%Y-%m-%d %H:%M"),
              "machine": {"host_cpus": os.cpu_count(), "platform": platform.platform(), "load_start": loadavg()}}
    try:
        if not args.skip_sandbox:
            result["sandbox"] = measure_sandbox(args)
        result["scoring"] = measure_scoring(args)
    except BenchFailure as exc:
        log(f"bench: {exc}")
        return 1
    result["machine"]["load_end"] = loadavg()
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
