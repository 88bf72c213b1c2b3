"""Property: any spec from the typed space on any shape its modality allows renders to a file
that passes preflight, compiles, builds and trains a step, or is refused with an AssemblyError
for the one reason the space allows (a text kernel longer than the text).

Strategies are read from the pydantic field constraints, so a widened range is tested as soon
as it is written in agent/specs.py.
"""

from __future__ import annotations

import typing

import annotated_types
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from agent.assembler import AssemblyError, preflight, render
from agent.specs import (
    FAMILIES_BY_MODALITY,
    MAX_TEXT_KERNEL,
    MAX_TEXT_KERNELS,
    CNNSpec,
    DataShape,
    MLPSpec,
    ResNetSpec,
    TextCNNSpec,
    TransformerSpec,
)

from ._harness import check_runs

SPEC_CLASSES = {"mlp": MLPSpec, "cnn": CNNSpec, "resnet": ResNetSpec, "text_cnn": TextCNNSpec,
                "transformer": TransformerSpec}
# Fields whose constraints live in a validator, not in the annotation.
CUSTOM_FIELDS = {
    "kernel_sizes": st.lists(st.integers(1, MAX_TEXT_KERNEL), min_size=1, max_size=MAX_TEXT_KERNELS).map(tuple),
}
MAX_SIDE = 40  # images up to 40x40 keep the widest sampled nets fast on a CPU
MAX_TEXT_LEN = 160


def field_strategy(info) -> st.SearchStrategy:
    """A strategy for one pydantic field, from its annotation and its Ge/Gt/Le metadata."""
    if typing.get_origin(info.annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(info.annotation))
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    if info.annotation is int:
        return st.integers(low, high)
    if info.annotation is float:
        return st.floats(low, high, allow_nan=False)
    raise AssertionError(f"no strategy for {info.annotation}; add one to CUSTOM_FIELDS")


@st.composite
def specs(draw, family: str):
    cls = SPEC_CLASSES[family]
    values = {name: draw(CUSTOM_FIELDS[name] if name in CUSTOM_FIELDS else field_strategy(info))
              for name, info in cls.model_fields.items()}
    if cls is TransformerSpec:  # embed_dim must be a multiple of heads: draw the multiple
        embed = cls.model_fields["embed_dim"].metadata
        low = next(m.ge for m in embed if isinstance(m, annotated_types.Ge))
        high = next(m.le for m in embed if isinstance(m, annotated_types.Le))
        heads = values["heads"]
        values["embed_dim"] = heads * draw(st.integers(-(-low // heads), high // heads))
    return cls(**values)


@st.composite
def shapes(draw):
    modality = draw(st.sampled_from(sorted(FAMILIES_BY_MODALITY)))
    n_classes = draw(st.integers(2, 20))
    if modality == "image":
        dims = (draw(st.sampled_from([1, 3])), draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE)))
        return DataShape(modality=modality, input_shape=dims, n_classes=n_classes)
    if modality == "tabular":
        return DataShape(modality=modality, input_shape=(draw(st.integers(1, 64)),), n_classes=n_classes)
    vocab = draw(st.integers(2, 30_000))
    return DataShape(modality=modality, input_shape=(draw(st.integers(1, MAX_TEXT_LEN)),), n_classes=n_classes,
                     vocab_size=vocab, pad_id=draw(st.integers(0, vocab - 1)))


@st.composite
def cases(draw):
    shape = draw(shapes())
    return draw(specs(draw(st.sampled_from(FAMILIES_BY_MODALITY[shape.modality])))), shape


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_any_spec_on_any_fitting_shape_renders_a_model_that_trains(case):
    spec, shape = case
    if spec.family == "text_cnn" and max(spec.kernel_sizes) > shape.input_shape[0]:
        with pytest.raises(AssemblyError, match="longer than the text"):
            render(spec, shape)
        return
    source = render(spec, shape)
    assert render(spec, shape) == source
    check = preflight(source)
    assert check.ok, check.message
    check_runs(source, shape)


FIND = settings(database=None, derandomize=True, max_examples=500)  # deterministic: never flaky


@pytest.mark.parametrize("family", sorted(SPEC_CLASSES))
def test_the_strategy_reaches_every_family(family):
    # Guards the property above: a strategy that never drew a family would prove nothing about it.
    spec, shape = find(cases(), lambda case: case[0].family == family, settings=FIND)
    assert family in FAMILIES_BY_MODALITY[shape.modality]
