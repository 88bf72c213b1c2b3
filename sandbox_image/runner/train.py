"""Train one seed and predict. Pure torch; no file paths here."""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn

from .optim import stepper
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


def make_schedule(job: JobSpec, opt: torch.optim.Optimizer):
    """Stepped once per epoch; ``None`` for a constant learning rate."""
    if job.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=job.epochs)
    if job.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=job.step_size, gamma=job.gamma)
    return None


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int, device) -> np.ndarray:
    """Softmax probabilities for ``x`` in eval mode, float32 ``(n, n_classes)``."""
    model.eval()
    chunks = [
        torch.softmax(model(x[i : i + batch_size].to(device)).float(), dim=1).cpu()
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(chunks).numpy().astype(np.float32)


def _loss_acc(probs: np.ndarray, y: torch.Tensor) -> tuple[float, float]:
    p = torch.from_numpy(probs).clamp_min(1e-12)
    loss = float(nn.functional.nll_loss(p.log(), y).item())
    acc = float((p.argmax(1) == y).float().mean().item())
    return loss, acc


class SeedResult:
    """Curves, the per-epoch validation probabilities, and the early-stopping outcome."""

    def __init__(self) -> None:
        self.curves = SeedCurves()
        self.val_probs: list[np.ndarray] = []
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None


def _train_epoch(model, job, opt, step, loss_fn, x, y, gen, device, on_first_step):
    model.train()
    order = torch.randperm(len(x), generator=gen)
    total_loss, correct, norms, seen = 0.0, 0, [], 0
    for i in range(0, len(x), job.batch_size):
        idx = order[i : i + job.batch_size]
        if len(idx) == 1 and len(x) > 1:
            continue  # a last batch of one row breaks BatchNorm in training mode; it is reshuffled next epoch
        xb, yb = x[idx].to(device), y[idx].to(device)
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        clip = job.grad_clip if job.grad_clip is not None else math.inf
        norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), clip)))
        step()
        if on_first_step is not None:
            on_first_step()
            on_first_step = None
        total_loss += float(loss.detach()) * len(idx)
        correct += int((logits.detach().argmax(1) == yb).sum())
        seen += len(idx)
    return total_loss / max(seen, 1), correct / max(seen, 1), float(np.mean(norms)) if norms else 0.0


def train_seed(
    model: nn.Module,
    job: JobSpec,
    data: dict[str, torch.Tensor],
    gen: torch.Generator,
    device,
    on_first_step: Callable[[], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> SeedResult:
    """Train for ``job.epochs`` (or until early stopping); keep the best weights when stopping early.

    ``on_epoch(epoch, val_acc)`` is called after each epoch's validation predictions.
    """
    model.to(device)
    opt = make_optimizer(job, model.parameters())
    schedule = make_schedule(job, opt)
    step = stepper(opt)  # after the schedule: it wraps opt.step, which the stepper records for it
    loss_fn = nn.CrossEntropyLoss(label_smoothing=job.label_smoothing)
    result, best_loss, best_state, waited = SeedResult(), math.inf, None, 0
    for epoch in range(1, job.epochs + 1):
        start = time.perf_counter()
        result.curves.lr.append(float(opt.param_groups[0]["lr"]))
        loss, acc, norm = _train_epoch(model, job, opt, step, loss_fn, data["train_x"], data["train_y"],
                                       gen, device, on_first_step)
        on_first_step = None
        probs = predict_proba(model, data["val_x"], job.batch_size, device)
        val_loss, val_acc = _loss_acc(probs, data["val_y"])
        for name, value in (("train_loss", loss), ("train_acc", acc), ("val_loss", val_loss),
                            ("val_acc", val_acc), ("grad_norm", norm),
                            ("epoch_s", time.perf_counter() - start)):
            getattr(result.curves, name).append(value)
        result.val_probs.append(probs)
        if on_epoch is not None:
            on_epoch(epoch, val_acc)
        if schedule is not None:
            schedule.step()
        if val_loss < best_loss:
            best_loss, result.best_epoch, waited = val_loss, epoch, 0
            if job.early_stopping_patience is not None:
                best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        if job.early_stopping_patience is not None and waited >= job.early_stopping_patience:
            result.stopped_epoch = epoch
            break
    if best_state is not None:
        model.load_state_dict(best_state)  # test predictions come from the best epoch
    return result
