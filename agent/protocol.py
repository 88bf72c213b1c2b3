"""Host side of the versioned host<->runner protocol (message table: sandbox_image/PROTOCOL.md).

The runner keeps a stdlib twin in ``sandbox_image/runner/protocol.py``; a unit test checks
that the two agree. Everything the runner writes is untrusted: the model runs in the same
process and can forge any of it, so :class:`RunnerReport` is validated with hard bounds and
only the test predictions (scored on the host) ever count.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PROTOCOL_VERSION", "JobSpec", "RunnerReport", "SeedReport", "SeedCurves"]

PROTOCOL_VERSION = 2  # 2: the host names the model entry and its constructor arguments

MAX_EPOCHS = 10_000  # bounds every list the runner may send back
DONE_MARKER = ".done"
DONE_LINE = "RESEARCH_AGENT_RUNNER_DONE"
REPORT_FILE = "report.json"
EXIT_OK = 0
EXIT_CRASHED = 1
EXIT_REJECTED = 65
EXIT_DEADLINE = 124
EXIT_RUNNER_ERROR = 70  # the runner failed before it imported the model file (EX_SOFTWARE)


class JobSpec(BaseModel):
    """What the runner trains; written to /job/job.json (read-only in the container)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol_version: int = PROTOCOL_VERSION
    seeds: list[int] = Field(min_length=1)
    epochs: int = Field(ge=1, le=MAX_EPOCHS)
    batch_size: int = Field(ge=1)
    optimizer: Literal["adam", "adamw", "sgd"]
    lr: float = Field(gt=0)
    n_classes: int = Field(ge=2)
    input_shape: list[int]
    deadline_s: float = Field(gt=0)
    threads: int = Field(ge=1)
    weight_decay: float = Field(default=0.0, ge=0)
    momentum: float = Field(default=0.9, ge=0)
    device: Literal["cpu", "cuda"] = "cpu"
    max_params: int = Field(default=50_000_000, ge=1)
    linger_s: float = Field(default=60.0, gt=0)
    model_file: str = "model.py"
    schedule: Literal["none", "cosine", "step"] = "none"
    step_size: int = Field(default=10, ge=1)
    gamma: float = Field(default=0.1, gt=0)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    grad_clip: float | None = Field(default=None, gt=0)
    early_stopping_patience: int | None = Field(default=None, ge=1)
    seed_workers: int = Field(default=1, ge=1)
    entry: str = Field(default="Model", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    model_args: dict[str, Any] = Field(default_factory=dict)


Floats = list[float | None]


class SeedCurves(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    train_loss: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)
    train_acc: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)
    val_loss: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)
    val_acc: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)
    epoch_s: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)
    grad_norm: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)
    lr: Floats = Field(default_factory=list, max_length=MAX_EPOCHS)


class SeedReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int
    curves: SeedCurves
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    wall_s: float | None = None


class ModelSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    params_total: int = Field(ge=0)
    params_trainable: int = Field(ge=0)
    output_shape: list[int] = Field(max_length=8)
    flops_per_example: int | None = Field(default=None, ge=0)
    peak_memory_bytes: int | None = Field(default=None, ge=0)


class RunnerReport(BaseModel):
    """/out/report.json: untrusted, bounded, informational (curves, summary, timings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol_version: Literal[2]
    torch_version: str = Field(max_length=64)
    device: Literal["cpu", "cuda"]
    started_at: float
    first_step_at: float | None = None
    finished_at: float | None = None
    summary: ModelSummary
    seeds: list[SeedReport] = Field(max_length=1000)
    seed_workers: int = 1
    threads_per_worker: int | None = None
