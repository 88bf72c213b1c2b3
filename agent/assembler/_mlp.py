"""The MLP template: flatten, ``depth`` x (Linear, norm, activation, dropout), a linear head."""

from __future__ import annotations

import math

from ..specs import DataShape, MLPSpec

_ACTIVATIONS = {"relu": "nn.ReLU", "gelu": "nn.GELU", "silu": "nn.SiLU"}
_NORMS = {"none": None, "batch": "nn.BatchNorm1d(WIDTH)", "layer": "nn.LayerNorm(WIDTH)"}
_IN = " " * 12  # inside nn.Sequential( in __init__


def render_mlp(spec: MLPSpec, shape: DataShape) -> str:
    dims = shape.input_shape
    where = f"{' x '.join(map(str, dims))} input, flattened" if len(dims) > 1 else "features per row"
    layers = [f"{_IN}nn.Flatten(),"]
    for i in range(spec.depth):
        layers += [
            f"{_IN}# hidden layer {i + 1}",
            f"{_IN}nn.Linear({'IN_FEATURES' if i == 0 else 'WIDTH'}, WIDTH),",
            *([f"{_IN}{_NORMS[spec.norm]},"] if _NORMS[spec.norm] else []),
            f"{_IN}{_ACTIVATIONS[spec.activation]}(),",
            f"{_IN}nn.Dropout(DROPOUT),",
        ]
    layers.append(f"{_IN}nn.Linear(WIDTH, N_CLASSES),")
    return "\n".join([
        f"IN_FEATURES = {math.prod(dims)}  # {where}",
        f"N_CLASSES = {shape.n_classes}",
        f"WIDTH = {spec.width}",
        f"DROPOUT = {spec.dropout!r}",
        "",
        "",
        "class Model(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.net = nn.Sequential(",
        *layers,
        "        )",
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        "        return self.net(x)",
        "",
    ])
