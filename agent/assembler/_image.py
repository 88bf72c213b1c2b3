"""The image templates: a plain CNN and a small ResNet. Spatial sizes are tracked here, at render
time, so every layer that depends on them is written with the number it needs.
"""

from __future__ import annotations

from ..specs import CNNSpec, DataShape, ResNetSpec

# The CNN head sees at most this many positions per side (adaptive pooling above it): a large
# image with few blocks would otherwise give a head of millions of weights per output unit.
MAX_HEAD_SIDE = 8
# Above this side the ResNet stem downsamples by 4 (stride-2 conv + max pool), as ImageNet
# ResNets do: full-resolution residual stages on 256x256 inputs cost far more than they buy.
LARGE_IMAGE_SIDE = 64
_IN = " " * 12  # inside nn.Sequential( in __init__


def _halve(side: int) -> int:
    """Output side of a stride-2 op with kernel 2 (pool) / kernel 3 pad 1 / kernel 1 pad 0."""
    return (side - 1) // 2 + 1


def _hw(h: int, w: int) -> str:
    return f"{h}x{w}"


def _times(name: str, factor: int) -> str:
    """``NAME * factor`` as written in the source (the constant stays a working knob)."""
    return name if factor == 1 else f"{name} * {factor}"


def render_cnn(spec: CNNSpec, shape: DataShape) -> str:
    c_in, h, w = shape.input_shape
    c, width = c_in, "IN_CHANNELS"
    pool = {"max": "nn.MaxPool2d", "avg": "nn.AvgPool2d"}[spec.pooling]
    batch_norm = spec.norm == "batch"
    layers: list[str] = []
    for b in range(spec.blocks):
        out, out_width = spec.channels * 2**b, _times("CHANNELS", 2**b)
        pools = min(h, w) >= 2  # never pool a side below 1
        after = (h // 2, w // 2) if pools else (h, w)
        size = f"{_hw(h, w)} -> {_hw(*after)}" if pools else f"{_hw(h, w)} (too small to pool)"
        layers += [
            f"{_IN}# block {b + 1}: {c} -> {out} channels, {size}",
            f"{_IN}nn.Conv2d({width}, {out_width}, KERNEL, padding=KERNEL // 2{', bias=False' if batch_norm else ''}),",
            *([f"{_IN}nn.BatchNorm2d({out_width}),"] if batch_norm else []),
            f"{_IN}nn.ReLU(),",
            *([f"{_IN}{pool}(2),"] if pools else []),
        ]
        c, width, (h, w) = out, out_width, after
    if max(h, w) > MAX_HEAD_SIDE:
        capped = (min(h, MAX_HEAD_SIDE), min(w, MAX_HEAD_SIDE))
        adaptive = {"max": "nn.AdaptiveMaxPool2d", "avg": "nn.AdaptiveAvgPool2d"}[spec.pooling]
        layers += [
            f"{_IN}# cap the head's input at {MAX_HEAD_SIDE} positions a side: {_hw(h, w)} -> {_hw(*capped)}",
            f"{_IN}{adaptive}({capped}),",
        ]
        h, w = capped
    return "\n".join([
        f"IN_CHANNELS = {c_in}",
        f"N_CLASSES = {shape.n_classes}",
        f"CHANNELS = {spec.channels}  # of the first block; each later block doubles them",
        f"KERNEL = {spec.kernel}",
        f"DROPOUT = {spec.dropout!r}",
        f"HEAD_WIDTH = {spec.head_width}",
        "# channels x height x width after the last block, for this input",
        f"FLAT_FEATURES = {width} * {h} * {w}",
        "",
        "",
        "class Model(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.features = nn.Sequential(",
        *layers,
        "        )",
        "        self.head = nn.Sequential(",
        f"{_IN}nn.Flatten(),",
        f"{_IN}nn.Dropout(DROPOUT),",
        f"{_IN}nn.Linear(FLAT_FEATURES, HEAD_WIDTH),",
        f"{_IN}nn.ReLU(),",
        f"{_IN}nn.Dropout(DROPOUT),",
        f"{_IN}nn.Linear(HEAD_WIDTH, N_CLASSES),",
        "        )",
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        "        return self.head(self.features(x))",
        "",
    ])


_BLOCK = '''

class _Block(nn.Module):
    """Two 3x3 convs with batch norm plus a shortcut (a 1x1 projection if the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))
'''


def _resnet_stem(spec: ResNetSpec, h: int, w: int) -> tuple[list[str], int, int]:
    bias = "bias=False"
    if min(h, w) <= LARGE_IMAGE_SIDE:
        return [f"{_IN}nn.Conv2d(IN_CHANNELS, WIDTH, 3, padding=1, {bias}),", f"{_IN}nn.BatchNorm2d(WIDTH),",
                f"{_IN}nn.ReLU(),"], h, w
    after = (_halve(_halve(h)), _halve(_halve(w)))
    return [
        f"{_IN}# a large image: downsample by 4 first, {_hw(h, w)} -> {_hw(*after)}",
        f"{_IN}nn.Conv2d(IN_CHANNELS, WIDTH, 3, stride=2, padding=1, {bias}),",
        f"{_IN}nn.BatchNorm2d(WIDTH),",
        f"{_IN}nn.ReLU(),",
        f"{_IN}nn.MaxPool2d(3, stride=2, padding=1),",
    ], *after


def render_resnet(spec: ResNetSpec, shape: DataShape) -> str:
    c_in, h, w = shape.input_shape
    stem, h, w = _resnet_stem(spec, h, w)
    blocks: list[str] = []
    width = "WIDTH"
    for s in range(spec.stages):
        out, out_width = spec.channels * 2**s, _times("WIDTH", 2**s)
        stride = 2 if s > 0 and min(h, w) >= 2 else 1  # downsample between stages while the side allows
        after = (_halve(h), _halve(w)) if stride == 2 else (h, w)
        size = f"{_hw(h, w)} -> {_hw(*after)}" if stride == 2 else _hw(h, w)
        blocks.append(f"{_IN}# stage {s + 1}: {out} channels, {size}")
        blocks.append(f"{_IN}_Block({width}, {out_width}, stride={stride}),")
        blocks += [f"{_IN}_Block({out_width}, {out_width}),"] * (spec.blocks_per_stage - 1)
        width, (h, w) = out_width, after
    return "\n".join([
        f"IN_CHANNELS = {c_in}",
        f"N_CLASSES = {shape.n_classes}",
        f"WIDTH = {spec.channels}  # channels of the stem and the first stage; each later stage doubles them",
        f"DROPOUT = {spec.dropout!r}",
        _BLOCK,
        "",
        "class Model(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.stem = nn.Sequential(",
        *stem,
        "        )",
        "        self.stages = nn.Sequential(",
        *blocks,
        "        )",
        "        self.head = nn.Sequential(",
        f"{_IN}nn.AdaptiveAvgPool2d(1),",
        f"{_IN}nn.Flatten(),",
        f"{_IN}nn.Dropout(DROPOUT),",
        f"{_IN}nn.Linear({width}, N_CLASSES),  # channels of the last stage",
        "        )",
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        "        return self.head(self.stages(self.stem(x)))",
        "",
    ])
