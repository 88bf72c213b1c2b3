"""Check the model against its contract and describe it: parameters, output, FLOPs, memory."""

from __future__ import annotations

import resource

from .model_loader import ModelRejected, build_model, check_output, materialize
from .protocol import JobSpec


def summarize(factory, job: JobSpec, data: dict, device) -> dict:
    """Build once, materialize lazy modules, count parameters, one forward + backward on two
    examples, FLOPs for one."""
    model = build_model(factory, job.entry, job.model_args).to(device)
    xb = data["train_x"][:2].to(device)
    materialize(model, xb)
    total = sum(t.numel() for t in model.parameters())
    trainable = sum(t.numel() for t in model.parameters() if t.requires_grad)
    if total > job.max_params:
        raise ModelRejected(f"model has {total:,} parameters, over the cap of {job.max_params:,}")
    if trainable == 0:
        raise ModelRejected("model has no trainable parameters")
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
