"""The text templates: a TextCNN and a small Transformer encoder over token ids (pad id masked)."""

from __future__ import annotations

from ..specs import DataShape, TextCNNSpec, TransformerSpec
from ._errors import AssemblyError

_TEXT_CONSTANTS = """\
VOCAB_SIZE = {vocab_size}
PAD_ID = {pad_id}  # padding token: embeds to zeros and never counts as text
MAX_LEN = {length}  # tokens per row (the dataset pads or truncates to this)
N_CLASSES = {n_classes}
"""

_TEXT_CNN = '''\
EMBED_DIM = {embed_dim}
CHANNELS = {channels}  # filters per kernel size
KERNEL_SIZES = {kernel_sizes}
DROPOUT = {dropout}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, EMBED_DIM, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(nn.Conv1d(EMBED_DIM, CHANNELS, k) for k in KERNEL_SIZES)
        self.dropout = nn.Dropout(DROPOUT)
        self.head = nn.Linear(CHANNELS * len(KERNEL_SIZES), N_CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens).transpose(1, 2)  # (batch, EMBED_DIM, MAX_LEN)
        pooled = [torch.relu(conv(x)).amax(dim=2) for conv in self.convs]  # max over time
        return self.head(self.dropout(torch.cat(pooled, dim=1)))
'''

_TRANSFORMER = '''\
EMBED_DIM = {embed_dim}
HEADS = {heads}  # must divide EMBED_DIM
LAYERS = {layers}
FF_DIM = {ff_dim}
DROPOUT = {dropout}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, EMBED_DIM, padding_idx=PAD_ID)
        self.position = nn.Embedding(MAX_LEN, EMBED_DIM)  # learned positions
        layer = nn.TransformerEncoderLayer(
            EMBED_DIM,
            HEADS,
            dim_feedforward=FF_DIM,
            dropout=DROPOUT,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Nested tensors would only speed up inference, and warn with norm_first: off.
        self.encoder = nn.TransformerEncoder(
            layer, LAYERS, norm=nn.LayerNorm(EMBED_DIM), enable_nested_tensor=False
        )
        self.dropout = nn.Dropout(DROPOUT)
        self.head = nn.Linear(EMBED_DIM, N_CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pad = tokens == PAD_ID  # (batch, length): True where there is no token
        # A row of pads only would mask every key (NaN attention): such rows attend to their pads.
        pad = pad & ~pad.all(dim=1, keepdim=True)
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.embed(tokens) + self.position(positions)
        x = self.encoder(x, src_key_padding_mask=pad)
        # Mean over the real tokens (masked_fill, not a product: a pad's output may hold anything).
        x = x.masked_fill(pad.unsqueeze(-1), 0.0)
        count = (~pad).sum(dim=1, keepdim=True).clamp_min(1).to(x.dtype)
        return self.head(self.dropout(x.sum(dim=1) / count))
'''


def _text_constants(shape: DataShape) -> str:
    (length,) = shape.input_shape
    return _TEXT_CONSTANTS.format(vocab_size=shape.vocab_size, pad_id=shape.pad_id, length=length,
                                  n_classes=shape.n_classes)


def render_text_cnn(spec: TextCNNSpec, shape: DataShape) -> str:
    (length,) = shape.input_shape
    if max(spec.kernel_sizes) > length:
        raise AssemblyError(
            f"kernel size {max(spec.kernel_sizes)} is longer than the text ({length} tokens); "
            f"use kernel_sizes up to {length}"
        )
    body = _TEXT_CNN.format(embed_dim=spec.embed_dim, channels=spec.channels,
                            kernel_sizes=repr(tuple(spec.kernel_sizes)), dropout=repr(spec.dropout))
    return f"{_text_constants(shape)}{body}"


def render_transformer(spec: TransformerSpec, shape: DataShape) -> str:
    body = _TRANSFORMER.format(embed_dim=spec.embed_dim, heads=spec.heads, layers=spec.layers,
                               ff_dim=spec.ff_dim, dropout=repr(spec.dropout))
    return f"{_text_constants(shape)}{body}"
