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
    """Forward FLOPs for one example, by torch's own per-op formulas; None if it cannot count them."""
    try:
        import torch

        counter = _flop_counter()
        with counter, torch.no_grad():
            model.eval()
            model(x1)
        model.train()
        return int(counter.total)
    except Exception:  # noqa: BLE001 - an estimate is optional; training goes on without it
        return None


def _flop_counter():
    """A dispatch mode summing ``torch.utils.flop_counter``'s formulas, as ``FlopCounterMode`` does.

    ``FlopCounterMode`` itself imports ``torch._dynamo`` on entry (its dispatch is wrapped in
    ``torch._disable_dynamo``): 0.65 s of every trial's start on 2 cores, more than the rest of
    the runner's set-up. Nothing here is compiled, so this mode opts out of that wrapper and
    counts the same ops the same way: an op without a formula is decomposed first, if it can be.
    """
    import torch
    from torch.utils import flop_counter
    from torch.utils._python_dispatch import TorchDispatchMode

    formulas, aten = flop_counter.flop_registry, torch.ops.aten
    # Metadata queries of non-standard tensors (NJT), answered by the tensor itself, as there.
    metadata = {aten.sym_is_contiguous.default, aten.is_contiguous.default, aten.is_contiguous.memory_format,
                aten.is_strides_like_format.default, aten.is_non_overlapping_and_dense.default,
                aten.size.default, aten.sym_size.default, aten.stride.default, aten.sym_stride.default,
                aten.storage_offset.default, aten.sym_storage_offset.default, aten.numel.default,
                aten.sym_numel.default, aten.dim.default, torch.ops.prim.layout.default}

    class _Count(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            return False

        def __init__(self) -> None:
            super().__init__()
            self.total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in metadata:
                return NotImplemented
            if func not in formulas and func is not torch.ops.prim.device.default:
                with self:
                    decomposed = func.decompose(*args, **kwargs)
                    if decomposed is not NotImplemented:
                        return decomposed
            out = func(*args, **kwargs)
            formula = formulas.get(func._overloadpacket)
            if formula is not None:
                self.total += formula(*args, **kwargs, out_val=out)
            return out

    return _Count()


def peak_memory_bytes(device) -> int:
    """Peak resident memory of this process (CPU), or the CUDA allocator's peak."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
