"""One job: load data and model, check it, train every seed (in one process or several).

Each seed is complete on its own: its predictions, then ``seed.json`` (its record, as
report.json's ``seeds[i]``), then its ``.done`` last, so a job that dies later keeps it.
Parallel seeds run in spawned worker processes, each with ``threads // workers`` threads so
the total matches the CPU limit; they send their progress over a pipe to this process. A
worker killed by a signal ends the whole runner with the same signal's exit code (so the host
still sees SIGSYS as a policy violation).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import time

from . import protocol as p
from .model_loader import build_model, load_entry, materialize
from .progress import Progress, WorkerProgress
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


def train_seeds(job: p.JobSpec, seeds: list[int], dirs: tuple[str, str, str], threads: int,
                progress) -> list[dict]:
    """Train ``seeds`` in this process; write each seed's files; return their records."""
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
        on_epoch = lambda epoch, acc, seed=seed: progress.epoch(seed, epoch, acc)  # noqa: E731
        result = train_seed(model, job, data, gen, device, on_first_step=mark, on_epoch=on_epoch)
        test_probs = predict_proba(model, data["test_x"], job.batch_size, device)
        record = {"seed": seed, "curves": vars(result.curves), "best_epoch": result.best_epoch,
                  "stopped_epoch": result.stopped_epoch}
        _write_seed(os.path.join(out_dir, p.seed_dir(seed)), result.val_probs, test_probs, record, start)
        progress.seed_done(seed)
        records.append(record | {"first_step_at": first[0] if first else None})
        print(f"runner: seed {seed} done", file=sys.stderr, flush=True)
    return records


def _write_seed(folder: str, val_probs: list, test_probs, record: dict, start: float) -> None:
    """Predictions, then seed.json, then .done last: the host uses a seed only once it is whole."""
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "val_probs.npy"), np.stack(val_probs))
    np.save(os.path.join(folder, "test_probs.npy"), test_probs)
    record["wall_s"] = time.time() - start
    write_json(os.path.join(folder, p.SEED_REPORT_FILE), record)
    with open(os.path.join(folder, p.SEED_DONE_MARKER), "w") as fh:
        fh.write("done\n")


def _worker(job_json: str, seeds: list[int], dirs: tuple[str, str, str], threads: int, conn) -> None:
    """Entry point of a spawned seed worker: its records go to a JSON file in /out."""
    _die_with_parent()
    job = p.JobSpec.from_json(job_json)
    records = train_seeds(job, seeds, dirs, threads, WorkerProgress(conn))
    write_json(os.path.join(dirs[2], f".worker-{seeds[0]}.json"), records)


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive the runner
    except (OSError, AttributeError):
        pass


def train_parallel(job: p.JobSpec, job_json: str, dirs: tuple[str, str, str], progress: Progress) -> list[dict]:
    """Split the seeds over ``job.seed_workers`` spawned processes, threads split evenly."""
    workers = min(job.seed_workers, len(job.seeds))
    groups = [job.seeds[i::workers] for i in range(workers)]
    threads = max(1, job.threads // workers)
    ctx = mp.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    procs = [ctx.Process(target=_worker, args=(job_json, g, dirs, threads, writer), name=f"seeds-{g[0]}")
             for g in groups]
    for proc in procs:
        proc.start()
    writer.close()  # the workers hold the write end: the read end sees EOF once all have ended
    _relay_until_joined(procs, reader, progress)
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


def _relay_until_joined(procs: list, reader, progress: Progress) -> None:
    """Write the workers' progress events as lines until every worker has ended."""
    waiting = {proc.sentinel: proc for proc in procs}
    listening = [reader]
    while waiting:
        for ready in mp.connection.wait(listening + list(waiting)):
            if ready is not reader:
                waiting.pop(ready).join()
            elif not _take(reader, progress):
                listening = []
    # What the last workers sent just before they ended (a process they left may hold the pipe open).
    while listening and reader.poll() and _take(reader, progress):
        pass
    reader.close()


def _take(reader, progress: Progress) -> bool:
    """Write one event as a line; False once every write end is closed."""
    try:
        progress.event(reader.recv_bytes())
    except (EOFError, OSError):
        return False
    return True


def run(job_dir: str, data_dir: str, out_dir: str, started: float, proto=None) -> int:
    """The whole job; ``proto`` (the protocol pipe, text) gets the progress lines."""
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
    progress = Progress(proto, job)
    if workers > 1:
        records = train_parallel(job, job_json, dirs, progress)
    else:
        records = train_seeds(job, job.seeds, dirs, job.threads, progress)
    firsts = [first for r in records if (first := r.pop("first_step_at", None))]
    summary["peak_memory_bytes"] = peak_memory_bytes(device)
    write_json(os.path.join(out_dir, p.REPORT_FILE), {
        "protocol_version": p.PROTOCOL_VERSION, "torch_version": torch.__version__,
        "device": device.type, "started_at": started, "first_step_at": min(firsts) if firsts else None,
        "finished_at": time.time(), "summary": summary, "seeds": records,
        "seed_workers": workers, "threads_per_worker": max(1, job.threads // workers),
    })
    return p.EXIT_OK
