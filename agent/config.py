"""Settings validated once at the edge (``extra="forbid"``); errors name the bad field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator

from .defaults import DEFAULT_MAX_PARAMS, home_dir
from .errors import ConfigError
from .metrics import check_goal, metric_range
from .records import MIN_MEMORY_BYTES, SandboxLimits, default_cpus

__all__ = ["EvalConfig", "TrainingConfig", "default_cpus", "home_dir", "parse_gpus", "parse_memory", "parse_model_args",
           "parse_model_ref", "validated"]

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_memory(text: str) -> int:
    """``"512m"``, ``"1g"``, ``"1.5GiB"``, ``"2048"`` (bytes) -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if not m:
        raise ConfigError(
            f"--memory: cannot read {text!r}; use a size such as 512m, 1g or 2GiB"
        )
    value = int(float(m.group(1)) * _UNITS[m.group(2)])
    if value < MIN_MEMORY_BYTES:
        raise ConfigError(f"--memory: {text!r} is below the {MIN_MEMORY_BYTES // 1024**2}m minimum "
                          "a Python runner needs")
    return value


def parse_gpus(text: str | None) -> list[str]:
    """``--gpus all`` or ``--gpus 0,1`` -> device ids for Docker's device request."""
    if not text:
        return []
    text = text.strip().lower()
    if text == "all":
        return ["all"]
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids or not all(re.fullmatch(r"[0-9a-z\-]+", i) for i in ids):
        raise ConfigError(f"--gpus: cannot read {text!r}; use `all` or device ids such as 0,1")
    return ids


class TrainingConfig(BaseModel):
    """Training settings beyond the basics (passed to the runner in the job)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight_decay: float = Field(default=0.0, ge=0)
    schedule: Literal["none", "cosine", "step"] = "none"
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    grad_clip: float | None = Field(default=None, gt=0)
    patience: int | None = Field(default=None, ge=1)
    max_params: int = Field(default=DEFAULT_MAX_PARAMS, ge=1)


class EvalConfig(BaseModel):
    """Everything that decides one ``eval``: recorded with its result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = "digits"
    target_column: str | None = None
    drop_columns: tuple[str, ...] = ()  # table feature columns removed before anything is fitted (ids, leaks)
    seeds: int | Literal["auto"] = 3
    target: float | None = None
    metric: str = "accuracy"
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    parallel_seeds: bool | None = None
    epochs: int = Field(default=5, ge=1, le=10_000)
    batch_size: int = Field(default=64, ge=1, le=65_536)
    lr: float = Field(default=1e-3, gt=0, le=10)
    optimizer: str = Field(default="adam", pattern="^(adam|adamw|sgd)$")
    subset_size: int | None = Field(default=None, ge=10)
    test_size: int | None = Field(default=None, ge=10)
    limits: SandboxLimits = Field(default_factory=SandboxLimits)
    # The class or factory in the model file (``FILE:ENTRY``); None: resolved from the file.
    entry: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    model_args: dict[str, JsonValue] = Field(default_factory=dict)  # keyword arguments for the entry

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        metric_range(metric)  # an unknown name: one line listing the metrics
        return metric

    @model_validator(mode="after")
    def _claimable_goal(self) -> EvalConfig:
        if self.target is None:
            return self
        check_goal(self.metric, self.target)
        if self.seeds != "auto" and self.seeds < 2:  # scoring.plan_for's rule, before any container runs
            raise ValueError(f"--seeds {self.seeds} with --target: one seed never claims a goal (it has no "
                             "spread to bound); use --seeds 2 or more, or auto")
        return self


def parse_model_ref(text: str) -> tuple[Path, str | None]:
    """``model.py`` or ``model.py:ENTRY`` -> ``(path, entry or None)``; a missing file is a usage error."""
    path = Path(text).expanduser()
    if path.is_file():  # a file whose own name has a colon is a file
        return path, None
    head, sep, entry = str(text).rpartition(":")
    if sep and Path(head).expanduser().is_file():
        if not entry.isidentifier():
            raise ConfigError(f"{text}: {entry!r} is not a class or function name; write FILE:NAME, e.g. {head}:Model")
        return Path(head).expanduser(), entry
    where = head if sep and head else text
    raise ConfigError(f"no such model file: {where}")


def parse_model_args(pairs: tuple[str, ...] | list[str], as_json: str | None = None) -> dict:
    """``--model-args JSON`` then ``--model-arg KEY=VALUE`` (VALUE read as JSON, else as a string)."""
    args: dict = {}
    if as_json:
        try:
            args = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--model-args: not JSON ({exc.msg}); "
                              "give an object such as '{\"depth\": 18}'") from None
        if not isinstance(args, dict):
            raise ConfigError("--model-args: give a JSON object such as '{\"depth\": 18}'")
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"--model-arg {pair!r}: write KEY=VALUE with KEY a parameter name, e.g. depth=18")
        try:
            args[key] = json.loads(text)
        except json.JSONDecodeError:
            args[key] = text
    return args


def parse_seeds(text: str) -> int | str:
    """``--seeds 5`` or ``--seeds auto`` (add seeds at the checkpoints until decided)."""
    if str(text).strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"--seeds: {text!r} is neither a number nor `auto`") from None
    if not 1 <= value <= 100:
        raise ConfigError(f"--seeds: {value} is outside 1..100")
    return value


def validated(model_cls, **values):
    """Build a config, turning pydantic's error into one line naming the field."""
    try:
        return model_cls(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        # pydantic puts union branches (``int``, ``literal['auto']``) in the path: skip them.
        names = [p for p in err["loc"] if isinstance(p, str) and not _UNION_TAG.match(p)]
        message = err["msg"].removeprefix("Value error, ")
        if not names:  # a rule across fields (the goal's target and seeds): its own line says which
            raise ConfigError(message) from exc
        raise ConfigError(f"--{names[-1].replace('_', '-')}: {message}") from exc


_UNION_TAG = re.compile(r"^(int|float|str|bool|none|literal\[.*\]|function-.*|constrained-.*)$")
