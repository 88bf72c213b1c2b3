"""The offline search space per modality, expressed as Optuna suggestions (define-by-run)."""

from __future__ import annotations

import math

from ..specs import (
    FAMILIES_BY_MODALITY,
    CNNSpec,
    DataShape,
    MLPSpec,
    ResNetSpec,
    TextCNNSpec,
    TrainingSpec,
    TransformerSpec,
)


def families(shape: DataShape, hint: str | None) -> tuple[str, ...]:
    allowed = FAMILIES_BY_MODALITY[shape.modality]
    if hint in allowed:
        return (hint,)
    return allowed


def epoch_choices(n_train: int) -> list[int]:
    """Full-fidelity epochs: small datasets are cheap per epoch and need more of them."""
    if n_train <= 5_000:
        return [10, 20, 30]
    if n_train <= 20_000:
        return [5, 10, 15]
    return [3, 5, 8]


def _cnn_max_blocks(shape: DataShape) -> int:
    side = min(shape.input_shape[-2:]) if len(shape.input_shape) == 3 else 8
    return max(1, min(3, int(math.log2(max(side, 2)))))


def default_params(family: str, shape: DataShape, n_train: int) -> dict:
    """The family's default configuration in the suggestion names above: the spec defaults (each
    a sensible, well-known setting) with Adam at 1e-3, a cosine schedule (it helps most when the
    epochs are few) and the middle of the epoch choices. The planner tries these first, one per
    family, before TPE starts drawing: a known-good start, as SMAC or Auto-sklearn begin from
    defaults, and one cheap look at every family."""
    t = TrainingSpec()
    choices = epoch_choices(n_train)
    training = {"optimizer": t.optimizer, "lr": t.lr, "weight_decay": t.weight_decay, "batch_size": t.batch_size,
                "epochs": choices[len(choices) // 2], "schedule": "cosine", "label_smoothing": t.label_smoothing}
    if family == "mlp":
        m = MLPSpec()
        model = {"mlp_depth": m.depth, "mlp_width": m.width, "mlp_dropout": m.dropout, "mlp_norm": m.norm,
                 "mlp_activation": m.activation}
    elif family == "cnn":
        c = CNNSpec()
        model = {"cnn_blocks": min(c.blocks, _cnn_max_blocks(shape)), "cnn_channels": c.channels,
                 "cnn_kernel": c.kernel, "cnn_pooling": c.pooling, "cnn_norm": c.norm, "cnn_dropout": c.dropout,
                 "cnn_head": c.head_width}
    elif family == "resnet":
        r = ResNetSpec()
        model = {"resnet_stages": r.stages, "resnet_blocks": r.blocks_per_stage, "resnet_channels": r.channels,
                 "resnet_dropout": r.dropout}
    elif family == "text_cnn":
        x = TextCNNSpec()
        model = {"tcnn_embed": x.embed_dim, "tcnn_channels": x.channels,
                 "tcnn_kernels": ",".join(str(k) for k in x.kernel_sizes), "tcnn_dropout": x.dropout}
    elif family == "transformer":
        f = TransformerSpec()
        model = {"tf_embed": f.embed_dim, "tf_heads": f.heads, "tf_layers": f.layers,
                 "tf_ff_mult": f.ff_dim // f.embed_dim, "tf_dropout": f.dropout}
    else:
        raise ValueError(f"no default configuration for family {family!r}")
    return {"family": family} | model | training


def suggest(trial, shape: DataShape, n_train: int, hint: str | None):
    """Return ``(model spec, training spec)`` drawn from ``trial`` (an optuna trial)."""
    family = trial.suggest_categorical("family", list(families(shape, hint)))
    model = _MODELS[family](trial, shape)
    training = TrainingSpec(
        optimizer=trial.suggest_categorical("optimizer", ["adam", "adamw", "sgd"]),
        lr=trial.suggest_float("lr", 3e-4, 3e-2, log=True),
        weight_decay=trial.suggest_categorical("weight_decay", [0.0, 1e-5, 1e-4, 1e-3]),
        batch_size=trial.suggest_categorical("batch_size", [32, 64, 128]),
        epochs=trial.suggest_categorical("epochs", epoch_choices(n_train)),
        schedule=trial.suggest_categorical("schedule", ["none", "cosine"]),
        label_smoothing=trial.suggest_categorical("label_smoothing", [0.0, 0.1]),
    )
    return model, training


def _mlp(trial, shape: DataShape) -> MLPSpec:
    return MLPSpec(
        depth=trial.suggest_int("mlp_depth", 1, 4),
        width=trial.suggest_categorical("mlp_width", [64, 128, 256, 512]),
        dropout=trial.suggest_categorical("mlp_dropout", [0.0, 0.1, 0.3]),
        norm=trial.suggest_categorical("mlp_norm", ["none", "batch", "layer"]),
        activation=trial.suggest_categorical("mlp_activation", ["relu", "gelu", "silu"]),
    )


def _cnn(trial, shape: DataShape) -> CNNSpec:
    return CNNSpec(
        blocks=trial.suggest_int("cnn_blocks", 1, _cnn_max_blocks(shape)),
        channels=trial.suggest_categorical("cnn_channels", [16, 32, 64]),
        kernel=trial.suggest_categorical("cnn_kernel", [3, 5]),
        pooling=trial.suggest_categorical("cnn_pooling", ["max", "avg"]),
        norm=trial.suggest_categorical("cnn_norm", ["none", "batch"]),
        dropout=trial.suggest_categorical("cnn_dropout", [0.0, 0.25, 0.5]),
        head_width=trial.suggest_categorical("cnn_head", [64, 128, 256]),
    )


def _resnet(trial, shape: DataShape) -> ResNetSpec:
    return ResNetSpec(
        stages=trial.suggest_int("resnet_stages", 1, 3),
        blocks_per_stage=trial.suggest_int("resnet_blocks", 1, 2),
        channels=trial.suggest_categorical("resnet_channels", [16, 32]),
        dropout=trial.suggest_categorical("resnet_dropout", [0.0, 0.1, 0.3]),
    )


def _text_cnn(trial, shape: DataShape) -> TextCNNSpec:
    return TextCNNSpec(
        embed_dim=trial.suggest_categorical("tcnn_embed", [32, 64, 128]),
        channels=trial.suggest_categorical("tcnn_channels", [32, 64, 128]),
        kernel_sizes=tuple(int(k) for k in _kernels(trial)),
        dropout=trial.suggest_categorical("tcnn_dropout", [0.1, 0.3, 0.5]),
    )


def _kernels(trial) -> list[str]:
    return trial.suggest_categorical("tcnn_kernels", ["3", "3,4,5", "2,3,4"]).split(",")


def _transformer(trial, shape: DataShape) -> TransformerSpec:
    embed = trial.suggest_categorical("tf_embed", [32, 64, 128])
    return TransformerSpec(
        embed_dim=embed,
        heads=trial.suggest_categorical("tf_heads", [2, 4]),
        layers=trial.suggest_int("tf_layers", 1, 3),
        ff_dim=embed * trial.suggest_categorical("tf_ff_mult", [2, 4]),
        dropout=trial.suggest_categorical("tf_dropout", [0.0, 0.1, 0.2]),
    )


_MODELS = {"mlp": _mlp, "cnn": _cnn, "resnet": _resnet, "text_cnn": _text_cnn, "transformer": _transformer}
