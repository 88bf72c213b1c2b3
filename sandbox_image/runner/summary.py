"""Check the model against its contract and describe it: parameters, output, FLOPs, memory."""

from __future__ import annotations

import resource

from .model_loader import ModelRejected, check_constructor, check_output
from .protocol import JobSpec


def summarize(cls, job: JobSpec, data: dict, device) -> dict:
    """Build once, count parameters, one forward + backward on two examples, FLOPs for one."""
    check_constructor(cls)
    model = cls().to(device)
    total = sum(t.numel() for t in model.parameters())
    trainable = sum(t.numel() for t in model.parameters() if t.requires_grad)
    if total > job.max_params:
        raise ModelRejected(f"model has {total:,} parameters, over the cap of {job.max_params:,}")
    if trainable == 0:
        raise ModelRejected("model has no trainable parameters")
    xb = data["train_x"][:2].to(device)
    out = model(xb)
    check_output(out, len(xb), job.n_classes)
    out.float().sum().backward()
    return {
        "params_total": total,
        "params_trainable": trainable,
        "output_shape": list(out.shape),
        "flops_per_example": flops_per_example(model, data["train_x"][:1].to(device)),
    }


def flops_per_example(model, x1) -> int | None:
    """Forward FLOPs for one example (torch.utils.flop_counter); None if it cannot count them."""
    try:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model.eval()
            model(x1)
        model.train()
        return int(counter.get_total_flops())
    except Exception:  # noqa: BLE001 - an estimate is optional; training goes on without it
        return None


def peak_memory_bytes(device) -> int:
    """Peak resident memory of this process (CPU), or the CUDA allocator's peak."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
