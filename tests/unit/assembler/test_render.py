"""render(): every family on every modality it supports, on small, odd and large shapes; the
rendered file passes preflight, compiles, builds with no arguments and trains one step."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import agent.assembler as assembler
from agent.assembler import AssemblyError, preflight, render, source_for
from agent.specs import (
    FAMILIES_BY_MODALITY,
    CNNSpec,
    DataShape,
    MLPSpec,
    ResNetSpec,
    TextCNNSpec,
    TrainingSpec,
    TransformerSpec,
    TrialSpec,
)

from ._harness import build, check_runs, random_input

IMAGE_DIMS = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 7, 5)]
TABULAR_DIMS = [(4,), (30,)]
TEXT_DIMS = [(16, 50), (128, 20_000)]  # (length, vocab_size)

SHAPES = (
    [DataShape(modality="image", input_shape=d, n_classes=10) for d in IMAGE_DIMS]
    + [DataShape(modality="tabular", input_shape=d, n_classes=n) for d, n in zip(TABULAR_DIMS, (3, 2), strict=True)]
    + [DataShape(modality="text", input_shape=(length,), n_classes=n, vocab_size=vocab, pad_id=0)
       for (length, vocab), n in zip(TEXT_DIMS, (2, 4), strict=True)]
)
SPECS = {
    "mlp": [MLPSpec(), MLPSpec(depth=3, norm="batch", activation="gelu"),
            MLPSpec(depth=1, width=8, norm="layer", activation="silu", dropout=0.0)],
    "cnn": [CNNSpec(), CNNSpec(blocks=4, channels=8, kernel=5, pooling="avg", norm="none", dropout=0.0),
            CNNSpec(blocks=1, head_width=16)],
    "resnet": [ResNetSpec(), ResNetSpec(stages=4, blocks_per_stage=2, channels=8, dropout=0.0)],
    "text_cnn": [TextCNNSpec(), TextCNNSpec(embed_dim=8, channels=8, kernel_sizes=(2,), dropout=0.0)],
    "transformer": [TransformerSpec(),
                    TransformerSpec(embed_dim=48, heads=3, layers=1, ff_dim=16, dropout=0.0)],
}
CASES = [
    pytest.param(spec, shape, id=f"{spec.family}{i}-{shape.modality}{'x'.join(map(str, shape.input_shape))}")
    for shape in SHAPES
    for family in FAMILIES_BY_MODALITY[shape.modality]
    for i, spec in enumerate(SPECS[family])
]
DIGITS = DataShape(modality="image", input_shape=(1, 8, 8), n_classes=10)
TEXT = DataShape(modality="text", input_shape=(16,), n_classes=2, vocab_size=50, pad_id=0)


@pytest.mark.parametrize(("spec", "shape"), CASES)
def test_every_family_renders_a_model_that_trains(spec, shape):
    source = render(spec, shape)
    check = preflight(source)
    assert check.ok, check.message
    assert (check.suspicious_imports, check.suspicious_calls) == ([], [])
    compile(source, "model.py", "exec")
    check_runs(source, shape)


@pytest.mark.parametrize("dims", [(1, 1, 1), (1, 2, 9), (2, 9, 2), (3, 3, 3)])
@pytest.mark.parametrize("spec", [CNNSpec(blocks=4, channels=8, kernel=5), ResNetSpec(stages=4, channels=8)])
def test_pooling_and_strides_never_shrink_a_side_below_one(spec, dims):
    check_runs(render(spec, DataShape(modality="image", input_shape=dims, n_classes=3)), _shape_of(dims, 3))


def _shape_of(dims, n_classes):
    return DataShape(modality="image", input_shape=dims, n_classes=n_classes)


def test_large_images_get_a_bounded_cnn_head_and_a_downsampling_resnet_stem():
    big = _shape_of((3, 100, 120), 5)
    cnn = render(CNNSpec(blocks=1, channels=8), big)
    assert "nn.AdaptiveMaxPool2d((8, 8))" in cnn and "FLAT_FEATURES = CHANNELS * 8 * 8" in cnn
    resnet = render(ResNetSpec(stages=1, channels=8), big)
    assert "stride=2" in resnet and "nn.MaxPool2d(3, stride=2, padding=1)" in resnet
    for source in (cnn, resnet):
        check_runs(source, big)


def test_head_in_features_is_computed_for_the_input():
    assert "FLAT_FEATURES = CHANNELS * 2 * 7 * 7" in render(CNNSpec(blocks=2), _shape_of((1, 28, 28), 10))
    assert "FLAT_FEATURES = CHANNELS * 4 * 1 * 1" in render(CNNSpec(blocks=3), _shape_of((3, 7, 5), 10))
    assert "IN_FEATURES = 64  # 1 x 8 x 8 input, flattened" in render(MLPSpec(), DIGITS)


def test_transformer_gives_finite_logits_when_every_row_is_padding():
    import torch

    model = build(render(TransformerSpec(), TEXT))
    tokens = torch.zeros((4, 16), dtype=torch.int64)
    for mode in (model.train, model.eval):
        mode()
        assert torch.isfinite(model(tokens)).all()


@pytest.mark.parametrize("spec", [s for specs in SPECS.values() for s in specs], ids=lambda s: s.family)
def test_rendering_is_deterministic(spec):
    shape = TEXT if spec.family in FAMILIES_BY_MODALITY["text"] else DIGITS
    again = type(spec).model_validate_json(spec.model_dump_json())
    assert render(spec, shape) == render(again, shape)


@pytest.mark.parametrize("spec", [s for specs in SPECS.values() for s in specs], ids=lambda s: s.family)
def test_the_file_is_one_documented_class_with_two_imports(spec):
    shape = TEXT if spec.family in FAMILIES_BY_MODALITY["text"] else DIGITS
    tree = ast.parse(render(spec, shape))
    doc = ast.get_docstring(tree)
    assert f"Family: {spec.family}" in doc
    for name, value in spec.model_dump(exclude={"family"}).items():
        assert f"{name}={value!r}" in " ".join(doc.split())
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert imports == ["import torch", "import torch.nn as nn"]
    (model,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model"]
    init = next(n for n in model.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert [a.arg for a in init.args.args] == ["self"]
    assert any(isinstance(n, ast.FunctionDef) and n.name == "forward" for n in model.body)


def test_a_trial_renders_its_model_and_lists_its_training_settings():
    trial = TrialSpec(model=CNNSpec(), training=TrainingSpec(optimizer="sgd", lr=0.05))
    source = render(trial, DIGITS)
    assert "optimizer='sgd', lr=0.05" in source
    code_after_docstring = source.split('"""', 2)[2]
    assert code_after_docstring == render(trial.model, DIGITS).split('"""', 2)[2]


def test_source_for_takes_free_source_as_is_and_renders_a_spec():
    free = TrialSpec(source="class Model: ...\n", origin="llm")
    assert source_for(free, DIGITS) == "class Model: ...\n"
    trial = TrialSpec(model=MLPSpec())
    assert source_for(trial, DIGITS) == render(MLPSpec(), DIGITS)


def test_a_trial_with_free_source_cannot_be_rendered():
    with pytest.raises(AssemblyError, match="source_for"):
        render(TrialSpec(source="x = 1\n"), DIGITS)


@pytest.mark.parametrize(
    ("spec", "shape", "words"),
    [
        (CNNSpec(), DataShape(modality="tabular", input_shape=(4,), n_classes=2), "choose one of mlp"),
        (ResNetSpec(), TEXT, "text_cnn, transformer"),
        (TransformerSpec(), DIGITS, "cnn, resnet, mlp"),
        (MLPSpec(), TEXT, "'mlp' does not fit text"),
        (CNNSpec(), DataShape(modality="image", input_shape=(28, 28), n_classes=10), "(C, H, W)"),
        (MLPSpec(), DataShape(modality="tabular", input_shape=(2, 3), n_classes=2), "(F,)"),
        (TextCNNSpec(), DataShape(modality="text", input_shape=(16,), n_classes=2), "vocab_size and pad_id"),
        (TextCNNSpec(), DataShape(modality="text", input_shape=(16,), n_classes=2, vocab_size=10, pad_id=10),
         "below vocab_size"),
        (TextCNNSpec(kernel_sizes=(3, 7)), DataShape(modality="text", input_shape=(5,), n_classes=2,
                                                     vocab_size=10, pad_id=0), "kernel_sizes up to 5"),
    ],
)
def test_what_cannot_render_is_one_line_naming_the_fix(spec, shape, words):
    with pytest.raises(AssemblyError) as err:
        render(spec, shape)
    assert isinstance(err.value, ValueError)
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("sizes", [(), (0, 3), (3, 10), (2, 3, 4, 5, 6, 7, 8)])
def test_text_kernel_sizes_that_cannot_render_are_refused_by_the_spec(sizes):
    with pytest.raises(ValidationError, match="kernel"):
        TextCNNSpec(kernel_sizes=sizes)


def test_random_text_input_has_padding_rows():
    tokens = random_input(TEXT, 3)
    assert (tokens[0] == 0).all() and (tokens[2] != 0).all() and (tokens[1] == 0).any()


def test_rendered_files_are_lint_clean_and_formatted(tmp_path):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python (the dev extra has it)")
    for i, (spec, shape) in enumerate(p.values for p in CASES):
        (tmp_path / f"m{i}_{spec.family}.py").write_text(render(spec, shape))
    args = ["--no-cache", "--line-length", "100", str(tmp_path)]
    lint = subprocess.run([ruff, "check", "--select", "E,F,W,I,B,UP", *args], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run([ruff, "format", "--diff", *args], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout


def test_the_package_exports_what_it_documents():
    assert sorted(assembler.__all__) == sorted(
        ["ALLOWED_IMPORT_ROOTS", "AssemblyError", "DEFAULT_ENTRY", "ModelEntry", "PreflightResult", "dataset_args",
         "preflight", "render", "source_for"])
    assert all(hasattr(assembler, name) for name in assembler.__all__)


WIDEST = [
    (MLPSpec(depth=6, width=2048, norm="batch"), _shape_of((3, 32, 32), 100)),
    (CNNSpec(blocks=4, channels=256, kernel=5, head_width=1024), _shape_of((3, 32, 32), 100)),
    (ResNetSpec(stages=4, blocks_per_stage=3, channels=128), _shape_of((3, 32, 32), 100)),
    (TextCNNSpec(embed_dim=512, channels=512, kernel_sizes=(4, 5, 6, 7, 8, 9)), TEXT.model_copy(
        update={"input_shape": (128,), "vocab_size": 20_000})),
    (TransformerSpec(embed_dim=512, heads=16, layers=6, ff_dim=2048), TEXT.model_copy(
        update={"input_shape": (128,), "vocab_size": 20_000})),
]


@pytest.mark.parametrize(("spec", "shape"), WIDEST, ids=lambda v: getattr(v, "family", ""))
def test_the_widest_spec_of_each_family_still_fits_its_shapes(spec, shape):
    # On the meta device: shapes only, no memory or arithmetic (up to ~77M parameters here; the
    # values themselves are checked on smaller nets above and in the property test).
    import torch

    with torch.device("meta"):
        model = build(render(spec, shape))
        logits = model(random_input(shape, 2).to("meta"))
        logits.sum().backward()
    assert tuple(logits.shape) == (2, shape.n_classes)
