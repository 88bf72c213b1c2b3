"""The typed search space: what a trial is (a model family with its hyperparameters, or free
source from an LLM) and how it is trained. Frozen records shared by planners and the assembler.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .metrics import check_goal, is_higher_better

__all__ = [
    "CNNSpec",
    "DataShape",
    "Goal",
    "MLPSpec",
    "ModelSpec",
    "ResNetSpec",
    "TextCNNSpec",
    "TrainingSpec",
    "TransformerSpec",
    "TrialSpec",
    "FAMILIES_BY_MODALITY",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
MAX_TEXT_KERNELS = 6  # parallel Conv1d branches in a TextCNN
MAX_TEXT_KERNEL = 9  # tokens one TextCNN filter spans


class Goal(BaseModel):
    """What the run is for: the dataset, the metric, the target, an optional family hint."""

    model_config = _FROZEN

    text: str = ""
    dataset: str
    metric: str = "accuracy"
    target: float
    higher_is_better: bool = True
    family: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _direction(cls, data):
        # the metric decides which way is better; a stored goal that says otherwise is refused below
        if isinstance(data, dict) and "higher_is_better" not in data:
            data = data | {"higher_is_better": is_higher_better(data.get("metric", "accuracy"))}
        return data

    @model_validator(mode="after")
    def _reachable(self) -> Goal:
        check_goal(self.metric, self.target)  # an unknown metric, or a target outside its range
        if self.higher_is_better != is_higher_better(self.metric):
            raise ValueError(f"higher_is_better={self.higher_is_better} contradicts {self.metric}, "
                             f"where {'larger' if is_higher_better(self.metric) else 'smaller'} is better")
        return self

    @property
    def sign(self) -> float:
        """+1 when larger values are better, -1 for losses: ``sign * value`` is larger-is-better."""
        return 1.0 if self.higher_is_better else -1.0


class DataShape(BaseModel):
    """What a rendered model must fit: the dataset card's shape facts."""

    model_config = _FROZEN

    modality: Literal["image", "tabular", "text"]
    input_shape: tuple[int, ...]
    n_classes: int = Field(ge=2)
    vocab_size: int | None = None
    pad_id: int | None = None


class MLPSpec(BaseModel):
    """Tabular (or flattened images): depth x width fully connected layers."""

    model_config = _FROZEN
    family: Literal["mlp"] = "mlp"
    depth: int = Field(default=2, ge=1, le=6)
    width: int = Field(default=128, ge=8, le=2048)
    dropout: float = Field(default=0.1, ge=0, le=0.7)
    norm: Literal["none", "batch", "layer"] = "none"
    activation: Literal["relu", "gelu", "silu"] = "relu"


class CNNSpec(BaseModel):
    """Images: conv blocks (channels double per block), pooling, a small head."""

    model_config = _FROZEN
    family: Literal["cnn"] = "cnn"
    blocks: int = Field(default=2, ge=1, le=4)
    channels: int = Field(default=32, ge=8, le=256)
    kernel: Literal[3, 5] = 3
    pooling: Literal["max", "avg"] = "max"
    norm: Literal["none", "batch"] = "batch"
    dropout: float = Field(default=0.25, ge=0, le=0.7)
    head_width: int = Field(default=128, ge=16, le=1024)


class ResNetSpec(BaseModel):
    """Images: a small ResNet-style net (residual basic blocks, stages halve the resolution)."""

    model_config = _FROZEN
    family: Literal["resnet"] = "resnet"
    stages: int = Field(default=2, ge=1, le=4)
    blocks_per_stage: int = Field(default=1, ge=1, le=3)
    channels: int = Field(default=32, ge=8, le=128)
    dropout: float = Field(default=0.1, ge=0, le=0.7)


class TextCNNSpec(BaseModel):
    """Text: token embedding, parallel 1-D convolutions, max-over-time pooling."""

    model_config = _FROZEN
    family: Literal["text_cnn"] = "text_cnn"
    embed_dim: int = Field(default=64, ge=8, le=512)
    channels: int = Field(default=64, ge=8, le=512)
    kernel_sizes: tuple[int, ...] = (3, 4, 5)
    dropout: float = Field(default=0.3, ge=0, le=0.7)

    @field_validator("kernel_sizes")
    @classmethod
    def _kernels_render(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        # The assembler renders one Conv1d per size: none, a size < 1 or a wall of them cannot render.
        if not 1 <= len(sizes) <= MAX_TEXT_KERNELS:
            raise ValueError(f"kernel_sizes needs 1 to {MAX_TEXT_KERNELS} sizes, got {len(sizes)}")
        if any(not 1 <= k <= MAX_TEXT_KERNEL for k in sizes):
            raise ValueError(f"each kernel size must be between 1 and {MAX_TEXT_KERNEL}, got {sizes}")
        return sizes


class TransformerSpec(BaseModel):
    """Text: a small Transformer encoder with learned positions and mean pooling."""

    model_config = _FROZEN
    family: Literal["transformer"] = "transformer"
    embed_dim: int = Field(default=64, ge=16, le=512)
    heads: int = Field(default=4, ge=1, le=16)
    layers: int = Field(default=2, ge=1, le=6)
    ff_dim: int = Field(default=128, ge=16, le=2048)
    dropout: float = Field(default=0.1, ge=0, le=0.5)

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerSpec:
        if self.embed_dim % self.heads:
            raise ValueError(f"embed_dim {self.embed_dim} must be divisible by heads {self.heads}")
        return self


ModelSpec = Annotated[MLPSpec | CNNSpec | ResNetSpec | TextCNNSpec | TransformerSpec, Field(discriminator="family")]

FAMILIES_BY_MODALITY: dict[str, tuple[str, ...]] = {
    "tabular": ("mlp",),
    "image": ("cnn", "resnet", "mlp"),
    "text": ("text_cnn", "transformer"),
}


class TrainingSpec(BaseModel):
    model_config = _FROZEN

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(default=1e-3, gt=0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0, le=0.1)
    batch_size: int = Field(default=64, ge=8, le=1024)
    epochs: int = Field(default=5, ge=1, le=200)
    schedule: Literal["none", "cosine", "step"] = "none"
    label_smoothing: float = Field(default=0.0, ge=0, le=0.3)


class TrialSpec(BaseModel):
    """One proposal: exactly one of ``model`` (the typed space) or ``source`` (free code)."""

    model_config = _FROZEN

    model: ModelSpec | None = None
    source: str | None = Field(default=None, max_length=200_000)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    subset_size: int | None = Field(default=None, ge=10)
    origin: Literal["search", "llm", "user", "replay"] = "search"
    rationale: str = Field(default="", max_length=4000)

    @model_validator(mode="after")
    def _one_of(self) -> TrialSpec:
        if (self.model is None) == (self.source is None):
            raise ValueError("a trial has either a model spec or model source, not both or neither")
        return self
