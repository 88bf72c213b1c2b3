"""Turn one sandbox batch's files into scored seeds: predictions, host-side curves, metrics."""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np

from .. import scoring
from ..data import PreparedDataset
from ..protocol import RunnerReport
from ..records import SandboxOutcome, TrialStatus
from ..results import SeedResult
from ._outputs import InvalidOutput, load_predictions, load_report, load_seed_report


class BatchScore(NamedTuple):
    """One container run's seeds, scored; ``problems`` lists invalid outputs (first one decides)."""

    seeds: list[SeedResult]
    probs: dict[int, np.ndarray]
    runner: RunnerReport | None
    report_problem: str | None
    problems: list[str]


def score_batch(outcome: SandboxOutcome, seeds: list[int], data: PreparedDataset) -> BatchScore:
    """Score ``seeds`` of one container run: all of a complete run, or the finished ones of a run that
    ended otherwise (their records then come from each seed's own ``seed.json``)."""
    y_test = data.test_labels()
    y_val = data.val_labels()
    if outcome.status is TrialStatus.OK:
        runner, report_problem = load_report(outcome.files)
        by_seed = {s.seed: s for s in runner.seeds} if runner else {}
    else:  # no report.json: the job never finished
        runner, report_problem = None, None
        by_seed = {s: rec for s in seeds if (rec := load_seed_report(outcome.files, s)) is not None}
    entries, probs_by_seed, problems = [], {}, []
    for seed in seeds:
        rec = by_seed.get(seed)
        curves = rec.curves.model_dump() if rec else {}
        curves, curve_note = _host_val_curves(outcome.files, seed, curves, y_val, data.n_classes)
        try:
            probs = load_predictions(outcome.files, seed, data.n_test, data.n_classes)
        except InvalidOutput as exc:
            problems.append(str(exc))
            entries.append(SeedResult(seed=seed, status=TrialStatus.INVALID_OUTPUT, message=str(exc), metrics={},
                                      curves=curves))
            continue
        report = scoring.classification_report(probs, y_test)
        extra = {"best_epoch": rec.best_epoch, "stopped_epoch": rec.stopped_epoch} if rec is not None else {}
        if curve_note:
            extra["curves_note"] = curve_note
        entries.append(SeedResult(
            seed=seed, status=TrialStatus.OK, message="", metrics=report["scalars"], curves=curves,
            undefined=report["undefined"], per_class={"class": list(data.class_names)} | report["per_class"],
            confusion_matrix=report["confusion_matrix"], dynamics=scoring.learning_dynamics(curves).to_dict(), **extra))
        probs_by_seed[seed] = probs
    return BatchScore(entries, probs_by_seed, runner, report_problem, problems)


def _host_val_curves(files, seed, curves: dict, y_val: np.ndarray, n_classes: int):
    """Recompute validation loss/accuracy on the host from the per-epoch validation probabilities.

    The runner's own numbers are the model's to forge; these come from the probabilities and the
    host's copy of the validation labels. Train curves stay the runner's (marked in the report).
    """
    raw = files.get(f"seed_{seed}/val_probs.npy")
    if raw is None:
        return curves, "validation curves from the runner (no val_probs.npy)"
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return curves, "val_probs.npy unreadable; validation curves from the runner"
    if arr.ndim != 3 or arr.shape[1:] != (len(y_val), n_classes) or arr.dtype.kind != "f":
        return curves, f"val_probs.npy has shape {arr.shape}; validation curves from the runner"
    p = np.clip(np.nan_to_num(arr.astype(np.float64), nan=0.0), 1e-12, 1.0)
    rows = np.arange(len(y_val))
    losses = [float(-np.log(p[e, rows, y_val]).mean()) if np.isfinite(arr[e]).all() else None
              for e in range(len(p))]
    accs = [float((arr[e].argmax(1) == y_val).mean()) for e in range(len(p))]
    return curves | {"val_loss": losses, "val_acc": accs}, ""
