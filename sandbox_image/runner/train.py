"""Train one seed and predict the test set. Pure torch; no file paths here."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn

from .protocol import JobSpec, SeedCurves


def seed_everything(seed: int) -> torch.Generator:
    """Seed k controls init, dropout (global RNGs) and data order (the returned generator)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def make_optimizer(job: JobSpec, params) -> torch.optim.Optimizer:
    if job.optimizer == "adam":
        return torch.optim.Adam(params, lr=job.lr, weight_decay=job.weight_decay)
    if job.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=job.lr, weight_decay=job.weight_decay)
    return torch.optim.SGD(params, lr=job.lr, momentum=job.momentum, weight_decay=job.weight_decay)


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int, device) -> np.ndarray:
    """Softmax probabilities for ``x`` in eval mode, float32 ``(n, n_classes)``."""
    model.eval()
    chunks = [
        torch.softmax(model(x[i : i + batch_size].to(device)).float(), dim=1).cpu()
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(chunks).numpy().astype(np.float32)


def _evaluate(model, x, y, batch_size, device) -> tuple[float, float]:
    probs = predict_proba(model, x, batch_size, device)
    p = torch.from_numpy(probs).clamp_min(1e-12)
    loss = float(nn.functional.nll_loss(p.log(), y).item())
    acc = float((p.argmax(1) == y).float().mean().item())
    return loss, acc


def train_seed(
    model: nn.Module,
    job: JobSpec,
    data: dict[str, torch.Tensor],
    gen: torch.Generator,
    device,
    on_first_step: Callable[[], None] | None = None,
) -> SeedCurves:
    """Train ``model`` for ``job.epochs`` epochs; return its per-epoch curves."""
    model.to(device)
    opt = make_optimizer(job, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    x, y = data["train_x"], data["train_y"]
    curves = SeedCurves()
    for _ in range(job.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total_loss, correct = 0.0, 0
        for i in range(0, len(x), job.batch_size):
            idx = order[i : i + job.batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            if on_first_step is not None:
                on_first_step()
                on_first_step = None
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.detach().argmax(1) == yb).sum())
        curves.train_loss.append(total_loss / len(x))
        curves.train_acc.append(correct / len(x))
        val_loss, val_acc = _evaluate(model, data["val_x"], data["val_y"], job.batch_size, device)
        curves.val_loss.append(val_loss)
        curves.val_acc.append(val_acc)
        curves.epoch_s.append(time.perf_counter() - start)
    return curves
