"""The typed result of one trial: ``EvalReport`` and its parts, the ``--json`` contract.

``agent.trial`` builds an ``EvalReport`` once per trial; the study, the registry, the API and the
reports read its attributes, and ``to_json()`` is the one serialization (``eval --json``,
``report.json``, the registry's columns). A field that does not apply is left out of the JSON
rather than written as ``null``: the fields every report has are required, the others are written
only when the builder set them (``exclude_unset``), so a trial that failed before any container
has no ``model_summary`` and a seed without a runner report has no ``best_epoch``.

The schema in ``docs/eval-report.schema.json`` is generated from these models
(``make schema``); a test keeps the two equal.
This module is vocabulary, not pipeline: it imports no sandbox or scoring code, so the registry
and the reports can read a report without loading the trial machinery.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import EvalConfig
from .records import SandboxLimits, TrialStatus

__all__ = ["SCHEMA_VERSION", "EvalReport", "GoalReport", "MetricSummary", "ModelInfo", "SandboxRun",
           "SandboxSummary", "SeedResult", "TestBoundRecord", "finite", "json_schema"]

SCHEMA_VERSION = 1  # bumped only when a key changes meaning; new keys keep it


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TestBoundRecord(_Frozen):
    """A seed's one-sided test-set bounds for the goal metric (bootstrap over test rows)."""

    __test__ = False  # not a pytest class, despite its name

    metric: str
    alpha: float = Field(description="the level of each one-sided bound: the plan's alpha per checkpoint")
    lower: float | None
    upper: float | None
    method: Literal["bootstrap"] = "bootstrap"
    n_boot: int


class SeedResult(_Frozen):
    """One seed: host-scored metrics from its test predictions, and its training curves."""

    seed: int
    status: TrialStatus
    message: str
    metrics: dict[str, float | None] = Field(description="host-scored, per metric; empty unless ok")
    curves: dict[str, list[float | None]] = Field(
        description="per epoch; val_loss/val_acc recomputed on the host when val_probs.npy came back")
    undefined: dict[str, str] | None = Field(default=None, description="metrics undefined for this seed, and why")
    per_class: dict[str, list[Any]] | None = Field(default=None,
                                                   description="class names and per-class scores, index order")
    confusion_matrix: list[list[int]] | None = None
    dynamics: dict[str, Any] | None = Field(default=None, description="learning dynamics (scoring.learning_dynamics)")
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    curves_note: str | None = Field(default=None, description="why validation curves are the runner's own")
    test_bound: TestBoundRecord | None = None


class MetricSummary(_Frozen):
    """One metric across the ``ok`` seeds. Two-sided 95% intervals (Student t over seeds)."""

    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    ci_low_with_test_noise: float | None = Field(
        default=None, description="the wider of the seed interval and a test-set interval (proportion metrics)")
    ci_high_with_test_noise: float | None = None


class GoalReport(_Frozen):
    """The goal decision (scoring.decide_goal) for ``metric``: one-sided bounds at each planned look."""

    decision: Literal["achieved", "not_achieved", "undecided", "inconclusive"]
    metric: str
    n: int
    checkpoint: int | None
    mean: float | None
    lower_bound: float | None = Field(
        description="the bound the claim rests on: the lower of the seed and test-set bounds")
    upper_bound: float | None
    target: float
    higher_is_better: bool
    alpha: float
    alpha_per_checkpoint: float
    next_checkpoint: int | None
    reason: str
    seed_lower_bound: float | None = None
    seed_upper_bound: float | None = None
    test_lower_bound: float | None = None
    test_upper_bound: float | None = None
    test_bound_method: str | None = None


class ModelInfo(_Frozen):
    path: str
    sha256: str
    entry: dict[str, Any] | None = Field(default=None, description="the class or factory chosen, and its arguments")


class SandboxRun(_Frozen):
    """One container run (a batch of seeds), as the host observed it."""

    seeds: list[int]
    status: TrialStatus
    exit_code: int | None
    oom_killed: bool
    we_killed: bool
    wall_s: float


class SandboxSummary(_Frozen):
    """Where the trial ran. The top-level exit fields describe the last container run."""

    model_config = ConfigDict(frozen=True, extra="allow")  # a sandbox backend may describe more

    limits: SandboxLimits
    backend: str | None = None
    image: str | None = None
    image_tag: str | None = None
    image_labels: dict[str, str] | None = None
    seccomp_sha256: str | None = None
    runtime: str | None = None
    runs: list[SandboxRun] | None = None
    exit_code: int | None = None
    oom_killed: bool | None = None
    we_killed: bool | None = None
    wall_s: float | None = Field(default=None, description="container seconds over all runs")
    stderr_tail: str | None = Field(default=None, description="untrusted: the model's own output; empty when ok")


class EvalReport(_Frozen):
    """What one trial produced: status decided by the host, seeds scored by the host."""

    schema_version: Literal[1]
    status: TrialStatus
    message: str
    flags: list[str]
    model: ModelInfo
    dataset: dict[str, Any] = Field(description="the dataset card: sizes, class names, fingerprint")
    config: EvalConfig
    seeds: list[SeedResult]
    aggregate: dict[str, MetricSummary]
    sandbox: SandboxSummary
    preflight: dict[str, list[str]] | None = Field(default=None,
                                                   description="suspicious imports/calls (reported, not enforced)")
    model_summary: dict[str, Any] | None = None
    timing: dict[str, float] | None = None
    goal: GoalReport | None = None
    artifacts: dict[str, str] | None = Field(default=None, description="plots written next to report.json (--out)")

    @property
    def ok(self) -> bool:
        return self.status is TrialStatus.OK

    @property
    def ok_seeds(self) -> list[SeedResult]:
        return [s for s in self.seeds if s.status is TrialStatus.OK]

    def metric(self, name: str = "accuracy") -> MetricSummary | None:
        """The across-seed summary of ``name``, or ``None`` when no ``ok`` seed has it."""
        return self.aggregate.get(name)

    def seed_values(self, metric: str) -> dict[int, float]:
        """``{seed: value}`` of ``metric`` over the ``ok`` seeds where it is defined."""
        return {s.seed: v for s in self.ok_seeds if (v := s.metrics.get(metric)) is not None}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as plain data: NaN and infinities become ``null``."""
        return finite(self.model_dump(mode="json", exclude_unset=True))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def finite(value: Any) -> Any:
    """Plain data that strict JSON can hold: non-finite floats become ``None`` (NaN is not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``eval --json`` and ``report.json`` (what ``to_json`` writes)."""
    schema = EvalReport.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "research-agent/eval-report/1", "title": "research-agent eval report"} | schema
