"""From a typed model spec and the data's shape to readable PyTorch source.

``render`` is deterministic (the same spec and shape give the same text, byte for byte) and
the file it writes stands on its own: a docstring naming the family and its
hyperparameters, ``import torch`` / ``import torch.nn as nn`` only, the hyperparameters as
module constants, and one ``class Model(nn.Module)`` built with no arguments whose
``forward`` returns logits ``(batch, n_classes)``. Shapes that depend on the input (a
head's ``in_features``) are computed here, at render time, and written as literals.
"""

from __future__ import annotations

import textwrap

from pydantic import BaseModel

from ..specs import FAMILIES_BY_MODALITY, DataShape, ModelSpec, TrialSpec
from ._errors import AssemblyError
from ._image import render_cnn, render_resnet
from ._mlp import render_mlp
from ._text import render_text_cnn, render_transformer

__all__ = ["AssemblyError", "render", "source_for"]

_RENDERERS = {
    "mlp": render_mlp,
    "cnn": render_cnn,
    "resnet": render_resnet,
    "text_cnn": render_text_cnn,
    "transformer": render_transformer,
}
_TITLES = {
    "mlp": "Multilayer perceptron: the input flattened, then fully connected layers",
    "cnn": "Convolutional network: conv blocks (channels doubling per block), a small head",
    "resnet": "Small ResNet-style network: residual basic blocks, global average pooling",
    "text_cnn": "Text CNN: token embedding, parallel 1-D convolutions, max over time",
    "transformer": "Small Transformer encoder: learned positions, masked mean pooling",
}
_INPUTS = {
    "image": "image {shape} float32, normalized per channel",
    "tabular": "tabular row {shape} float32, standardized / one-hot",
    "text": "token ids {shape} int64, pad id {pad_id}, vocabulary {vocab_size}",
}
_DOC_WIDTH = 96


def render(spec: TrialSpec | ModelSpec, shape: DataShape) -> str:
    """Return the source of ``model.py`` for a model spec (or a trial's model spec) on ``shape``.

    Args:
        spec: a ``ModelSpec`` (``MLPSpec``, ``CNNSpec``...) or a ``TrialSpec`` that carries one;
            a trial's training settings are listed in the docstring for the record.
        shape: the dataset card's shape facts the model must fit.

    Raises:
        AssemblyError: a trial with free source, a family that does not fit the modality, or a
            shape the family cannot take (a text kernel longer than the text, ...).
    """
    training = None
    if isinstance(spec, TrialSpec):
        if spec.model is None:
            raise AssemblyError("this trial carries free model source, not a spec; use source_for(trial, shape)")
        spec, training = spec.model, spec.training
    family = getattr(spec, "family", None)
    if family not in _RENDERERS:
        raise AssemblyError(f"cannot render {type(spec).__name__}: not a model spec from agent.specs")
    _check_fit(family, shape)
    body = _RENDERERS[family](spec, shape)
    return f'"""{_docstring(spec, shape, training)}"""\n\nimport torch\nimport torch.nn as nn\n\n{body}'


def source_for(spec: TrialSpec, shape: DataShape) -> str:
    """The model source of a trial: its free source as is, else its spec rendered for ``shape``."""
    if spec.source is not None:
        return spec.source
    return render(spec.model, shape)


def _check_fit(family: str, shape: DataShape) -> None:
    allowed = FAMILIES_BY_MODALITY[shape.modality]
    if family not in allowed:
        raise AssemblyError(
            f"family {family!r} does not fit {shape.modality} data; choose one of {', '.join(allowed)}"
        )
    dims, want = shape.input_shape, {"image": 3, "tabular": 1, "text": 1}[shape.modality]
    if len(dims) != want or min(dims) < 1:
        expected = "(C, H, W)" if want == 3 else "(F,)" if shape.modality == "tabular" else "(L,)"
        raise AssemblyError(f"{shape.modality} input_shape must be {expected} with positive sides, got {dims}")
    if shape.modality == "text":
        if shape.vocab_size is None or shape.pad_id is None:
            raise AssemblyError("text data needs vocab_size and pad_id in the DataShape (from the dataset meta)")
        if shape.vocab_size < 2 or not 0 <= shape.pad_id < shape.vocab_size:
            raise AssemblyError(
                f"pad_id {shape.pad_id} must be a token id below vocab_size {shape.vocab_size}; check the dataset meta"
            )


def _docstring(spec: BaseModel, shape: DataShape, training: BaseModel | None) -> str:
    family = spec.family
    hyper = ", ".join(f"{k}={v!r}" for k, v in spec.model_dump(exclude={"family"}).items())
    facts = {"shape": tuple(shape.input_shape), "pad_id": shape.pad_id, "vocab_size": shape.vocab_size}
    lines = [
        f"{_TITLES[family]}.",
        "",
        "Rendered by research-agent from a typed spec.",
        f"Family: {family}",
        *_wrap(f"Hyperparameters: {hyper}", "    "),
        f"Input: {_INPUTS[shape.modality].format(**facts)}",
        f"Output: logits (batch, {shape.n_classes})",
    ]
    if training is not None:
        settings = ", ".join(f"{k}={v!r}" for k, v in training.model_dump().items())
        lines += _wrap(f"Training (applied by the runner, not by this file): {settings}", "    ")
    lines += ["", *_wrap(_SHAPE_NOTE), ""]
    return "\n".join(lines)


_SHAPE_NOTE = (
    "Sizes that depend on the input (noted where they are written) were computed for the input "
    "above when this file was rendered; another input size means rendering it again."
)


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, _DOC_WIDTH, subsequent_indent=indent, break_on_hyphens=False)
