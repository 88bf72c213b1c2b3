"""Host side of the versioned host<->runner protocol (message table: sandbox_image/PROTOCOL.md).

The runner keeps a stdlib twin in ``sandbox_image/runner/protocol.py``; a unit test checks
that the two agree. Everything the runner writes is untrusted: the model runs in the same
process and can forge any of it, so :class:`RunnerReport` is validated with hard bounds and
only the test predictions (scored on the host) ever count.

PROTOCOL.md's field tables are rendered from these models (each ``Field``'s ``description`` is
its meaning column): after changing one, run ``python -m tests.unit.test_protocol --write``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .defaults import DEFAULT_MAX_PARAMS

__all__ = ["PROTOCOL_VERSION", "JobSpec", "RunnerProgress", "RunnerReport", "SeedReport", "SeedCurves", "seed_dir",
           "seed_file"]

PROTOCOL_VERSION = 4  # 4: the container may start before /job/job.json exists; 3: seeds complete on their own

MAX_EPOCHS = 10_000  # bounds every list the runner may send back
DONE_MARKER = ".done"
JOB_FILE = "job.json"  # in /job, written last by rename: a prepared container's runner waits for it
DONE_LINE = "RESEARCH_AGENT_RUNNER_DONE"
REPORT_FILE = "report.json"
SEED_REPORT_FILE = "seed.json"  # in seed_<k>/: that seed's SeedReport, written before its done marker
SEED_DONE_MARKER = ".done"  # in seed_<k>/, written last: a seed without it is never used
PROGRESS_LINE = "RESEARCH_AGENT_PROGRESS"  # + one JSON RunnerProgress, on the runner's stdout after each epoch
MAX_PROGRESS_LINE = 512  # a longer progress line is ignored (the model can write to the same pipe)
EXIT_OK = 0
EXIT_CRASHED = 1
EXIT_REJECTED = 65
EXIT_DEADLINE = 124
EXIT_RUNNER_ERROR = 70  # the runner failed before it imported the model file (EX_SOFTWARE)



class JobSpec(BaseModel):
    """What the runner trains; written to /job/job.json (read-only in the container)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol_version: int = Field(
        default=PROTOCOL_VERSION,
        description="must equal the runner's `PROTOCOL_VERSION`; any other is refused (exit 70)",
    )
    seeds: list[int] = Field(
        min_length=1,
        description="one training run per seed; seed k sets init, dropout and data order; its files go to `seed_<k>/`",
    )
    epochs: int = Field(ge=1, le=MAX_EPOCHS, description="epochs per seed (fewer when early stopping ends a seed)")
    batch_size: int = Field(ge=1, description="examples per optimizer step, and per prediction batch")
    optimizer: Literal["adam", "adamw", "sgd"] = Field(description="`torch.optim.Adam`, `AdamW` or `SGD`")
    lr: float = Field(gt=0, description="initial learning rate (`schedule` changes it once per epoch)")
    n_classes: int = Field(ge=2, description="the model's output width, checked on one forward pass")
    input_shape: list[int] = Field(
        description="one example's shape, no batch dimension (informational: the runner reads the arrays' shape)",
    )
    deadline_s: float = Field(
        gt=0,
        description="the runner's own deadline, from its start: it exits 124 (the host kills at deadline + grace)",
    )
    threads: int = Field(ge=1, description="torch threads in all, split evenly over the seed workers")
    weight_decay: float = Field(default=0.0, ge=0, description="the optimizer's weight decay")
    momentum: float = Field(default=0.9, ge=0, description="SGD's momentum (ignored by adam/adamw)")
    device: Literal["cpu", "cuda"] = Field(
        default="cpu",
        description="cuda trains on the GPU when the runner sees one, else on the CPU; the report says which",
    )
    max_params: int = Field(default=DEFAULT_MAX_PARAMS, ge=1,
                            description="parameter cap: a bigger model is rejected (exit 65)")
    linger_s: float = Field(
        default=60.0, gt=0,
        description="how long the runner waits for `SIGUSR1` after the done line (message 7)",
    )
    model_file: str = Field(default="model.py", description="the model source's file name in `/job`")
    schedule: Literal["none", "cosine", "step"] = Field(
        default="none",
        description="learning-rate schedule stepped per epoch: none, cosine (`T_max = epochs`) or step (`StepLR`)",
    )
    step_size: int = Field(default=10, ge=1, description="`StepLR`'s period in epochs (schedule step only)")
    gamma: float = Field(default=0.1, gt=0, description="`StepLR`'s factor (schedule step only)")
    label_smoothing: float = Field(default=0.0, ge=0, lt=1, description="`CrossEntropyLoss`'s label smoothing")
    grad_clip: float | None = Field(
        default=None, gt=0,
        description="clip the gradients' global L2 norm to this; null: no clipping (the norm is recorded either way)",
    )
    early_stopping_patience: int | None = Field(
        default=None, ge=1,
        description="stop a seed after this many epochs without a lower val loss; its best epoch predicts; null: off",
    )
    seed_workers: int = Field(
        default=1, ge=1,
        description="processes training seeds in parallel (at most one per seed), `threads // workers` threads each",
    )
    entry: str = Field(
        default="Model", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the class or factory in the model file that builds the model, resolved by the host",
    )
    model_args: dict[str, Any] = Field(
        default_factory=dict,
        description="the entry's keyword arguments (JSON): the user's, plus `num_classes`/`in_channels` from the data",
    )


Floats = list[float | None]


class SeedCurves(BaseModel):
    """Per-epoch curves of one seed, as the runner measured them (the model can forge them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train_loss: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="mean training loss over the epoch's examples (during training)",
    )
    train_acc: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="training accuracy over the epoch's examples (during training, train mode)",
    )
    val_loss: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="validation loss after the epoch; the host recomputes it from `val_probs.npy`",
    )
    val_acc: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="validation accuracy after the epoch; the host recomputes it from `val_probs.npy`",
    )
    epoch_s: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="wall seconds of the epoch (training and validation predictions)",
    )
    grad_norm: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="mean over the epoch's steps of the gradients' global L2 norm, before clipping",
    )
    lr: Floats = Field(
        default_factory=list, max_length=MAX_EPOCHS,
        description="learning rate at the start of the epoch (first parameter group)",
    )


class SeedReport(BaseModel):
    """One seed's entry in the report: its curves and early-stopping outcome."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(description="the seed, as in `JobSpec.seeds`")
    curves: SeedCurves = Field(description="one value per epoch run (`SeedCurves`)")
    best_epoch: int | None = Field(
        default=None,
        description="1-based epoch with the lowest validation loss (the runner's)",
    )
    stopped_epoch: int | None = Field(
        default=None,
        description="the epoch early stopping ended the seed at; null: every epoch ran",
    )
    wall_s: float | None = Field(default=None, description="seconds from seeding to the test predictions written")


class ModelSummary(BaseModel):
    """What the runner's contract check found: parameter counts, output shape, cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params_total: int = Field(
        ge=0,
        description="parameters of the model built once for the contract check (lazy modules materialized)",
    )
    params_trainable: int = Field(ge=0, description="those with `requires_grad`")
    output_shape: list[int] = Field(
        max_length=8,
        description="the output's shape for a batch of two examples: `[2, n_classes]`",
    )
    flops_per_example: int | None = Field(
        default=None, ge=0,
        description="forward FLOPs for one example (`torch.utils.flop_counter`); null if they cannot be counted",
    )
    peak_memory_bytes: int | None = Field(
        default=None, ge=0,
        description="peak resident memory of the runner's main process (cpu), or the CUDA allocator's peak",
    )


class RunnerReport(BaseModel):
    """/out/report.json: untrusted, bounded, informational (curves, summary, timings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol_version: Literal[4] = Field(description="the runner's protocol version")
    torch_version: str = Field(max_length=64, description="`torch.__version__` in the image")
    device: Literal["cpu", "cuda"] = Field(description="the device it trained on")
    started_at: float = Field(description="Unix time the runner received its job (job.json appeared)")
    first_step_at: float | None = Field(
        default=None,
        description="Unix time of the first optimizer step, the earliest over the seeds",
    )
    finished_at: float | None = Field(default=None, description="Unix time the report was written")
    summary: ModelSummary = Field(description="the contract check's findings (`ModelSummary`)")
    seeds: list[SeedReport] = Field(max_length=1000, description="one `SeedReport` per seed, in `JobSpec.seeds` order")
    seed_workers: int = Field(default=1, description="seed worker processes used: `min(seed_workers, len(seeds))`")
    threads_per_worker: int | None = Field(default=None, description="torch threads per seed worker")


class RunnerProgress(BaseModel):
    """One progress line (message 6): where training is. Shown to the user and stored, never scored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(ge=0, description="the seed training now")
    epoch: int = Field(ge=0, le=MAX_EPOCHS, description="epochs this seed has finished")
    epochs: int = Field(ge=1, le=MAX_EPOCHS, description="epochs it will run (fewer if early stopping ends it)")
    val_acc: float | None = Field(default=None, ge=0, le=1,
                                  description="the runner's validation accuracy after that epoch (forgeable)")
    seeds_done: int = Field(ge=0, le=1000, description="seeds of this job finished so far (their `.done` written)")
    seeds: int = Field(ge=1, le=1000, description="seeds in this job")


def seed_dir(seed: int) -> str:
    return f"seed_{seed}"


def seed_file(seed: int, name: str) -> str:
    """A seed's file as the host's collected archive names it: ``seed_<k>/<name>``."""
    return f"{seed_dir(seed)}/{name}"
