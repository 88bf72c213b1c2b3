"""MLflow: one parent run per research run, a nested run per trial, and one under it per seed.

Every run we create carries our ids as tags (``research_agent.run_id``, ``.trial_id``, ``.seed``),
and one search by the run id finds all of them, so a second sync finds what the first wrote:
exporting twice, exporting after live logging and resuming a run all continue the same MLflow
runs. A trial is written once it has finished (``research_agent.synced``), never again; metric
timestamps come from the registry, so a retried write is the same row (MLflow drops duplicates).
"""

from __future__ import annotations

import logging
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import TrackingError
from ._tracked import TrackedRun, TrialEntry, import_extra, safe_uri

__all__ = ["DEFAULT_EXPERIMENT", "MlflowSink", "SyncCounts"]

DEFAULT_EXPERIMENT = "research-agent"
# MLflow's own defaults (7 retries, backoff factor 2, 120 s a request) hold a command for minutes
# on a server that is down, and it writes a "View run" line to stdout per run it ends, which would
# break `--json`. A user's own settings in the environment win over these.
ENV_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "30", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
TAG = "research_agent"
SYNCED = f"{TAG}.synced"  # set last: a write cut short is redone
_BATCH = 500  # MLflow takes at most 1,000 metrics and 100 params in one log_batch
_PARAM_BATCH = 100
_RUN_STATUS = {"running": "RUNNING", "failed": "FAILED", "interrupted": "KILLED"}  # else FINISHED


@dataclass
class SyncCounts:
    created: int = 0  # MLflow runs created (parent, trials, seeds)
    finished: int = 0  # trials written in full this time
    parent_id: str = ""


def _cause(exc: Exception) -> str:
    text = str(exc)
    if any(m in text for m in ("NewConnectionError", "Connection refused", "Max retries exceeded")):
        return "the server does not answer"
    first = (text.strip().splitlines() or [type(exc).__name__])[0]
    return safe_uri(first)[:200]


class MlflowSink:
    """Writes ``TrackedRun`` views to one experiment of one tracking server."""

    def __init__(self, uri: str | None, experiment: str = DEFAULT_EXPERIMENT):
        for key, value in ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        mlflow = import_extra("mlflow", "mlflow")
        if "MLFLOW_LOGGING_LEVEL" not in os.environ:  # its INFO lines ("Creating initial MLflow database
            logging.getLogger("mlflow").setLevel(logging.WARNING)  # tables...") would break our one-line output
        self._entities = import_extra("mlflow.entities", "mlflow")
        self.uri = uri or mlflow.get_tracking_uri()  # MLflow's own default: sqlite:///mlflow.db here
        self.where = f"MLflow at {safe_uri(self.uri)}, experiment {experiment!r}"
        with self.errors("connect to"):
            self.client = mlflow.tracking.MlflowClient(self.uri)
            exp = self.client.get_experiment_by_name(experiment)
            if exp is not None and exp.lifecycle_stage == "deleted":
                raise TrackingError(f"{self.where} is deleted; restore it (`mlflow experiments restore`) "
                                    "or choose another with --mlflow-experiment")
            self.experiment_id = exp.experiment_id if exp else self.client.create_experiment(experiment)

    @contextmanager
    def errors(self, doing: str):
        """Any failure of MLflow or of the connection becomes one line, credentials taken out."""
        try:
            yield
        except TrackingError:
            raise
        except Exception as exc:  # MLflow raises its own, requests', sqlalchemy's and OSError
            raise TrackingError(f"cannot {doing} {self.where}: {_cause(exc)}; check the URI and that the server "
                                "is up (a recorded run can be sent later: `research-agent export RUN --mlflow URI`)"
                                ) from exc

    def sync(self, run: TrackedRun) -> SyncCounts:
        """Bring the experiment up to date with ``run``: create what is missing, finish what finished."""
        counts = SyncCounts()
        with self.errors("write to"):
            existing = self._existing(run.id)
            parent = existing.get(("run", run.id))
            if parent is None:
                parent = self._create(run.id, run.id, None, run.created_ms, {"kind": "run"}, run.params, counts)
                self.client.log_dict(parent.info.run_id, run.manifest, "manifest.json")
            else:
                self._complete(parent, run.params)
            for trial in run.trials:
                self._sync_trial(run.id, parent.info.run_id, trial, existing, counts)
            self._sync_parent(parent, run)
            counts.parent_id = parent.info.run_id
        return counts

    # -- what is there --------------------------------------------------------------------------
    def _existing(self, run_id: str) -> dict[tuple[str, str], object]:
        found, token = {}, None
        while True:  # run ids match RUN_ID_PATTERN: nothing to quote in the filter
            page = self.client.search_runs([self.experiment_id], f"tags.`{TAG}.run_id` = '{run_id}'",
                                           max_results=1000, page_token=token)
            for r in page:
                tags = r.data.tags
                kind = tags.get(f"{TAG}.kind", "")
                key = {"run": run_id, "trial": tags.get(f"{TAG}.trial_id"),
                       "seed": f"{tags.get(f'{TAG}.trial_id')}/{tags.get(f'{TAG}.seed')}"}.get(kind)
                if key:
                    found.setdefault((kind, key), r)
            token = page.token
            if not token:
                return found

    def _create(self, run_id: str, name: str, parent: str | None, start_ms: int, tags: dict[str, str],
                params: dict[str, str], counts: SyncCounts):
        all_tags = {f"{TAG}.run_id": run_id} | {f"{TAG}.{k}": v for k, v in tags.items()}
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        created = self.client.create_run(self.experiment_id, start_time=start_ms, tags=all_tags, run_name=name)
        items = [self._entities.Param(k, v) for k, v in sorted(params.items())]
        for i in range(0, len(items), _PARAM_BATCH):
            self.client.log_batch(created.info.run_id, params=items[i:i + _PARAM_BATCH])
        counts.created += 1
        return created

    def _complete(self, found, params: dict[str, str]) -> None:
        """Params a write cut short left out of a run we found (MLflow allows the same value again)."""
        missing = {k: v for k, v in params.items() if k not in found.data.params}
        items = [self._entities.Param(k, v) for k, v in sorted(missing.items())]
        for i in range(0, len(items), _PARAM_BATCH):
            self.client.log_batch(found.info.run_id, params=items[i:i + _PARAM_BATCH])

    # -- trials and seeds -----------------------------------------------------------------------
    def _sync_trial(self, run_id: str, parent: str, trial: TrialEntry, existing, counts: SyncCounts) -> None:
        r = existing.get(("trial", trial.id))
        if r is None:
            r = self._create(run_id, f"trial-{trial.number}", parent, trial.created_ms,
                             {"kind": "trial", "trial_id": trial.id, "number": str(trial.number)}, trial.params, counts)
        elif r.data.tags.get(SYNCED) == "finished":
            return  # a finished trial is final: written once
        else:
            self._complete(r, trial.params)
        mlflow_id = r.info.run_id
        self._tags(mlflow_id, trial.tags)
        if not trial.finished:
            return
        for seed in trial.seeds:
            s = existing.get(("seed", f"{trial.id}/{seed.seed}"))
            if s is None:
                s = self._create(run_id, f"trial-{trial.number}-seed-{seed.seed}", mlflow_id, trial.created_ms,
                                 {"kind": "seed", "trial_id": trial.id, "seed": str(seed.seed)},
                                 {"seed": str(seed.seed)}, counts)
            else:
                self._complete(s, {"seed": str(seed.seed)})
            self._tags(s.info.run_id, {"status": seed.status})
            points = [(k, v, 0) for k, v in seed.metrics.items()]
            points += [(k, v, epoch) for k, series in seed.curves.items() for epoch, v in series]
            self._metrics(s.info.run_id, points, trial.finished_ms)
            self.client.set_terminated(s.info.run_id, "FINISHED" if seed.status == "ok" else "FAILED",
                                       end_time=trial.finished_ms)
        self._metrics(mlflow_id, [(k, v, 0) for k, v in trial.metrics.items()], trial.finished_ms)
        self._artifacts(mlflow_id, trial)
        status = {"ok": "FINISHED", "interrupted": "KILLED"}.get(trial.status, "FAILED")
        self.client.set_terminated(mlflow_id, status, end_time=trial.finished_ms)
        self._tags(mlflow_id, {"synced": "finished"})
        counts.finished += 1

    def _artifacts(self, mlflow_id: str, trial: TrialEntry) -> None:
        from ..scoring import plot_learning_curves

        self.client.log_text(mlflow_id, trial.source, "model.py")
        self.client.log_dict(mlflow_id, trial.report, "report.json")
        curves = {s.seed: {k: [v for _, v in series] for k, series in s.curves.items()} for s in trial.seeds
                  if s.curves}
        if curves:  # rendered now, from the stored curves: the plot follows the registry, not a stale file
            with tempfile.TemporaryDirectory(prefix="research-agent-mlflow-") as tmp:
                png = plot_learning_curves(curves, Path(tmp) / "learning_curves.png",
                                           title=f"trial {trial.number}: learning curves")
                self.client.log_artifact(mlflow_id, str(png))

    # -- the parent -----------------------------------------------------------------------------
    def _sync_parent(self, parent, run: TrackedRun) -> None:
        mlflow_id = parent.info.run_id
        self._tags(mlflow_id, run.tags)
        if not run.final:
            if parent.info.status != "RUNNING":  # a resumed run: the same MLflow run goes on
                self.client.update_run(mlflow_id, status="RUNNING")
            return
        mark = f"{run.status}:{run.n_finished}"
        if parent.data.tags.get(SYNCED) == mark:
            return
        self._metrics(mlflow_id, [(k, v, run.n_finished) for k, v in run.metrics.items()], run.updated_ms)
        self.client.log_dict(mlflow_id, run.decision, "decision.json")
        self.client.log_dict(mlflow_id, run.manifest, "manifest.json")  # again: a cut-short creation may lack it
        self.client.set_terminated(mlflow_id, _RUN_STATUS.get(run.status, "FINISHED"), end_time=run.updated_ms)
        self._tags(mlflow_id, {"synced": mark})

    # -- writes ---------------------------------------------------------------------------------
    def _tags(self, mlflow_id: str, tags: dict[str, str]) -> None:
        self.client.log_batch(mlflow_id, tags=[self._entities.RunTag(f"{TAG}.{k}", v) for k, v in sorted(tags.items())])

    def _metrics(self, mlflow_id: str, points: list[tuple[str, float, int]], timestamp_ms: int | None) -> None:
        ts = timestamp_ms or 0
        items = [self._entities.Metric(k, v, ts, step) for k, v, step in points]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(mlflow_id, metrics=items[i:i + _BATCH])
