"""Entry point: ``python -m runner [--job-dir D] [--data-dir D] [--out-dir D]``.

Inside the container the defaults are the mounted paths. The bench runs the same code on
the host with other directories (no sandbox) to measure the sandbox's overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback

from . import protocol as p
from .model_loader import ModelRejected, check_constructor, check_output, load_model_class

STARTED = time.time()


def _start_watchdog(deadline_s: float) -> None:
    """The runner's own deadline: exit 124 even if the model never returns (host kills later)."""

    def fire() -> None:
        time.sleep(max(0.0, deadline_s - (time.time() - STARTED)))
        sys.stderr.write(f"runner: deadline of {deadline_s:.0f}s reached, stopping\n")
        sys.stderr.flush()
        os._exit(p.EXIT_DEADLINE)

    threading.Thread(target=fire, name="runner-deadline", daemon=True).start()


def _load_data(data_dir: str) -> dict:
    import numpy as np
    import torch

    names = ("train_x", "train_y", "val_x", "val_y", "test_x")
    arrays = {n: np.load(os.path.join(data_dir, f"{n}.npy"), allow_pickle=False) for n in names}
    return {n: torch.from_numpy(np.ascontiguousarray(a)) for n, a in arrays.items()}


def _summarize(cls, job: p.JobSpec, data: dict, device) -> dict:
    """Build once, count parameters, run one forward + backward on two examples."""
    check_constructor(cls)
    model = cls().to(device)
    total = sum(t.numel() for t in model.parameters())
    trainable = sum(t.numel() for t in model.parameters() if t.requires_grad)
    if total > job.max_params:
        raise ModelRejected(f"model has {total:,} parameters, over the cap of {job.max_params:,}")
    if trainable == 0:
        raise ModelRejected("model has no trainable parameters")
    xb = data["train_x"][:2].to(device)
    out = model(xb)
    check_output(out, len(xb), job.n_classes)
    out.float().sum().backward()
    return {"params_total": total, "params_trainable": trainable, "output_shape": list(out.shape)}


def _write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
    os.replace(tmp, path)


def run(job_dir: str, data_dir: str, out_dir: str) -> int:
    with open(os.path.join(job_dir, "job.json")) as fh:
        job = p.JobSpec.from_json(fh.read())
    _start_watchdog(job.deadline_s)

    import numpy as np
    import torch

    from .train import predict_proba, seed_everything, train_seed

    torch.set_num_threads(job.threads)
    device = torch.device("cuda" if job.device == "cuda" and torch.cuda.is_available() else "cpu")
    data = _load_data(data_dir)
    cls = load_model_class(os.path.join(job_dir, job.model_file))
    report = {
        "protocol_version": p.PROTOCOL_VERSION,
        "torch_version": torch.__version__,
        "device": device.type,
        "started_at": STARTED,
        "first_step_at": None,
        "summary": _summarize(cls, job, data, device),
        "seeds": [],
    }

    def mark_first_step() -> None:
        report["first_step_at"] = report["first_step_at"] or time.time()

    for seed in job.seeds:
        gen = seed_everything(seed)
        model = cls()
        curves = train_seed(model, job, data, gen, device, on_first_step=mark_first_step)
        probs = predict_proba(model, data["test_x"], job.batch_size, device)
        os.makedirs(os.path.join(out_dir, p.seed_dir(seed)), exist_ok=True)
        np.save(os.path.join(out_dir, p.seed_dir(seed), "test_probs.npy"), probs)
        report["seeds"].append({"seed": seed, "curves": vars(curves)})
        print(f"runner: seed {seed} done", file=sys.stderr, flush=True)
    report["finished_at"] = time.time()
    _write_json(os.path.join(out_dir, p.REPORT_FILE), report)
    return p.EXIT_OK


def _private_stdout():
    """Keep the real stdout for protocol lines; everything else printing goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return proto


def _linger(out_dir: str, linger_s: float, proto) -> None:
    """Mark the output complete, then stay alive until the host has copied /out (a tmpfs)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    with open(os.path.join(out_dir, p.DONE_MARKER), "w") as fh:
        fh.write("done\n")
    proto.write(p.DONE_LINE + "\n")
    proto.flush()
    signal.sigtimedwait({signal.SIGUSR1}, linger_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runner")
    parser.add_argument("--job-dir", default=p.JOB_DIR)
    parser.add_argument("--data-dir", default=p.DATA_DIR)
    parser.add_argument("--out-dir", default=p.OUT_DIR)
    parser.add_argument("--no-linger", action="store_true", help="exit without waiting for the host")
    args = parser.parse_args(argv)
    proto = _private_stdout()
    try:
        code = run(args.job_dir, args.data_dir, args.out_dir)
    except p.JobError as exc:
        print(f"runner: bad job: {exc}", file=sys.stderr)
        return p.EXIT_CRASHED
    except ModelRejected as exc:
        print(f"model rejected: {exc}", file=sys.stderr)
        return p.EXIT_REJECTED
    except BaseException:  # the model's own errors, SystemExit included, are data
        traceback.print_exc()
        sys.stderr.flush()
        return p.EXIT_CRASHED
    if not args.no_linger:
        with open(os.path.join(args.job_dir, "job.json")) as fh:
            linger_s = json.load(fh).get("linger_s", 60.0)
        _linger(args.out_dir, linger_s, proto)
    return code


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # never wait for threads the model may have left running
