"""Stop the image build unless torchvision works in it (run in the build stage, both variants).

Usage: python check_torchvision.py VERSION [--nocuda]

Loads both extension modules with every symbol bound now (LD_BIND_NOW, set by the Dockerfile),
runs a CPU operator from each, the transforms (PIL too) and a resnet18 forward. With --nocuda
(the CPU image, patched by patch_torchvision.py) it also checks that no CUDA library is left
and that a CUDA path raises the stub's RuntimeError instead of crashing.
"""

from __future__ import annotations

import os
import re
import sys
import warnings

# A module that fails to load becomes an error naming why (an undefined symbol, a missing
# library) at import, instead of a vague one at first use.
os.environ["TORCHVISION_WARN_WHEN_EXTENSION_LOADING_FAILS"] = "1"
warnings.filterwarnings("error", message="Failed to load")

import torch  # noqa: E402
import torchvision  # noqa: E402
import torchvision.io  # noqa: E402
import torchvision.ops  # noqa: E402
import torchvision.transforms  # noqa: E402

CUDA_LIB = re.compile(r"^lib(c10_cuda|torch_cuda|cudart|nvjpeg|cuda)[.-]")


def main(version: str, nocuda: bool) -> None:
    _expect(torchvision.__version__.split("+")[0] == version,
            f"torchvision {torchvision.__version__}, expected {version}")
    _expect(torchvision.extension._has_ops(), "torchvision/_C.so did not load")
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float)
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    _expect(keep.tolist() == [0, 2], f"nms gave {keep.tolist()}")
    pooled = torchvision.ops.roi_align(torch.rand(1, 3, 16, 16), [boxes[:1]], output_size=4)
    _expect(pooled.shape == (1, 3, 4, 4), f"roi_align gave {tuple(pooled.shape)}")
    img = (torch.rand(3, 20, 20) * 255).to(torch.uint8)
    _expect(torchvision.io.decode_png(torchvision.io.encode_png(img)).equal(img), "png round trip")
    pil = torchvision.transforms.ToPILImage()(img)
    _expect(torchvision.transforms.ToTensor()(pil).shape == (3, 20, 20), "PIL round trip")
    out = torchvision.models.resnet18(num_classes=10)(torch.rand(2, 3, 32, 32))
    _expect(out.shape == (2, 10), f"resnet18 gave {tuple(out.shape)}")
    if nocuda:
        _check_nocuda(img)
    print(f"[nocuda] torchvision {torchvision.__version__} works beside torch {torch.__version__}")


def _check_nocuda(img: torch.Tensor) -> None:
    _expect(not torch.cuda.is_available(), "torch sees CUDA in the CPU image")
    with open("/proc/self/maps") as maps:
        loaded = {line.split()[-1].rsplit("/", 1)[-1] for line in maps}
    cuda = sorted(name for name in loaded if CUDA_LIB.match(name))
    _expect(not cuda, f"CUDA libraries are loaded: {cuda}")
    try:
        torchvision.io.decode_jpeg(torchvision.io.encode_jpeg(img), device="cuda")
    except RuntimeError as exc:
        _expect("CUDA is not available in the CPU sandbox image" in str(exc), str(exc))
    else:
        _expect(False, "decode_jpeg(device='cuda') did not raise")


def _expect(ok: bool, what: str) -> None:
    if not ok:
        sys.exit(f"[nocuda] torchvision check failed: {what}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--nocuda"]):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:] == ["--nocuda"])
