"""The runner's side of the host<->runner protocol (see ../PROTOCOL.md).

Stdlib only: the runner never imports the host package. The host keeps the pydantic twin of
these records in ``agent/protocol.py``; a unit test checks that both sides agree on the
version and on every field name.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields

PROTOCOL_VERSION = 4  # 4: the container may start before /job/job.json exists; 3: seeds complete on their own

# Paths inside the container (the host mounts/creates exactly these).
JOB_DIR = "/job"
DATA_DIR = "/data"
OUT_DIR = "/out"
DONE_MARKER = ".done"
JOB_FILE = "job.json"  # written last, by rename: once it exists the job (and the model file) is whole
# A prepared container starts before it has a job (its imports done while another trial runs):
# how long it waits for job.json before it exits on its own (a host that died; `resume` reaps it).
JOB_WAIT_S = 900.0
JOB_POLL_S = 0.01  # how often it looks for job.json meanwhile (a stat; nothing measurable)
# Written on the runner's private copy of stdout (the model's prints go to stderr) once /out
# is complete: the host's cue to copy /out out of the live container. Not a status.
DONE_LINE = "RESEARCH_AGENT_RUNNER_DONE"
REPORT_FILE = "report.json"
SEED_REPORT_FILE = "seed.json"  # in seed_<k>/: that seed's record, as report.json's seeds[i]
SEED_DONE_MARKER = ".done"  # in seed_<k>/, written last: a seed without it is never used
# One line per epoch on the protocol pipe: this prefix, a space, one JSON RunnerProgress. The
# supervisor passes on only such lines, at most MAX_PROGRESS_LINE bytes; the host ignores the rest.
PROGRESS_LINE = "RESEARCH_AGENT_PROGRESS"
MAX_PROGRESS_LINE = 512

# Advisory exit codes. The host decides the status from what it observes; these only pick
# the message for failures the runner itself detected. A model can fake any of them, which
# can only make its own result worse.
EXIT_OK = 0
EXIT_CRASHED = 1
EXIT_REJECTED = 65  # the model file does not satisfy the model contract (EX_DATAERR)
EXIT_DEADLINE = 124  # the runner's own deadline (the host's kill comes later)
# Used only before the model file is imported: a failure there is ours (the host's infra_error).
# After the import the model shares this process and could exit with it too; that only turns
# its own trial into an unscored infra_error, never ok.
EXIT_RUNNER_ERROR = 70  # EX_SOFTWARE

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "cosine", "step")


def wait_for_job(job_dir: str, wait_s: float = JOB_WAIT_S) -> float | None:
    """The time job.json appeared (now, if it is there already); None after ``wait_s`` without it."""
    path, give_up = os.path.join(job_dir, JOB_FILE), time.monotonic() + wait_s
    while not os.path.exists(path):
        if time.monotonic() >= give_up:
            return None
        time.sleep(JOB_POLL_S)
    return time.time()


class JobError(ValueError):
    """job.json is not a valid job for this runner."""


@dataclass(frozen=True)
class JobSpec:
    """What to train: written by the host as /job/job.json."""

    protocol_version: int
    seeds: list[int]
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    n_classes: int
    input_shape: list[int]
    deadline_s: float
    threads: int
    weight_decay: float = 0.0
    momentum: float = 0.9
    device: str = "cpu"
    max_params: int = 50_000_000
    linger_s: float = 60.0
    model_file: str = "model.py"
    schedule: str = "none"
    step_size: int = 10
    gamma: float = 0.1
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    early_stopping_patience: int | None = None
    seed_workers: int = 1
    entry: str = "Model"  # the class or factory in the model file; the host resolved it
    model_args: dict = field(default_factory=dict)  # keyword arguments for the entry (JSON values)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JobError(f"job.json is not JSON: {exc}") from exc
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise JobError(f"job.json has unknown fields: {unknown}")
        try:
            job = cls(**raw)
        except TypeError as exc:
            raise JobError(f"job.json is incomplete: {exc}") from exc
        job.validate()
        return job

    def validate(self) -> None:
        if self.protocol_version != PROTOCOL_VERSION:
            raise JobError(
                f"protocol version {self.protocol_version} != runner's {PROTOCOL_VERSION}"
            )
        if not self.seeds or self.epochs < 1 or self.batch_size < 1 or self.n_classes < 2:
            raise JobError("seeds, epochs, batch_size and n_classes must be positive")
        if self.optimizer not in OPTIMIZERS:
            raise JobError(f"unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        if self.device not in ("cpu", "cuda"):
            raise JobError(f"unknown device {self.device!r}")
        if self.schedule not in SCHEDULES:
            raise JobError(f"unknown schedule {self.schedule!r}; expected one of {SCHEDULES}")
        if self.seed_workers < 1:
            raise JobError("seed_workers must be at least 1")
        if not self.entry.isidentifier() or not isinstance(self.model_args, dict):
            raise JobError("entry must be an identifier and model_args an object")


@dataclass
class SeedCurves:
    """Per-epoch training curves of one seed (untrusted once written: the model shares the process)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_s: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RunnerProgress:
    """One progress line (message 6): where training is. Informational; the model can forge it."""

    seed: int
    epoch: int  # epochs this seed has finished
    epochs: int
    val_acc: float | None
    seeds_done: int  # seeds whose .done is written
    seeds: int

    def line(self) -> str:
        record = asdict(self)
        if record["val_acc"] is not None and not math.isfinite(record["val_acc"]):
            record["val_acc"] = None  # NaN is no JSON; the host would drop the whole line
        return f"{PROGRESS_LINE} {json.dumps(record)}"


def seed_dir(seed: int) -> str:
    return f"seed_{seed}"


def seed_file(seed: int, name: str) -> str:
    return f"{seed_dir(seed)}/{name}"
