"""Run rendered model source the way the runner would, on the host's torch (a dev-time check).

torch is imported lazily: the host package does not depend on it, only these tests do.
"""

from __future__ import annotations

from agent.specs import DataShape

TRAIN_BATCH = 3  # > 1: BatchNorm needs two values per channel in training mode


def random_input(shape: DataShape, batch: int, seed: int = 0):
    """Inputs of the dataset's dtype: float32 images/rows; int64 tokens with trailing pads."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    if shape.modality != "text":
        return torch.randn((batch, *shape.input_shape), generator=gen)
    (length,) = shape.input_shape
    tokens = torch.randint(0, shape.vocab_size - 1, (batch, length), generator=gen)
    tokens += (tokens >= shape.pad_id).long()  # real tokens never equal the pad id
    for row in range(batch):
        real = length * row // max(batch - 1, 1)  # row 0: padding only; the last row: no padding
        tokens[row, real:] = shape.pad_id
    return tokens


def build(source: str):
    """Exec the source as the runner imports model.py and build ``Model()`` with no arguments."""
    namespace: dict = {"__name__": "submitted_model"}
    exec(compile(source, "model.py", "exec"), namespace)  # noqa: S102 - our own rendered source
    return namespace["Model"]()


def check_runs(source: str, shape: DataShape) -> None:
    """Build, forward (train and eval mode), backward: (batch, n_classes) finite logits, finite grads."""
    import torch

    torch.manual_seed(0)
    model = build(source)
    model.train()
    logits = model(random_input(shape, TRAIN_BATCH))
    _check_logits(logits, TRAIN_BATCH, shape.n_classes)
    target = torch.arange(TRAIN_BATCH) % shape.n_classes
    torch.nn.functional.cross_entropy(logits, target).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads, "backward reached no parameter"
    assert all(torch.isfinite(g).all() for g in grads), "non-finite gradient"
    model.eval()
    with torch.no_grad():  # inference (PyTorch's fast paths), down to one row: BatchNorm's running stats
        for batch in (TRAIN_BATCH, 1):
            _check_logits(model(random_input(shape, batch, seed=1)), batch, shape.n_classes)


def _check_logits(logits, batch: int, n_classes: int) -> None:
    import torch

    assert isinstance(logits, torch.Tensor) and logits.dtype.is_floating_point
    assert tuple(logits.shape) == (batch, n_classes), f"logits {tuple(logits.shape)}, want {(batch, n_classes)}"
    assert torch.isfinite(logits).all(), f"non-finite logits: {logits}"

