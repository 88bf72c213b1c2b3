"""What preparing Fashion-MNIST costs: the first time (fresh cache) and from the cache.

Rows (medians over ``--repeats``, each first-time run in its own fresh temp cache):

- ``import torchvision``: paid once per process before any image dataset is read (timed in a
  subprocess; the rows below run after it).
- ``first prepare (full 70k)``: ``prepare("fashion-mnist", fresh_cache)`` end to end: decompress
  the Debian package's IDX files into the cache, read them through torchvision, encode labels,
  split off validation, normalize with train statistics, write the .npy files atomically.
  Its stages are timed again on their own: ``decompress IDX``, ``read via torchvision``, and
  ``preprocess + write`` (a prepare whose raw files are already in place).
- ``first prepare (--subset-size 3000)``: a new cache entry when the raw files are in place.
- ``cached prepare()``: the second call, a cache hit (reads meta.json only).
- ``cached arrays np.load``: reading every public array of the entry back, as the sandbox does.

A benchmark, not a test: it needs the Debian package ``dataset-fashion-mnist`` (see
``scripts/ensure_datasets.sh``) and exits 1 without it. Usage::

    .venv/bin/python bench/data_prep.py [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
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

from agent.data import _vision as vision  # noqa: E402
from agent.data import prepare  # noqa: E402

DATASET = "fashion-mnist"
SUBSET = 3000


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the "[data] ..." progress lines
        result = fn()
    return time.perf_counter() - started, result


def _import_torchvision() -> float:
    code = "import time; t = time.perf_counter(); import torchvision.datasets; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def _one_round() -> dict[str, float]:
    cache = Path(tempfile.mkdtemp(prefix="bench-data-"))
    try:
        first, data = _timed(lambda: prepare(DATASET, cache))
        hit, _ = _timed(lambda: prepare(DATASET, cache))
        arrays, _ = _timed(lambda: [np.load(p) for p in sorted(data.public_dir.glob("*.npy"))])
        subset, _ = _timed(lambda: prepare(DATASET, cache, subset_size=SUBSET))
        staged = cache / "stages"
        decompress, _ = _timed(lambda: vision.FashionMNIST()._stage(staged))
        read, _ = _timed(lambda: vision.FashionMNIST().load(staged))
        shutil.rmtree(cache / f"{DATASET}-{data.fingerprint}")  # same raw files, entry gone
        rebuild, _ = _timed(lambda: prepare(DATASET, cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"first prepare (full 70k)": first, "  decompress IDX": decompress,
            "  read via torchvision": read, "  preprocess + write": rebuild,
            f"first prepare (--subset-size {SUBSET})": subset,
            "cached prepare()": hit, "cached arrays np.load": arrays}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not vision.FashionMNIST().available_offline(Path(tempfile.gettempdir()) / "no-such-cache"):
        print(f"error: needs {vision.DEBIAN_FASHION_MNIST}; run scripts/ensure_datasets.sh", file=sys.stderr)
        return 1
    import torchvision.datasets  # noqa: F401  # paid once per process: its own row, not in the rounds

    rounds = [_one_round() for _ in range(args.repeats)]
    rows = {"import torchvision": _import_torchvision()}
    rows |= {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    spread = {key: (min(r[key] for r in rounds), max(r[key] for r in rounds)) for key in rounds[0]}
    if args.json:
        print(json.dumps({"dataset": DATASET, "repeats": args.repeats, "median_s": rows,
                          "min_max_s": spread}, indent=2))
        return 0
    print(f"{DATASET}: data preparation, median of {args.repeats} "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs)")
    print(f"{'stage':<34} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for key, seconds in rows.items():
        low, high = spread.get(key, (seconds, seconds))
        print(f"{key:<34} {seconds * 1e3:>10.1f} {low * 1e3:>8.1f} {high * 1e3:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
