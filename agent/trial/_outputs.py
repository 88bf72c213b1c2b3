"""Validate what came back from the sandbox: predictions and the (untrusted) runner report."""

from __future__ import annotations

import io
import json

import numpy as np
from pydantic import ValidationError

from ..protocol import REPORT_FILE, SEED_DONE_MARKER, SEED_REPORT_FILE, RunnerReport, SeedReport, seed_file

MAX_REPORT_BYTES = 8 * 1024**2  # curves for thousands of epochs fit easily
MAX_JSON_DEPTH = 32  # deeper nesting is an attack on the parser, not a report
ROW_SUM_TOLERANCE = 1e-3


class InvalidOutput(Exception):
    """One line saying what is wrong with an output file."""


def load_predictions(files: dict[str, bytes], seed: int, n_test: int, n_classes: int) -> np.ndarray:
    """The seed's test probabilities, or ``InvalidOutput`` naming the problem."""
    name = f"seed_{seed}/test_probs.npy"
    if name not in files:
        raise InvalidOutput(f"{name} is missing")
    try:
        arr = np.load(io.BytesIO(files[name]), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidOutput(f"{name} is not a plain .npy array: {str(exc)[:120]}") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        raise InvalidOutput(f"{name} must hold floating-point probabilities, has {arr.dtype}")
    if arr.shape != (n_test, n_classes):
        raise InvalidOutput(f"{name} has shape {arr.shape}, expected ({n_test}, {n_classes})")
    if not np.isfinite(arr).all():
        raise InvalidOutput(f"{name} contains NaN or infinite values")
    if (arr < -ROW_SUM_TOLERANCE).any() or not np.allclose(arr.sum(1), 1.0, atol=ROW_SUM_TOLERANCE):
        raise InvalidOutput(f"{name} rows are not probability distributions")
    return arr.astype(np.float64)


def load_report(files: dict[str, bytes]) -> tuple[RunnerReport | None, str | None]:
    """The runner's report if it is sane, else ``(None, reason)``; never raises."""
    raw = files.get(REPORT_FILE)
    if raw is None:
        return None, "report.json is missing"
    if len(raw) > MAX_REPORT_BYTES:
        return None, "report.json is too large"
    if _depth(raw) > MAX_JSON_DEPTH:
        return None, "report.json is nested too deeply"
    try:
        return RunnerReport.model_validate(json.loads(raw)), None
    except (ValueError, ValidationError, RecursionError) as exc:
        return None, f"report.json is invalid: {str(exc).splitlines()[0][:160]}"


def finished_seeds(files: dict[str, bytes], seeds: list[int]) -> list[int]:
    """The seeds whose done marker came back: each wrote its files before its marker, so a seed
    without one (cut off mid-write, or never reached) is never used."""
    return [s for s in seeds if seed_file(s, SEED_DONE_MARKER) in files]


def load_seed_report(files: dict[str, bytes], seed: int) -> SeedReport | None:
    """A finished seed's own record (``seed_<k>/seed.json``) if it is sane, else None; never raises."""
    raw = files.get(seed_file(seed, SEED_REPORT_FILE))
    if raw is None or len(raw) > MAX_REPORT_BYTES or _depth(raw) > MAX_JSON_DEPTH:
        return None
    try:
        report = SeedReport.model_validate(json.loads(raw))
    except (ValueError, ValidationError, RecursionError):
        return None
    return report if report.seed == seed else None


def _depth(raw: bytes) -> int:
    """Bracket nesting depth, counted in one pass without parsing (strings are skipped).

    Inside a string a backslash escapes exactly the next byte, so ``\\"`` stays in the string
    and ``\\\\"`` ends it. Multi-byte UTF-8 never contains these ASCII bytes.
    """
    depth = best = 0
    in_str = escaped = False
    for byte in raw:
        ch = chr(byte)
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best
