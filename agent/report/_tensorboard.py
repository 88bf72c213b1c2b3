"""TensorBoard: event files per trial and seed, and an hparams table of the trials.

Layout under ``DIR/<run id>/``: ``trial-<n>/seed-<s>/`` holds that seed's curves (step = epoch)
and its host-scored metrics (step 0), so TensorBoard overlays a trial's seeds; ``hparams/trial-<n>/``
is one session of the hparams table (the trial's settings, status, metric mean and interval).
The writer is tensorboardX, which needs no torch on the host. An export replaces the run's folder
as a whole (written beside it, then swapped in), so exporting twice leaves one copy.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..errors import TrackingError
from ._tracked import TrackedRun, TrialEntry, import_extra

__all__ = ["export_tensorboard"]

MARKER = ".research-agent-export"  # a folder without it is not ours to replace


def export_tensorboard(run: TrackedRun, out_dir: Path, metric: str) -> tuple[Path, int]:
    """Write ``run`` under ``out_dir/<run id>``; returns that folder and the number of trials written."""
    writer_cls = import_extra("tensorboardX", "tensorboard").SummaryWriter
    hparams_pb = import_extra("tensorboardX.summary", "tensorboard").hparams
    target = out_dir / run.id
    if target.exists() and not (target / MARKER).exists():
        raise TrackingError(f"{target} exists and was not written by research-agent; choose another --tensorboard DIR")
    finished = [t for t in run.trials if t.finished]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{run.id}.", dir=out_dir))
        try:
            (staging / MARKER).write_text(f"TensorBoard export of {run.id}; re-exporting replaces this folder\n")
            for trial in finished:
                _write_trial(writer_cls, staging, trial)
            _write_hparams(writer_cls, hparams_pb, staging / "hparams", finished, metric)
            _swap(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise TrackingError(f"cannot write TensorBoard files under {out_dir} ({exc.strerror or exc}); "
                            "choose a writable --tensorboard DIR") from exc
    return target, len(finished)


def _write_trial(writer_cls, root: Path, trial: TrialEntry) -> None:
    for seed in trial.seeds:
        with writer_cls(logdir=str(root / f"trial-{trial.number}" / f"seed-{seed.seed}")) as w:
            for key, series in seed.curves.items():
                for epoch, value in series:
                    w.add_scalar(key, value, epoch)
            for key, value in seed.metrics.items():
                w.add_scalar(f"test/{key}", value, 0)


def _write_hparams(writer_cls, hparams_pb, root: Path, trials: list[TrialEntry], metric: str) -> None:
    """One experiment over the union of the trials' settings (families differ in theirs), then one
    session per trial. tensorboardX's ``add_hparams`` writes an experiment per session, and
    TensorBoard shows the columns of the first one only."""
    wanted = (metric, f"{metric}.ci_low", f"{metric}.ci_high", f"{metric}.n")
    sessions, columns, metrics = [], {}, {}
    for trial in trials:
        hparams = dict(trial.hparams) | {"status": trial.status, "number": trial.number}
        values = {f"hparam/{k}": trial.metrics[k] for k in wanted if k in trial.metrics}
        sessions.append((trial.number, hparams, values))
        for k, v in hparams.items():
            columns.setdefault(k, v)
        metrics |= dict.fromkeys(values, 0.0)
    if not sessions:
        return
    experiment, _, _ = hparams_pb(columns, metrics)
    with writer_cls(logdir=str(root)) as w:
        w.file_writer.add_summary(experiment)
    for number, hparams, values in sessions:
        _, start, end = hparams_pb(hparams, values)
        with writer_cls(logdir=str(root / f"trial-{number}")) as w:
            w.file_writer.add_summary(start)
            w.file_writer.add_summary(end)
            for k, v in values.items():
                w.add_scalar(k, v, 0)


def _swap(staging: Path, target: Path) -> None:
    """Put the new folder in place of the old one; the old one is removed only after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
