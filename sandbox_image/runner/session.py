"""One job: load data and model, check it, train every seed (in one process or several).

Parallel seeds run in spawned worker processes, each with ``threads // workers`` threads so
the total matches the CPU limit. A worker killed by a signal ends the whole runner with the
same signal's exit code (so the host still sees SIGSYS as a policy violation).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sys
import time

from . import protocol as p
from .model_loader import build_model, load_entry, materialize
from .summary import peak_memory_bytes, summarize

_SUFFIX = ".tmp"


def load_data(data_dir: str) -> dict:
    import numpy as np
    import torch

    names = ("train_x", "train_y", "val_x", "val_y", "test_x")
    arrays = {n: np.load(os.path.join(data_dir, f"{n}.npy"), allow_pickle=False) for n in names}
    return {n: torch.from_numpy(np.ascontiguousarray(a)) for n, a in arrays.items()}


def write_json(path: str, obj) -> None:
    with open(path + _SUFFIX, "w") as fh:
        json.dump(obj, fh)
    os.replace(path + _SUFFIX, path)


def device_for(job: p.JobSpec):
    import torch

    return torch.device("cuda" if job.device == "cuda" and torch.cuda.is_available() else "cpu")


def train_seeds(job: p.JobSpec, seeds: list[int], dirs: tuple[str, str, str], threads: int) -> list[dict]:
    """Train ``seeds`` in this process; write each seed's predictions; return their records."""
    import numpy as np
    import torch

    from .train import predict_proba, seed_everything, train_seed

    job_dir, data_dir, out_dir = dirs
    torch.set_num_threads(threads)
    device = device_for(job)
    data = load_data(data_dir)
    factory = load_entry(os.path.join(job_dir, job.model_file), job.entry)
    records = []
    for seed in seeds:
        first: list[float] = []
        start = time.time()
        gen = seed_everything(seed)
        model = build_model(factory, job.entry, job.model_args)
        materialize(model, data["train_x"][:2])  # before the optimizer sees the parameters
        mark = lambda first=first: first.append(time.time())  # noqa: E731
        result = train_seed(model, job, data, gen, device, on_first_step=mark)
        folder = os.path.join(out_dir, p.seed_dir(seed))
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, "val_probs.npy"), np.stack(result.val_probs))
        test_probs = predict_proba(model, data["test_x"], job.batch_size, device)
        np.save(os.path.join(folder, "test_probs.npy"), test_probs)
        records.append({"seed": seed, "curves": vars(result.curves), "best_epoch": result.best_epoch,
                        "stopped_epoch": result.stopped_epoch, "wall_s": time.time() - start,
                        "first_step_at": first[0] if first else None})
        print(f"runner: seed {seed} done", file=sys.stderr, flush=True)
    return records


def _worker(job_json: str, seeds: list[int], dirs: tuple[str, str, str], threads: int) -> None:
    """Entry point of a spawned seed worker: its records go to a JSON file in /out."""
    _die_with_parent()
    job = p.JobSpec.from_json(job_json)
    records = train_seeds(job, seeds, dirs, threads)
    write_json(os.path.join(dirs[2], f".worker-{seeds[0]}.json"), records)


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the runner
    except (OSError, AttributeError):
        pass


def train_parallel(job: p.JobSpec, job_json: str, dirs: tuple[str, str, str]) -> list[dict]:
    """Split the seeds over ``job.seed_workers`` spawned processes, threads split evenly."""
    workers = min(job.seed_workers, len(job.seeds))
    groups = [job.seeds[i::workers] for i in range(workers)]
    threads = max(1, job.threads // workers)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(job_json, g, dirs, threads), name=f"seeds-{g[0]}")
             for g in groups]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    for proc in procs:
        if proc.exitcode and proc.exitcode < 0:  # killed by a signal: end the same way
            print(f"runner: seed worker killed by signal {-proc.exitcode}", file=sys.stderr, flush=True)
            sys.stderr.flush()
            os._exit(128 - proc.exitcode)
        if proc.exitcode:
            raise RuntimeError(f"seed worker {proc.name} failed (exit {proc.exitcode}); see its traceback")
    records = []
    for g in groups:
        path = os.path.join(dirs[2], f".worker-{g[0]}.json")
        with open(path) as fh:
            records.extend(json.load(fh))
        os.remove(path)
    return sorted(records, key=lambda r: job.seeds.index(r["seed"]))


def run(job_dir: str, data_dir: str, out_dir: str, started: float) -> int:
    with open(os.path.join(job_dir, "job.json")) as fh:
        job_json = fh.read()
    job = p.JobSpec.from_json(job_json)
    import torch

    torch.set_num_threads(job.threads)
    device = device_for(job)
    data = load_data(data_dir)
    factory = load_entry(os.path.join(job_dir, job.model_file), job.entry)
    summary = summarize(factory, job, data, device)
    del data
    dirs = (job_dir, data_dir, out_dir)
    workers = min(job.seed_workers, len(job.seeds))
    if workers > 1:
        records = train_parallel(job, job_json, dirs)
    else:
        records = train_seeds(job, job.seeds, dirs, job.threads)
    firsts = [r.pop("first_step_at") for r in records if r.get("first_step_at")]
    summary["peak_memory_bytes"] = peak_memory_bytes(device)
    write_json(os.path.join(out_dir, p.REPORT_FILE), {
        "protocol_version": p.PROTOCOL_VERSION, "torch_version": torch.__version__,
        "device": device.type, "started_at": started, "first_step_at": min(firsts) if firsts else None,
        "finished_at": time.time(), "summary": summary, "seeds": records,
        "seed_workers": workers, "threads_per_worker": max(1, job.threads // workers),
    })
    return p.EXIT_OK
